"""Dramatiq side: the broker, job lifecycle middleware, the job-kind registry and the job kinds."""
