"""Operational endpoints: health, queue statistics, Prometheus metrics."""
