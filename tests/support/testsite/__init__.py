"""A realistic local test site: generated files (``builder``) and a real HTTP server (``server``) on 127.0.0.1.

``build_site(root, pages=300)`` / ``build_linked_site(root)`` write a site and return its ``SiteSpec``;
``serve(root)`` runs the server in a child process and yields its base URL; ``fixtures`` has the pytest
fixtures (``serve_site`` factory, ``acme_site``, ``linked_site``).
"""

from tests.support.testsite.builder import SiteSpec, build_linked_site, build_site
from tests.support.testsite.serving import serve

__all__ = ["SiteSpec", "build_linked_site", "build_site", "serve"]
