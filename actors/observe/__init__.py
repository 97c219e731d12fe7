"""Worker-side observability: trace context carried in Dramatiq messages, worker presence for the admin
dashboard, and the middleware that starts the metrics recorder, tracing and log format in each worker."""
