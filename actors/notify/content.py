"""What a notification says: the facts of a job, rendered from the Jinja templates of the user's language.

Templates live in ``templates/<locale>/``: ``subject.txt.j2``, ``email.txt.j2`` and ``email.html.j2`` for
email, ``short.txt.j2`` for webhooks and messaging apps. A job whose result names a template set
(``"notify_templates": "<set>"``, e.g. the article orders' ``orders``) is told with ``templates/<locale>/<set>/``
instead, whose templates also see the job's ``kind``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import msgspec

from actors.links import job_page_url

LOCALES = ("en", "es")
# ``approved``: a person approved the job's result (sent by the code that records the approval).
EVENTS = ("succeeded", "failed", "timed_out", "message_to_user", "approved")
_TEMPLATE_SET = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_KIND_LABELS = {
    "en": {"llms_txt": "llms.txt", "website": "website"},
    "es": {"llms_txt": "llms.txt", "website": "sitio web"},
}
_DEFAULT_LABEL = {"en": "job", "es": "trabajo"}
_NO_ERROR = {"en": "the job could not be completed.", "es": "no se pudo completar el trabajo."}
# "RuntimeError: ..." -> "...": the exception's class name means nothing to the user.
_EXCEPTION_PREFIX = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exceeded|Timeout)\s*:\s*")
_MAX_ERROR_CHARS = 300


class JobFacts(msgspec.Struct, frozen=True):
    """The parts of a job a notification talks about."""

    id: str
    kind: str
    title: str | None
    status: str
    error: str | None
    tracking_url: str | None
    message_to_user: str | None
    # The job's own template set (a folder of ``templates/<locale>/``), if its result names one.
    templates: str | None = None


class Rendered(msgspec.Struct, frozen=True):
    subject: str
    text: str
    html: str
    short: str


def job_link(facts: JobFacts, public_url: str) -> str:
    """The job's tracking URL when its kind gave one (the website kind does), else its page here."""
    return facts.tracking_url or job_page_url(public_url, facts.id)


def plain_error(error: str | None, locale: str) -> str:
    """The first line of the job's error without the exception's class name, shortened."""
    if not error or not error.strip():
        return _NO_ERROR[locale]
    line = _EXCEPTION_PREFIX.sub("", error.strip().splitlines()[0]).strip()
    if len(line) > _MAX_ERROR_CHARS:
        line = line[: _MAX_ERROR_CHARS - 1].rstrip() + "…"
    return line if line.endswith((".", "!", "?", "…")) else line + "."


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
    )


def render(facts: JobFacts, event: str, locale: str, public_url: str) -> Rendered:
    """Every text of one notification in ``locale`` (unknown locales fall back to English).

    Raises:
        ValueError: ``event`` is not one the templates know.
    """
    if event not in EVENTS:
        raise ValueError(f"unknown notification event {event!r}")
    locale = locale if locale in LOCALES else "en"
    values: dict[str, Any] = {
        "event": event,
        "title": facts.title or facts.kind,
        "kind_label": _KIND_LABELS[locale].get(facts.kind, _DEFAULT_LABEL[locale]),
        "link": job_link(facts, public_url),
        "error": plain_error(facts.error, locale),
        "message": (facts.message_to_user or "").strip(),
        "kind": facts.kind,
    }
    env = _environment()
    folder = facts.templates if facts.templates and _TEMPLATE_SET.match(facts.templates) else None

    def one(name: str) -> str:
        names = ([f"{locale}/{folder}/{name}"] if folder else []) + [f"{locale}/{name}"]
        return env.select_template(names).render(values).strip()

    return Rendered(
        subject=" ".join(one("subject.txt.j2").split()),
        text=one("email.txt.j2") + "\n",
        html=one("email.html.j2") + "\n",
        short=one("short.txt.j2"),
    )
