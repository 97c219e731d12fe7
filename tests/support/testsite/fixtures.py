"""pytest fixtures serving the test sites on 127.0.0.1: ``pytest_plugins = ("tests.support.testsite.fixtures",)``.

``serve_site`` is a factory: ``serve_site(build_site, pages=300)`` builds a site in a fresh directory,
starts its server on a free port and returns a ``RunningSite``; every server it started is stopped at
the end of the session. ``acme_site`` (sitemaps, robots.txt, redirects, broken pages) and ``linked_site``
(links only) are session-wide instances.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from tests.support.testsite.builder import SiteSpec, build_linked_site, build_site
from tests.support.testsite.serving import RunningSite, ServeSite, serve


@pytest.fixture(scope="session")
def serve_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeSite]:
    """Factory: build a site with ``builder(root, **kwargs)`` and serve it until the session ends."""
    with ExitStack() as stack:

        def start(builder: Callable[..., SiteSpec] = build_site, **kwargs: Any) -> RunningSite:
            root = tmp_path_factory.mktemp("site")
            spec = builder(root, **kwargs)
            base = stack.enter_context(serve(root))
            return RunningSite(base + "/", spec)

        yield start


@pytest.fixture(scope="session")
def acme_site(serve_site: ServeSite) -> RunningSite:
    """The documentation site with sitemaps, robots.txt, redirects and broken pages (about 300 pages)."""
    return serve_site(build_site, pages=300)


@pytest.fixture(scope="session")
def linked_site(serve_site: ServeSite) -> RunningSite:
    """The site without robots.txt or sitemap, discovered by following links."""
    return serve_site(build_linked_site)
