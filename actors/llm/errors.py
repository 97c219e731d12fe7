"""Why a model call failed.

ProviderError
 └── ProviderCallError   one call failed; ``cause`` is one of the constants below, ``retry_after`` what the
                         provider asked for (HTTP ``Retry-After``). The message never holds a secret or a body.
"""

from __future__ import annotations

from typing import Final

TIMEOUT: Final = "timeout"  # no complete answer within the call's timeout
CONNECTION: Final = "connection"  # refused, reset, DNS, TLS: the provider was not reachable
HTTP_5XX: Final = "http_5xx"
RATE_LIMITED: Final = "rate_limited"  # HTTP 429
HTTP_4XX: Final = "http_4xx"  # any other 4xx (bad key, unknown model): retrying cannot help
BAD_RESPONSE: Final = "bad_response"  # 2xx whose body could not be used at all
# Causes a later call may not have (the provider was busy or away); the others will fail again.
PASSING: Final = frozenset({TIMEOUT, CONNECTION, HTTP_5XX, RATE_LIMITED})


class ProviderError(Exception):
    """Base of the model providers' errors."""


class ProviderCallError(ProviderError):
    """One provider call failed; the message never holds secrets or response bodies.

    Attributes:
        cause: One of the cause constants in this module.
        retry_after: Seconds the provider asked us to wait (HTTP ``Retry-After``), if it said.
    """

    def __init__(self, cause: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.cause = cause
        self.retry_after = retry_after
