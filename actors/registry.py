"""The registry of job kinds: everything a kind is, declared in one place by the kind itself.

A kind declares its params Struct, the function that does the work, its queues and lanes, time limit and
retries, its own settings section, its artifacts, its rate limit, pricing and price quantity, optional API
routes and an optional agent tool. Generic code (the API, the worker boot, the scheduler) loops over what
is declared and never names a kind.

Worker-only code is named as ``"module:function"`` strings (handler, warm-up, routes, quantity) and
imported on first use, so the API process, which only validates and enqueues, never imports a crawler or a
client. Production kinds are the packages of ``actors.kinds`` (each registers itself on import); tests
register their own.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from actors.env import KindEnv
from actors.retry import backoff_seconds
from actors.signals import SignalSpec
from actors.uploads.policy import UploadPolicy

if TYPE_CHECKING:
    from actors.context import JobContext

PRIORITIES: tuple[str, ...] = ("high", "normal", "low")
# Dramatiq runs lower numbers first among prefetched messages; separate queues keep a backlog of low
# jobs from delaying the fetch of high ones.
_ACTOR_PRIORITY = {"high": 0, "normal": 10, "low": 20}

Handler = Callable[["JobContext", Any], dict[str, Any] | None]


def resolve(target: Any) -> Any:
    """A callable given as itself or as ``"package.module:attribute"`` (imported now)."""
    if not isinstance(target, str):
        return target
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


class Artifact(msgspec.Struct, frozen=True):
    """A file a kind's jobs produce under ``ARTIFACTS_DIR/<job id>/``, downloadable by the job's owner.

    ``download_name`` may use ``{title}``: the job's title (e.g. the site's host), made safe for a file name.
    """

    name: str
    download_name: str
    media_type: str = "application/octet-stream"


class ToolSpec(msgspec.Struct, frozen=True):
    """The kind as a function an LLM agent can call (``/api/tools/openai``), with a strict JSON schema.

    ``properties``: JSON Schema of each argument (strict mode: all are listed as required, so an optional
    one is typed ``[<type>, "null"]``); the platform adds the notification arguments the kind's params take.
    ``arguments``: a Struct checking the arguments' shape (notification fields included).
    ``to_params``: the checked arguments (a dict) as the kind's params.
    ``field_names``: job param name -> argument name, to report a param's error under the model's name.
    ``started``: the message for the agent, per language, with ``{url}`` for the job's tracking page.
    """

    name: str
    description: str
    properties: Mapping[str, Any]
    arguments: type[msgspec.Struct]
    to_params: Callable[[dict[str, Any]], dict[str, Any]]
    started: Mapping[str, str]
    field_names: Mapping[str, str] = msgspec.field(default_factory=dict)


class WebSpec(msgspec.Struct, frozen=True):
    """The kind's own part of the web UI, kept in its package; generic pages show everything else.

    ``directory``: the kind's web folder, holding ``templates/`` (Jinja partials, named ``kinds/<kind>/<file>``
    by the pages) and ``static/`` (served at ``/static/kinds/<kind>/``).
    ``label``: the kind as people call it ("llms.txt", "Website"), in lists and headings.
    ``form``: a template in ``templates/`` with the "new job" form (it loads its own script); None: the kind
    is not started from the web UI.
    ``detail``: a template in ``templates/`` with the result panel shown first on the job's page.
    ``script``: a JavaScript module in ``static/`` whose optional exports the generic pages call:
    ``summary(job)`` (a short line of facts for rows), ``warnings(job)`` (a list: "Done with warnings"),
    ``explainError(job)`` (the failure in the user's words), ``render(root, job)`` (fills the detail panel).
    ``phases``: ``(step, label, weight)`` for each progress step the handler reports, in order: the pages draw
    one bar across all steps, each step filling its share (weights are relative).
    """

    directory: str
    label: str = ""
    form: str | None = None
    detail: str | None = None
    script: str | None = None
    phases: tuple[tuple[str, str, float], ...] = ()


def without_nulls(args: dict[str, Any]) -> dict[str, Any]:
    """Tool arguments as params: null means "use the default", so the param is left out."""
    return {k: v for k, v in args.items() if v is not None}


class JobKind(msgspec.Struct, frozen=True):
    name: str
    params: type[msgspec.Struct]
    # The work, run only by workers: a function or "module:function".
    handler: Handler | str
    queue: str = ""
    time_limit_seconds: float = 20 * 60
    max_retries: int = 3
    min_backoff_seconds: float = 5.0
    max_backoff_seconds: float = 300.0
    paid: bool = False
    # Succeeded jobs of this kind count toward the owner's monthly generation quota.
    counts_toward_quota: bool = False
    description: str = ""
    # A short human title for lists (e.g. the hostname); receives the validated params.
    title: Callable[[Any], str | None] | None = None
    # Lanes split one kind over several queues chosen by its params (e.g. one per LLM provider), so a slow
    # lane never holds up a fast one; a worker can be dedicated to a lane with ``--queues``.
    lanes: tuple[str, ...] = ()
    lane_of: Callable[[Any], str] | None = None
    # The kind's own settings section, built from the environment (``actors.env.KindEnv``): the API gives it
    # to ``check_params`` and ``rate_limit``, workers to the handler (``JobContext.settings``).
    settings: Callable[[KindEnv], Any] | None = None
    # Checks that need the deployment's settings (e.g. whether private addresses may be crawled): called by
    # the API with the validated params and the kind's settings; raises ValueError with a message for the
    # user, or ``actors.errors.OptionUnavailable`` for an option this deployment cannot serve.
    check_params: Callable[[Any, Any], None] | None = None
    # Called once when a worker process boots, with the kind's settings (e.g. to start helper processes
    # before the first job rather than during it): a function or "module:function".
    warm_up: Callable[[Any], None] | str | None = None
    # Called when a worker process stops (e.g. to stop those helper processes).
    shut_down: Callable[[], None] | str | None = None
    # (jobs a user may start, per window in seconds) from the kind's settings, or None: not limited.
    rate_limit: Callable[[Any], tuple[int, float] | None] | None = None
    artifacts: tuple[Artifact, ...] = ()
    # The kind's default entry of the PRICING table (JSON shape: lane or "*" -> rule); PRICING overrides it.
    pricing: Mapping[str, Any] = msgspec.field(default_factory=dict)
    # "module:function": ``async (app, params) -> int | None``, the units a paid job is priced on (e.g. the
    # pages a site has); None: priced on the rule's base and minimum.
    price_quantity: str | None = None
    # "module:function" returning Litestar route handlers (controllers, routers) the API mounts.
    routes: str | None = None
    # "module:function": ``async (session, job) -> dict`` (``job``: the job's columns, read like a ``Job``; no
    # relationships but ``payment``), the kind's own facts added as ``details`` to
    # ``GET /api/jobs/{id}``; its ``preview_url`` and ``estimated_seconds_remaining`` are also top-level fields
    # of the job (``service.jobs.snapshot``); API only.
    details: str | None = None
    tool: ToolSpec | None = None
    # "module:function" adding the kind's own subcommand to ``python -m service`` (given argparse's subparsers).
    cli: str | None = None
    # The job's result carries ``tracking_url`` (the job's page here) from creation, before any worker ran:
    # for kinds that take minutes and whose user (often an LLM agent) is handed that URL at once.
    tracked: bool = False
    # The kind takes files: ``POST /api/jobs`` as multipart/form-data, the files kept under
    # ``ARTIFACTS_DIR/uploads/<job id>/`` for its handler (see ``actors.uploads``).
    uploads: UploadPolicy | None = None
    # Signals this kind's jobs accept while waiting (``actors.signals``); the deadline's ``timeout`` is implied.
    signals: tuple[SignalSpec, ...] = ()
    # Fair scheduling: at most this many running jobs of this kind per owner (None: the deployment's default,
    # MAX_RUNNING_PER_OWNER; 0: unlimited). See ``db.fairness``.
    max_running_per_owner: int | None = None
    # The kind's templates and scripts for the web UI; None: the generic job page shows it.
    web: WebSpec | None = None
    # Aging: a queued job waiting this long moves up one priority (low -> normal), and after twice as long
    # up again (-> high), so a stream of high jobs never starves a low one (``actors.scheduler.promotion``).
    promote_after_seconds: float | None = None
    # The outside services the kind calls, from its settings: name -> base URL. ``GET /api/health`` says whether
    # each answers (any HTTP response), checked now and then and cached, never once per health request.
    health_probes: Callable[[Any], dict[str, str]] | None = None

    @property
    def base_queue(self) -> str:
        return self.queue or self.name

    def queue_for(self, priority: str, lane: str | None = None) -> str:
        """``<base>[.<lane>][.<priority>]``; normal priority has no suffix."""
        name = f"{self.base_queue}.{lane}" if lane else self.base_queue
        return name if priority == "normal" else f"{name}.{priority}"

    def queue_for_params(self, params: Any, priority: str) -> str:
        return self.queue_for(priority, self.lane_of(params) if self.lane_of else None)

    def all_queues(self) -> list[str]:
        return [self.queue_for(p, lane) for lane in (self.lanes or (None,)) for p in PRIORITIES]

    def actor_name(self, queue: str) -> str:
        """One actor per queue: the queue a job was sent to (kept on its row) names its actor."""
        return f"job:{self.name}:{queue}"

    @staticmethod
    def actor_priority(queue: str) -> int:
        suffix = queue.rsplit(".", 1)[-1]
        return _ACTOR_PRIORITY.get(suffix, _ACTOR_PRIORITY["normal"])

    def run(self, ctx: JobContext, params: Any) -> dict[str, Any] | None:
        """Run the handler (imported on first use)."""
        handler: Handler = resolve(self.handler)
        return handler(ctx, params)

    def load_settings(self, env: KindEnv) -> Any:
        """The kind's settings section, or None when it declares none."""
        return self.settings(env) if self.settings is not None else None

    @property
    def phases(self) -> tuple[tuple[str, str, float], ...]:
        """The steps the handler reports, in order, with their weights (declared with the kind's web spec)."""
        return self.web.phases if self.web is not None else ()

    def artifact(self, name: str) -> Artifact | None:
        return next((a for a in self.artifacts if a.name == name), None)

    def backoff_seconds(self, attempt: int) -> float:
        """Exponential backoff before attempt ``attempt + 1``."""
        return backoff_seconds(max(1, attempt), base=self.min_backoff_seconds, cap=self.max_backoff_seconds)


_KINDS: dict[str, JobKind] = {}


def register_kind(kind: JobKind) -> JobKind:
    """Add a kind; registering the same name twice replaces it (module reloads in tests)."""
    if kind.name in {"", "."} or not kind.name.replace("_", "").isalnum():
        raise ValueError(f"invalid kind name {kind.name!r}: use letters, digits and underscores")
    _KINDS[kind.name] = kind
    return kind


def get_kind(name: str) -> JobKind | None:
    return _KINDS.get(name)


def all_kinds() -> dict[str, JobKind]:
    return dict(_KINDS)


def load_kind_modules(modules: tuple[str, ...]) -> None:
    """Import the production kinds and any extra modules that register kinds."""
    importlib.import_module("actors.kinds").import_all()
    for module in modules:
        importlib.import_module(module)
