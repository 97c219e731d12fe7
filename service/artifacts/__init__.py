"""Downloads of a job's files."""
