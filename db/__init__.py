"""Persistence: SQLAlchemy models, Alembic migrations, the job state machine and the event log."""
