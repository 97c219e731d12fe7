"""The jobs resource: create, list, read, cancel/delete, retry, history."""
