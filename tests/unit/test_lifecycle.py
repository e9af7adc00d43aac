"""The order lifecycle, move by move (transaction_service/lifecycle.py): who may ask, from where, with what effect."""

import pytest

from transaction_service.lifecycle import (
    DROPPED,
    PAID,
    UNSETTLED,
    MoveForbidden,
    MoveNotAllowed,
    checkout_outcome,
    plan_move,
)

ORDER, CHECKOUT = False, True
ADMIN, OWNER = True, False


# ------------------------------------------------- orders placed with POST /api/transactions (SPEC §4)


@pytest.mark.parametrize(
    "checkout, target, current, from_statuses, releases_stock",
    [
        (ORDER, "completed", "pending", ("pending",), False),  # nothing is given back
        (ORDER, "cancelled", "completed", ("pending", "completed"), True),  # the stock goes back
        (CHECKOUT, "shipped", "paid", ("paid",), False),
        (CHECKOUT, "completed", "shipped", ("shipped",), False),
    ],
)
def test_an_admins_move_with_no_refund(checkout, target, current, from_statuses, releases_stock):
    move, moved_from = plan_move(checkout, target, current, ADMIN)
    assert moved_from == from_statuses
    assert move.releases_stock == releases_stock and not move.refunds


def test_an_owner_cancels_their_pending_order_only_from_pending():
    move, from_statuses = plan_move(ORDER, "cancelled", "pending", OWNER)
    assert from_statuses == ("pending",)
    assert move.releases_stock


@pytest.mark.parametrize(
    "target, current", [("completed", "pending"), ("cancelled", "completed"), ("pending", "pending")]
)
def test_an_owner_may_not_ask_for_any_other_move_of_an_order(target, current):
    with pytest.raises(MoveForbidden):
        plan_move(ORDER, target, current, OWNER)


@pytest.mark.parametrize("target", ["pending", "paid", "shipped"])
def test_an_order_without_payment_is_never_paid_or_shipped(target):
    with pytest.raises(MoveNotAllowed):
        plan_move(ORDER, target, "pending", ADMIN)


# ----------------------------------------------------------- orders placed with POST /api/checkout


@pytest.mark.parametrize("caller", [ADMIN, OWNER])
def test_a_paid_order_is_cancelled_by_its_owner_or_an_admin_with_a_refund_and_the_stock_back(caller):
    move, from_statuses = plan_move(CHECKOUT, "cancelled", "paid", caller)
    assert from_statuses == ("paid",)
    assert move.refunds and move.releases_stock


@pytest.mark.parametrize("caller", [ADMIN, OWNER])
@pytest.mark.parametrize("current", ["pending", "shipped", "completed", "cancelled"])
def test_a_cancel_is_made_only_from_paid_so_a_shipped_order_is_refused_in_the_update(caller, current):
    """The UPDATE's ``status IN ('paid')`` refuses the others (409): shipped, completed, unsettled, cancelled."""
    _, from_statuses = plan_move(CHECKOUT, "cancelled", current, caller)
    assert current not in from_statuses


@pytest.mark.parametrize("target", ["shipped", "completed"])
def test_an_owner_may_not_ship_or_complete(target):
    with pytest.raises(MoveForbidden):
        plan_move(CHECKOUT, target, "paid", OWNER)


@pytest.mark.parametrize("target", ["pending", "paid"])
def test_no_one_moves_an_order_to_pending_or_paid_by_hand(target):
    with pytest.raises(MoveNotAllowed):
        plan_move(CHECKOUT, target, "pending", ADMIN)
    with pytest.raises(MoveForbidden):
        plan_move(CHECKOUT, target, "pending", OWNER)


def test_a_pending_checkout_order_has_no_move_while_its_payment_settles():
    for target in ("shipped", "completed", "cancelled"):
        _, from_statuses = plan_move(CHECKOUT, target, "pending", ADMIN)
        assert "pending" not in from_statuses


# ------------------------------------------------------------------- the checkout's own moves


@pytest.mark.parametrize(
    "status, outcome",
    [(201, PAID), (402, DROPPED), (400, DROPPED), (503, UNSETTLED), (504, UNSETTLED), (500, UNSETTLED)],
)
def test_the_charges_answer_decides_the_checkout_order(status, outcome):
    assert checkout_outcome(status) == outcome
