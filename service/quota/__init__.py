"""Monthly generation quotas."""
