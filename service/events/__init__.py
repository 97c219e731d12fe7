"""Server-sent events: the per-process hub and the per-job and multiplexed streams."""
