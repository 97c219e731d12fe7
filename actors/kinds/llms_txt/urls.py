"""URL normalization, same-site tests and path globs for the crawl.

Normalization makes one spelling per page so that de-duplication works: the scheme and host are
lowercased (IDN hosts become punycode), the default port and the fragment are dropped, dot segments are
resolved, and spaces and non-ASCII characters are percent-encoded (existing escapes are kept, with
uppercase hex). The query is kept exactly in its order: servers may read parameters by position, and a
sorted query would be a URL the site never links to; two links differing only in parameter order are
rare enough to fetch twice.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from fnmatch import fnmatchcase
from functools import lru_cache
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

import idna  # a dependency of httpx and yarl: the IDNA 2008 / UTS 46 mapping browsers use

from actors.kinds.llms_txt.netguard import literal_address

DEFAULT_PORTS = {"http": 80, "https": 443}
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"
_ESCAPE = re.compile(r"%[0-9a-f]{2}")
_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")


@lru_cache(maxsize=1024)
def encode_host(host: str) -> str:
    """A hostname in its ASCII form: lowercased, punycode for IDN labels, without a trailing dot.

    IP literals are returned in their compressed form, without brackets.

    Raises:
        ValueError: The name is not a valid hostname (the message says why, for users).
    """
    host = host.lower()
    if host.endswith("."):
        host = host[:-1]  # the root label of a fully qualified name
    address = literal_address(host)
    if address is not None:
        return str(address)
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except idna.IDNAError as exc:
            raise ValueError(f"{host!r} is not a valid internationalized domain name ({exc})") from exc
    if len(host) > 253:
        raise ValueError("the hostname is longer than 253 characters")
    for label in host.split("."):
        if not label:
            raise ValueError(f"{host!r} has an empty label (two dots in a row, or a leading dot)")
        if len(label) > 63:
            raise ValueError(f"{label[:20]}… is longer than 63 characters")
        if not _LABEL.fullmatch(label):
            raise ValueError(f"{label!r} may only contain letters, digits and hyphens, not at its ends")
    return host


def remove_dot_segments(path: str) -> str:
    """Resolve ``.`` and ``..`` segments (RFC 3986, section 5.2.4); ``..`` never climbs above the root."""
    if "/." not in path:
        return path
    segments = path.split("/")
    output: list[str] = []
    for segment in segments:
        if segment == ".":
            continue
        if segment == "..":
            if len(output) > 1:
                output.pop()
        else:
            output.append(segment)
    if segments[-1] in (".", ".."):
        output.append("")
    return "/".join(output) or "/"


def _upper_escapes(text: str) -> str:
    return _ESCAPE.sub(lambda m: m.group(0).upper(), text) if "%" in text else text


# A URL whose path needs nothing done: only characters ``quote`` keeps, no escape, no dot segment to resolve (checked
# apart), no query or fragment. Its host and port are normalized as its origin alone (``_origin``, cached): urlsplit
# ends the host at the first "/", so the path has no say in it. Most URLs of a crawl (sitemaps, links, the outline
# the structure reads) are of this kind: 1-2 µs instead of 15-40.
_PLAIN = re.compile(r"(https?)://([^/?#@\[\]\s\\]+)(/[A-Za-z0-9/:@!$&'()*+,;=._~-]*)")


def normalize(url: str) -> str | None:
    """The canonical spelling of an absolute http(s) URL, or None when it is not one we can crawl.

    Returns None for other schemes, a missing or invalid host, credentials in the URL, or a bad port.
    """
    plain = _PLAIN.fullmatch(url)
    if plain is not None and "/." not in plain.group(3):
        origin = _origin(plain.group(1), plain.group(2))
        return None if origin is None else origin + plain.group(3)
    return normalize_parsed(url)


@lru_cache(maxsize=256)
def _origin(scheme: str, netloc: str) -> str | None:
    """``scheme://netloc`` normalized (no trailing slash), or None when it is not a crawlable origin."""
    root = normalize_parsed(f"{scheme}://{netloc}/")
    return None if root is None else root[:-1]


def normalize_parsed(url: str) -> str | None:
    """``normalize`` for any URL: parsed and rebuilt part by part."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname or parts.username is not None or parts.password is not None:
        return None
    try:
        host = encode_host(parts.hostname)
    except ValueError:
        return None
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != DEFAULT_PORTS[scheme]:
        netloc += f":{port}"
    path = _upper_escapes(quote(remove_dot_segments(parts.path or "/"), safe=_PATH_SAFE))
    if not path.startswith("/"):
        path = "/" + path
    query = _upper_escapes(quote(parts.query, safe=_QUERY_SAFE)) if parts.query else ""
    return urlunsplit((scheme, netloc, path, query, ""))


@lru_cache(maxsize=4096)
def _site_key(url: str) -> tuple[str, int | None] | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    host = (parts.hostname or "").rstrip(".")
    if not host:
        return None
    if port == DEFAULT_PORTS.get(parts.scheme.lower()):
        port = None
    return host.removeprefix("www."), port


def same_site(url: str, base_url: str) -> bool:
    """Whether ``url`` belongs to the site at ``base_url``.

    Same host, with ``www.`` ignored on either side, and http/https treated alike; an explicit
    non-default port must match (two sites on one host but different ports are different sites).
    """
    key = _site_key(url)
    return key is not None and key == _site_key(base_url)


def _glob(pattern: str) -> str:
    pattern = pattern.strip()
    return pattern if pattern.startswith(("/", "*")) else "/" + pattern


def matches_globs(path: str, include: Sequence[str] = (), exclude: Sequence[str] = ()) -> bool:
    """Whether a URL path is wanted: it matches an include glob (or there are none) and no exclude glob.

    Globs are ``fnmatch`` patterns matched case-sensitively against the whole path, where ``*`` also
    crosses ``/``: ``/docs/*`` takes every page under ``/docs/`` (but not ``/docs`` itself), ``*.html``
    every HTML file. A pattern without a leading ``/`` or ``*`` gets a leading ``/``. Exclude wins.
    A single string is taken as one pattern, not as a sequence of characters.
    """
    include = (include,) if isinstance(include, str) else include
    exclude = (exclude,) if isinstance(exclude, str) else exclude
    if any(fnmatchcase(path, _glob(pattern)) for pattern in exclude):
        return False
    return not include or any(fnmatchcase(path, _glob(pattern)) for pattern in include)


class LinkResolver:
    """Resolves a page's hrefs against its base URL as ``urljoin`` does, the usual shapes without it: an
    absolute URL, a root-relative path and a plain relative path ("ch01.html", "api/x.html") are joined by
    hand (``urljoin`` costs about 20 µs a link here, and a table of contents has a link per page of the site).
    Anything else (dot or empty segments, a query or fragment alone, a scheme, a network path) goes to
    ``urljoin``."""

    __slots__ = ("base", "folder", "origin")

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        path = parts.path or "/"
        self.base = base
        self.origin = f"{parts.scheme}://{parts.netloc}"
        # None: the base's own path has dot or empty segments, which ``urljoin`` removes.
        odd = "/." in path or "//" in path
        self.folder: str | None = None if odd else self.origin + path[: path.rfind("/") + 1]

    def resolve(self, href: str) -> str:
        """``href`` (stripped, not empty) made absolute."""
        if href.startswith(("https://", "http://")):
            return href
        # ``urljoin`` also removes dot segments and empty ones ("a//b"), and leading blanks.
        if "/." not in href and "//" not in href and href[0] not in ". \t\n":
            if href[0] == "/":
                return self.origin + href
            if self.folder is not None and ":" not in href and href[0] not in "?#":
                return self.folder + href
        return urljoin(self.base, href)
