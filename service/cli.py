"""Command line: api, worker, scheduler, migrate, dev, users create."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import sys
from collections.abc import Sequence
from pathlib import Path

from actors.observe.tracing import configure_tracing
from actors.registry import all_kinds, load_kind_modules, resolve
from db.observe.logs import configure_logging
from db.observe.recorder import RECORDER
from service.settings import get_settings


def _raise_open_file_limit() -> None:
    # Every SSE client holds a socket: allow as many as the hard limit permits.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else 1_048_576
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def cmd_api(args: argparse.Namespace) -> int:
    import uvicorn

    from service.http_protocol import HeadWithBodyProtocol

    settings = get_settings()
    _raise_open_file_limit()
    uvicorn.run(
        "service.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        log_level=settings.log_level.lower(),
        access_log=args.access_log,
        timeout_graceful_shutdown=5,
        backlog=4096,
        http=HeadWithBodyProtocol,
    )
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    settings = get_settings()
    # The idle consumers' poll timeout (WORKER_POLL_TIMEOUT_MS) is set in ``service.__main__``, before Dramatiq
    # is first imported: it reads it only then.
    from dramatiq.cli import main as dramatiq_main
    from dramatiq.cli import make_argument_parser

    argv = [
        "service.worker_boot",
        "--processes",
        str(args.processes or settings.worker.processes),
        "--threads",
        str(args.threads or settings.worker.threads),
        "--worker-shutdown-timeout",
        str(int(args.shutdown_timeout * 1000)),
    ]
    if args.queues:
        argv += ["--queues", *args.queues]
    parsed = make_argument_parser().parse_args(argv)  # type: ignore[no-untyped-call]
    return int(dramatiq_main(parsed) or 0)  # type: ignore[no-untyped-call]


def cmd_scheduler(args: argparse.Namespace) -> int:
    from actors.scheduler.runner import run_scheduler
    from service.scheduler_boot import scheduler_config

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    configure_tracing("genjobs-scheduler")
    RECORDER.start(settings.redis.url)
    try:
        return run_scheduler(scheduler_config(settings))
    finally:
        RECORDER.stop()


def cmd_migrate(args: argparse.Namespace) -> int:
    from db.migrate import downgrade, upgrade

    url = get_settings().database.sync_url
    if args.downgrade:
        downgrade(url, args.downgrade)
    else:
        upgrade(url, args.revision)
    return 0


def cmd_dev(args: argparse.Namespace) -> int:
    from service.dev import run_dev

    return run_dev()


def cmd_users_create(args: argparse.Namespace) -> int:
    from service.auth.users import UserExists, create_user_with_key

    try:
        user_id, api_key = asyncio.run(
            create_user_with_key(get_settings(), email=args.email, password=args.password, is_admin=args.admin)
        )
    except (UserExists, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"created user {args.email} ({user_id}){' as admin' if args.admin else ''}; API key (shown once):")
    print(api_key)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m service", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    api = sub.add_parser("api", help="run the HTTP API (uvicorn)")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=int(os.environ.get("API_PORT", "8000")))
    api.add_argument("--access-log", action="store_true", help="log every request")
    api.set_defaults(func=cmd_api)

    worker = sub.add_parser("worker", help="run Dramatiq workers for every job kind")
    worker.add_argument("--processes", type=int, default=None)
    worker.add_argument("--threads", type=int, default=None)
    worker.add_argument("--queues", nargs="*", default=None, help="only these queues (default: all)")
    worker.add_argument(
        "--shutdown-timeout",
        type=float,
        default=30.0,
        help="seconds to wait on SIGTERM for running jobs to hand themselves back",
    )
    worker.set_defaults(func=cmd_worker)

    scheduler = sub.add_parser("scheduler", help="run periodic work (sweeper and the like)")
    scheduler.set_defaults(func=cmd_scheduler)

    migrate = sub.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("--revision", default="head")
    migrate.add_argument("--downgrade", metavar="REVISION", default=None, help="downgrade to REVISION instead")
    migrate.set_defaults(func=cmd_migrate)

    dev = sub.add_parser("dev", help="API + worker + scheduler together (embedded Postgres/Redis if no URLs)")
    dev.set_defaults(func=cmd_dev)

    users = sub.add_parser("users", help="manage users")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    create = users_sub.add_parser("create", help="create a user and print a new API key on the last line")
    create.add_argument("--email", required=True)
    create.add_argument("--password", required=True)
    create.add_argument("--admin", action="store_true")
    create.set_defaults(func=cmd_users_create)
    # Commands the production job kinds bring (e.g. ``generate`` for llms.txt).
    load_kind_modules(())
    for kind in all_kinds().values():
        if kind.cli is not None:
            resolve(kind.cli)(sub)
    return parser


def _use_running_dev_servers() -> None:
    """Point this command at the embedded servers of a running ``dev`` when no URLs are set."""
    if os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL"):
        return
    path = Path(os.environ.get("DATA_DIR") or ".data") / "dev.env"
    if not path.is_file():
        return
    for line in path.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and key in {"DATABASE_URL", "REDIS_URL"}:
            os.environ.setdefault(key, value)
    get_settings.cache_clear()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command != "dev":
        _use_running_dev_servers()
    result: int = args.func(args)
    return result
