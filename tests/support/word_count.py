"""The smallest complete job kind, in one file: count the words of a text.

It is the example of the README's "Adding a job kind", and a real kind of the test suite
(``JOB_KIND_MODULES`` loads it; ``tests/integration/test_word_count.py`` runs it end to end).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import msgspec

from actors.context import JobContext
from actors.env import KindEnv
from actors.registry import Artifact, JobKind, register_kind


class WordCountParams(msgspec.Struct, forbid_unknown_fields=True):
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=100_000)]


class WordCountSettings(msgspec.Struct, frozen=True):
    artifacts_dir: str
    top: int = 3


def load_settings(env: KindEnv) -> WordCountSettings:
    """The kind's own settings section: ``WORD_COUNT_TOP`` words are listed in the result."""
    return WordCountSettings(env.artifacts_dir, top=env.number("WORD_COUNT_TOP", 3, int))


def count_words(ctx: JobContext, params: WordCountParams) -> dict[str, Any]:
    settings: WordCountSettings = ctx.settings
    words = params.text.lower().split()
    counts: dict[str, int] = {}
    for done, word in enumerate(words, 1):
        counts[word] = counts.get(word, 0) + 1
        ctx.progress(done, len(words), "counting")  # throttled; raises JobCancelled once cancelled
    folder = Path(settings.artifacts_dir) / str(ctx.job_id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "counts.json").write_text(json.dumps(counts))
    top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[: settings.top]
    return {"words": len(words), "top": [word for word, _ in top]}


register_kind(
    JobKind(
        name="word_count",
        params=WordCountParams,
        handler=count_words,
        settings=load_settings,
        artifacts=(Artifact("counts.json", "word-counts-{title}.json", "application/json"),),
        title=lambda p: p.text.split()[0][:40],
        description="Counts the words of a text (the README's example kind).",
    )
)
