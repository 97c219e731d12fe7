"""One TLS context per process for the outbound httpx clients (model providers, the website generator,
notification webhooks, health probes).

httpx builds a new ``ssl.SSLContext`` for every client it constructs, loading the whole CA bundle each time,
even for a client that only ever calls ``http://``: about 0.1 s of CPU on a 2-core benchmark machine. The
article kinds made a client per model call, and that was 28 % of the worker's CPU in the ``article_orders``
benchmark (py-spy). A client made with ``verify=tls_context()`` uses the context built on the first call;
it verifies certificates and host names as httpx's default does, from the same CA bundle (``SSL_CERT_FILE``
and ``SSL_CERT_DIR`` are read then). An ``SSLContext`` may be shared by threads and event loops alike.
"""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The process's context for verified TLS, built on first use (a race only builds it twice)."""
    return httpx.create_ssl_context()
