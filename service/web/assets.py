"""Where the web UI's templates and static files live, as the app factory registers them."""

from __future__ import annotations

from pathlib import Path

from jinja2 import ChoiceLoader, Environment, FileSystemLoader
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.router import Router
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from service.web.kind_web import KindTemplateLoader

WEB_DIR = Path(__file__).resolve().parent


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    """Jinja templates of ``service/web/templates``, and the kinds' own as ``kinds/<kind>/<file>`` (autoescaped)."""
    loader = ChoiceLoader([FileSystemLoader(WEB_DIR / "templates"), KindTemplateLoader()])
    environment = Environment(loader=loader, autoescape=True)
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment))


def static_files_router() -> Router:
    """``/static/...`` from ``service/web/static``: plain CSS and JavaScript modules, no build step."""
    return create_static_files_router(path="/static", directories=[WEB_DIR / "static"], include_in_schema=False)
