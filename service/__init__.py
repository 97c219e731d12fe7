"""HTTP side: the Litestar app, SSE, auth, the scheduler and the command line."""
