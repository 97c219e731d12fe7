"""Profile one llms.txt generation in-process: ``python -m tests.bench.llms_profile [--pages N] [--processes K]``.

Builds the generated manual (``tests.support.testsite.manual``), serves it on 127.0.0.1 with the test-site
server, and runs the job's own ``Generation`` (discovery, fetch, extraction, structure, assembly, files)
under pyinstrument, without the API, Dramatiq or the database: a stand-in context takes the progress
reports. With ``--processes 0`` (the default) extraction runs in this process, so the profile holds all
of the per-page Python work. Prints the wall time and the profile's top lines.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

from pyinstrument import Profiler

from actors.kinds.llms_txt.config import LlmsTxtConfig
from actors.kinds.llms_txt.extract_pool import shut_down
from actors.kinds.llms_txt.fetcher import FetchConfig
from actors.kinds.llms_txt.job import Generation
from actors.kinds.llms_txt.params import LlmsTxtParams
from tests.support.testsite.manual import build_manual_site
from tests.support.testsite.serving import serve


class _Context(SimpleNamespace):
    def progress(self, done: int, total: int | None = None, step: str | None = None) -> None:
        self.steps[step] = time.perf_counter()

    def check_cancelled(self) -> None:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.llms_profile")
    parser.add_argument("--pages", type=int, default=1169)
    parser.add_argument("--processes", type=int, default=0, help="extraction processes (0: in this process)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="genjobs-profile-") as tmp:
        root = Path(tmp) / "site"
        build_manual_site(root, pages=args.pages)
        with serve(root) as base:
            config = LlmsTxtConfig(
                artifacts_dir=str(Path(tmp) / "artifacts"),
                extract_processes=args.processes,
                fetch=FetchConfig(allow_private=True),
            )
            params = LlmsTxtParams(url=base + "/", max_urls=args.pages + 100)
            ctx = _Context(job_id=uuid.uuid4(), steps={})
            generation = Generation(ctx, params, config, base + "/")  # type: ignore[arg-type]
            profiler = Profiler(interval=0.0005)
            started = time.perf_counter()
            profiler.start()
            result = asyncio.run(generation.run())
            profiler.stop()
            seconds = time.perf_counter() - started
            shut_down()
    marks = ", ".join(f"{step} at {at - started:.2f} s" for step, at in ctx.steps.items())
    print(f"{result['pages']} pages in {seconds:.2f} s ({result['pages'] / seconds:.0f} pages/s); {marks}")
    print(profiler.output_text(unicode=False, color=False, show_all=False, timeline=False))


if __name__ == "__main__":
    main()
