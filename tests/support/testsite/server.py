"""A real HTTP server for a generated test site: ``python -m tests.support.testsite.server ROOT [--port N]``.

It binds 127.0.0.1, prints ``LISTENING <port>`` on stdout once it accepts connections, and serves:

- every file under ROOT, read into memory at start (so a benchmark measures the client, not the disk), with
  ``__BASE__`` in text files replaced by ``http://127.0.0.1:<port>`` (sitemaps and canonical links need
  absolute URLs, and the port is only known once bound); ``*.gz`` files are re-compressed after that;
- ``/a/b/`` from ``a/b/index.html``; ``/a/b`` answers 301 to ``/a/b/`` when only the directory exists,
  as nginx and most static hosts do;
- the routes of ``ROOT/_site.json``: ``redirects`` (path -> [status, location]) and ``statuses``
  (path -> status, served as an HTML error page);
- gzip ``Content-Encoding`` for HTML and XML when the client accepts it and ``gzip_responses`` is set;
- fault endpoints under ``/_test/``: ``huge`` (streams 100 MB of HTML), ``slow?seconds=N``,
  ``redirect?to=URL`` (302 anywhere), ``loop/N`` (an endless redirect chain), ``bomb.xml.gz``
  (60 MB of XML compressed to about 60 KB).
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import mimetypes
import socket
import sys
from pathlib import Path
from typing import Any

from aiohttp import web

TEXT_SUFFIXES = (".html", ".xml", ".txt", ".xml.gz")
COMPRESSIBLE = ("text/html", "application/xml", "text/xml")
HUGE_BYTES = 100_000_000


class Site:
    """The files and routes of one site, held in memory."""

    def __init__(self, root: Path, base: str) -> None:
        manifest_path = root / "_site.json"
        manifest: dict[str, Any] = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
        self.redirects: dict[str, tuple[int, str]] = {
            path: (int(status), location.replace("__BASE__", base))
            for path, (status, location) in manifest.get("redirects", {}).items()
        }
        self.statuses: dict[str, int] = {path: int(status) for path, status in manifest.get("statuses", {}).items()}
        self.gzip_responses = bool(manifest.get("gzip_responses", False))
        # path -> (body, content type, gzip-compressed body or None)
        self.files: dict[str, tuple[bytes, str, bytes | None]] = {}
        for file in root.rglob("*"):
            if file.is_file() and file.name != "_site.json":
                self._add(file, "/" + file.relative_to(root).as_posix(), base)
        self.bomb = gzip.compress(b"<urlset>" + b" " * 60_000_000 + b"</urlset>", compresslevel=9)

    def _add(self, file: Path, path: str, base: str) -> None:
        body = file.read_bytes()
        if path.endswith(".gz"):
            body = gzip.compress(gzip.decompress(body).replace(b"__BASE__", base.encode()), mtime=0)
            content_type = "application/gzip"
        else:
            if path.endswith(TEXT_SUFFIXES):
                body = body.replace(b"__BASE__", base.encode())
            content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
        compressed = gzip.compress(body, compresslevel=5, mtime=0) if content_type in COMPRESSIBLE else None
        self.files[path] = (body, content_type, compressed)


def _error_page(status: int) -> web.Response:
    body = f"<!DOCTYPE html><html><head><title>Error {status}</title></head><body><h1>{status}</h1></body></html>"
    return web.Response(status=status, body=body.encode(), content_type="text/html", charset="utf-8")


def make_app(site: Site) -> web.Application:
    """The aiohttp application serving ``site``."""

    async def handle(request: web.Request) -> web.StreamResponse:
        path = request.path
        if path.startswith("/_test/"):
            return await _fault(request, site)
        if path in site.redirects:
            status, location = site.redirects[path]
            return web.Response(status=status, headers={"Location": location})
        if path in site.statuses:
            return _error_page(site.statuses[path])
        entry = site.files.get(path + "index.html" if path.endswith("/") else path)
        if entry is None:
            if path + "/index.html" in site.files:
                return web.Response(status=301, headers={"Location": path + "/"})
            return _error_page(404)
        body, content_type, compressed = entry
        headers = {"Content-Type": content_type}
        if compressed is not None and site.gzip_responses and "gzip" in request.headers.get("Accept-Encoding", ""):
            headers["Content-Encoding"] = "gzip"
            body = compressed
        return web.Response(body=body, headers=headers)

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", handle)
    return app


async def _fault(request: web.Request, site: Site) -> web.StreamResponse:
    name = request.path.removeprefix("/_test/")
    if name == "huge":
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        await response.prepare(request)
        chunk = b"<p>" + b"x" * 65_530 + b"</p>"
        for _ in range(HUGE_BYTES // len(chunk)):
            await response.write(chunk)
        return response
    if name == "slow":
        await asyncio.sleep(float(request.query.get("seconds", "5")))
        return web.Response(text="<html><body>late</body></html>", content_type="text/html")
    if name == "redirect":
        return web.Response(status=302, headers={"Location": request.query["to"]})
    if name.startswith("loop/"):
        return web.Response(status=302, headers={"Location": f"/_test/loop/{int(name[5:]) + 1}"})
    if name == "bomb.xml.gz":
        return web.Response(body=site.bomb, headers={"Content-Type": "application/gzip"})
    return _error_page(404)


async def _serve(root: Path, port: int) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    runner = web.AppRunner(make_app(Site(root, base)), access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock, backlog=1024).start()
    print(f"LISTENING {sock.getsockname()[1]}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.support.testsite.server")
    parser.add_argument("root", type=Path)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        # uvloop when present (it comes with uvicorn[standard]): the server must outpace the client it tests.
        import uvloop

        runner: Any = uvloop.run
    except ImportError:
        runner = asyncio.run
    try:
        runner(_serve(args.root, args.port))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
