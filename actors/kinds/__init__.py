"""Production job kinds; each registers itself on import."""

from __future__ import annotations

from actors.kinds import llms_txt  # noqa: F401  (registers the llms_txt kind)
