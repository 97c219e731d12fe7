"""The scheduler process: periodic work, fired by one instance at a time."""
