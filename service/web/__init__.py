"""The web UI: page controller, Jinja templates and static JavaScript/CSS served by the Litestar app."""
