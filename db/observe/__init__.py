"""Observability shared by every process: metrics recorded where things happen (kept in Redis so any number
of processes on any number of hosts add to the same series) and one structured log line per job state change.

``db`` is the lowest layer both ``service`` and ``actors`` import, so the recorder lives here; tracing, which
needs the broker, lives in ``actors.observe``.
"""
