"""The order state machine refuses moves it does not have before building any statement."""

from __future__ import annotations

import uuid

import pytest

from actors.kinds.article.order_state import MOVES, IllegalMove, move
from actors.kinds.article.statuses import FINAL, OrderStatus


def test_final_statuses_have_no_way_out_and_every_status_is_reachable() -> None:
    assert all(not MOVES[s] for s in FINAL)
    reachable = {OrderStatus.PENDING_PAYMENT} | {to for targets in MOVES.values() for to in targets}
    assert reachable == set(OrderStatus)


@pytest.mark.parametrize(
    ("frm", "to"),
    [
        ("completed", OrderStatus.PROCESSING),
        ("quality_check", OrderStatus.COMPLETED),
        ("pending_payment", OrderStatus.ADMIN_REVIEW),
        ("failed", OrderStatus.QUALITY_CHECK),
    ],
)
def test_illegal_moves_are_refused(frm: str, to: OrderStatus) -> None:
    with pytest.raises(IllegalMove, match=f"from {frm} to {to}"):
        move(uuid.uuid4(), frm, to)


def test_a_move_is_conditional_on_the_status_it_starts_from() -> None:
    sql = str(move(uuid.uuid4(), "quality_check", OrderStatus.ADMIN_REVIEW).compile())
    assert "WHERE orders.id = " in sql and "orders.status = " in sql and "RETURNING orders.id" in sql
