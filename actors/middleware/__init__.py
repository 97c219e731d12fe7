"""Dramatiq middleware for job actors, one concept per module."""
