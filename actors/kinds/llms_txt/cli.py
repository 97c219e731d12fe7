"""``python -m service generate HOSTNAME``: start an llms.txt generation through the API, show a live progress
bar fed by its SSE stream, and save the files when it ends.

The API address and key come from ``--api`` / ``--api-key`` or ``GENJOBS_API_URL`` / ``GENJOBS_API_KEY``.
Ctrl-C cancels the job.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

TERMINAL = {"succeeded", "failed", "cancelled", "timed_out", "expired"}
BAR_WIDTH = 30


class GenerateError(Exception):
    """The generation could not be started, failed, or its files could not be saved."""


def sse_events(response: httpx.Response) -> Iterator[tuple[str, str, str]]:
    """(id, event, data) of each server-sent event in a streaming response; comments are skipped."""
    event_id, event = "", "message"
    data: list[str] = []
    for line in response.iter_lines():
        if not line:
            if data:
                yield event_id, event, "\n".join(data)
            event, data = "message", []
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "data":
                data.append(value)
            elif field == "event":
                event = value
            elif field == "id":
                event_id = value


def render_bar(done: int, total: int | None, step: str | None) -> str:
    if not total:
        return f"\r{step or 'waiting'}…".ljust(BAR_WIDTH + 30)
    fraction = min(1.0, done / total)
    filled = int(BAR_WIDTH * fraction)
    return f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {fraction:6.1%} {step or ''} {done}/{total}".ljust(
        BAR_WIDTH + 40
    )


def follow(client: httpx.Client, job_id: str) -> dict[str, Any]:
    """Show progress until the job ends; reconnects with Last-Event-ID if the stream drops.

    The first connection asks for the job's events from the start (``0-0``), so every step shows even when a
    quick job has passed some before the stream opens."""
    last_id = "0-0"
    final: dict[str, Any] = {}
    while True:
        headers = {"Last-Event-ID": last_id}
        try:
            with client.stream("GET", f"/api/jobs/{job_id}/events", headers=headers, timeout=None) as response:
                if response.status_code != 200:
                    raise GenerateError(f"cannot follow job {job_id}: HTTP {response.status_code}")
                for event_id, event, data in sse_events(response):
                    last_id = event_id or last_id
                    body = json.loads(data)
                    if event == "progress":
                        sys.stderr.write(render_bar(body.get("done", 0), body.get("total"), body.get("step")))
                    elif event in ("status", "snapshot"):
                        status = body.get("status")
                        progress = body.get("progress") or {}
                        if progress:
                            sys.stderr.write(
                                render_bar(progress.get("done", 0), progress.get("total"), progress.get("step"))
                            )
                        if status in TERMINAL:
                            final = body
                    sys.stderr.flush()
        except httpx.TransportError:
            time.sleep(1)
            continue
        if final:
            sys.stderr.write("\n")
            return final


def download(client: httpx.Client, job_id: str, name: str, out: Path) -> Path:
    response = client.get(f"/api/jobs/{job_id}/artifacts/{name}")
    if response.status_code != 200:
        raise GenerateError(f"could not download {name}: HTTP {response.status_code}")
    match = re.search(r'filename="([^"]+)"', response.headers.get("content-disposition", ""))
    path = out / (match.group(1) if match else name)
    path.write_bytes(response.content)
    return path


def generate(
    *, api: str, api_key: str, hostname: str, provider: str, max_urls: int, out: Path, zip_bundle: bool
) -> list[Path]:
    """Run one generation to the end; returns the files saved."""
    params = {"hostname": hostname, "provider": provider, "max_urls": max_urls}
    with httpx.Client(base_url=api, headers={"Authorization": f"Bearer {api_key}"}, timeout=30) as client:
        created = client.post("/api/jobs", json={"kind": "llms_txt", "params": params})
        if created.status_code not in (200, 202):
            message = created.json().get("error", {}).get("message", created.text) if created.content else ""
            raise GenerateError(f"the job was not started (HTTP {created.status_code}): {message}")
        job_id = created.json()["id"]
        sys.stderr.write(f"job {job_id} started; Ctrl-C cancels it\n")
        try:
            final = follow(client, job_id)
        except KeyboardInterrupt:
            client.delete(f"/api/jobs/{job_id}")
            raise GenerateError(f"cancelled job {job_id}") from None
        if final.get("status") != "succeeded":
            raise GenerateError(f"job {job_id} ended {final.get('status')}: {final.get('error') or 'no detail'}")
        out.mkdir(parents=True, exist_ok=True)
        names = ["llms.txt", "llms-full.txt"] + (["bundle.zip"] if zip_bundle else [])
        result = final.get("result") or {}
        available = {a["name"] for a in result.get("artifacts", [])} or set(names)
        return [download(client, job_id, name, out) for name in names if name in available]


def run_generate(args: Any) -> int:
    api_key = args.api_key or os.environ.get("GENJOBS_API_KEY", "")
    if not api_key:
        print("error: give --api-key or set GENJOBS_API_KEY (create one with `users create`)", file=sys.stderr)
        return 2
    try:
        saved = generate(
            api=args.api,
            api_key=api_key,
            hostname=args.hostname,
            provider=args.provider,
            max_urls=args.max_urls,
            out=Path(args.out),
            zip_bundle=args.zip,
        )
    except (GenerateError, httpx.HTTPError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for path in saved:
        print(path)
    return 0


def add_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``python -m service generate HOSTNAME``: registered by the kind (``JobKind.cli``)."""
    gen = sub.add_parser("generate", help="generate llms.txt for a site through the API, with a live progress bar")
    gen.add_argument("hostname")
    gen.add_argument("--provider", choices=["extractive", "ollama", "gemini"], default="extractive")
    gen.add_argument("--max-urls", type=int, default=500)
    gen.add_argument("--out", default=".", help="folder for the files (default: here)")
    gen.add_argument("--zip", action="store_true", help="also save the ZIP bundle (one .md per page)")
    gen.add_argument("--api", default=os.environ.get("GENJOBS_API_URL", "http://127.0.0.1:8000"))
    gen.add_argument("--api-key", default=None, help="default: $GENJOBS_API_KEY")
    gen.set_defaults(func=run_generate)
