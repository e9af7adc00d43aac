"""The order lifecycle: the moves between statuses, who may ask for each, and what each must do.

Plain code, no Flask and no SQL, so every rule is unit-tested alone
(tests/unit/test_lifecycle.py); the routes, the saga and the checkout ask it.

Two kinds of order:

- placed with ``POST /api/transactions`` (no payment), as SPEC §4 has them:
  pending → completed (admin), pending → cancelled (owner or admin),
  completed → cancelled (admin); a cancel gives the stock back.
- placed with ``POST /api/checkout`` (paid): pending while its payment is
  unsettled (no one may move it: the checkout or the sweeper settles it),
  then paid → shipped → completed (admin); paid → cancelled (owner or
  admin) refunds the payment in full and gives the stock back. A shipped
  or completed checkout order cannot be cancelled (409).
"""

from dataclasses import dataclass

STATUSES = ("pending", "paid", "shipped", "completed", "cancelled")


@dataclass(frozen=True)
class Move:
    """A move to one status: from which statuses an admin and an owner may ask for it, and its effects."""

    from_statuses: tuple[str, ...]
    owner_from: tuple[str, ...] = ()
    releases_stock: bool = False
    refunds: bool = False


ORDER_MOVES = {
    "completed": Move(("pending",)),
    "cancelled": Move(("pending", "completed"), owner_from=("pending",), releases_stock=True),
}
CHECKOUT_MOVES = {
    "shipped": Move(("paid",)),
    "completed": Move(("shipped",)),
    "cancelled": Move(("paid",), owner_from=("paid",), releases_stock=True, refunds=True),
}

# What a checkout does with the payment service's answer to its charge.
PAID, DROPPED, UNSETTLED = "paid", "dropped", "unsettled"


class MoveForbidden(Exception):
    """The caller may not ask for this move at all (403)."""


class MoveNotAllowed(Exception):
    """No such move from the order's status (409)."""


def moves_of(is_checkout):
    return CHECKOUT_MOVES if is_checkout else ORDER_MOVES


def plan_move(is_checkout, target, current_status, is_admin):
    """``(move, from_statuses)``: the move to ``target`` and the statuses the caller may make it from.

    The statuses go into the one conditional UPDATE that makes the move, so a
    move that another request made first is refused there (409), not here.

    :raise MoveForbidden: an owner asking for a move only an admin makes.
    :raise MoveNotAllowed: the order's kind has no move to ``target``.
    """
    move = moves_of(is_checkout).get(target)
    if move is None:
        if not is_admin:
            raise MoveForbidden(_owner_rule(is_checkout))
        raise MoveNotAllowed(f"A {current_status} transaction cannot become {target}.")
    if is_admin:
        return move, move.from_statuses
    if not move.owner_from or (current_status in move.from_statuses and current_status not in move.owner_from):
        raise MoveForbidden(_owner_rule(is_checkout))
    return move, move.owner_from


def _owner_rule(is_checkout):
    if is_checkout:
        return "You may only cancel your own paid order, before it ships."
    return "You may only cancel your own pending order."


def checkout_outcome(charge_status):
    """What the payment service's status for a checkout's charge makes of the order.

    201 captured: the order is paid (and the cart emptied). 402 declined or 400
    a method the provider does not know: nothing was charged; the order is
    dropped and its stock released. Anything else (503, 504, ...): the outcome
    is unknown; the order stays pending and the same charge is asked again later.
    """
    if charge_status == 201:
        return PAID
    if charge_status in (400, 402):
        return DROPPED
    return UNSETTLED
