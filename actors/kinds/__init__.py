"""Production job kinds; each registers itself on import."""

from __future__ import annotations

from actors.kinds import llms_txt, website  # noqa: F401  (each registers its kind)
