"""Who may write what: the ``payments`` table is written only by the state machine's payments module and the
job creation statement (``db/state_machine/``), nowhere else in the code."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WRITERS = {"insert", "update", "delete"}


def _payment_writes(path: Path) -> list[int]:
    """Lines of ``insert(Payment)``, ``update(Payment)`` or ``delete(Payment)`` in ``path``."""
    tree = ast.parse(path.read_text(), str(path))
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
        target = node.args[0]
        if name in WRITERS and isinstance(target, ast.Name) and target.id == "Payment":
            lines.append(node.lineno)
    return lines


def test_only_the_state_machine_writes_payments() -> None:
    allowed = ROOT / "db" / "state_machine"
    found = {
        str(path.relative_to(ROOT)): lines
        for package in ("service", "actors", "db", "scripts")
        for path in sorted((ROOT / package).rglob("*.py"))
        if allowed not in path.parents and "migrations" not in path.parts and (lines := _payment_writes(path))
    }
    assert found == {}
    # And the check sees the writes that are allowed (it is not blind)
    assert _payment_writes(allowed / "payments.py") and _payment_writes(allowed / "creation.py")
