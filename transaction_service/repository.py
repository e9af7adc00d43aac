"""Every SQL statement of the transaction service.

Each saga move is one conditional UPDATE on ``stock_state`` (see saga.py): it
returns whether this caller made the move, so two movers never both win.
"""

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from flask import current_app
from pymysql.err import IntegrityError

from shop_common.db import Row, execute, transaction

# An order as the API shows it (the table has internal columns too).
ORDER_FIELDS = ("id", "customer_id", "total_amount", "status", "transaction_date")
ORDER_COLUMNS = ", ".join(ORDER_FIELDS)
# What a read selects: the public fields, and where its payment stands (shown as "payment").
READ_COLUMNS = ORDER_COLUMNS + ", payment_state"
# Orders still being created, or being rolled back after a failed creation, are
# not orders yet: every public read filters them out.
VISIBLE = "(status <> 'pending' OR stock_state = 'held')"
IDEMPOTENCY_TTL_HOURS = 24
# The columns of an item as the saga has it before it is written (its id comes from the insert).
ITEM_COLUMNS = ("product_id", "product_name", "quantity", "price_per_item")
NO_PARENT_ROW = 1452  # MySQL's ER_NO_REFERENCED_ROW_2: a foreign key found no parent row
# Where the app keeps the step between the ids of one multi-row INSERT (see _inserted_item_ids).
AUTOINC_STEP = "transaction_items_autoinc_step"


# ------------------------------------------------------------------ saga moves


def insert_order(
    reference: str,
    customer_id: int,
    user_id: int,
    transaction_date: datetime,
    idempotency: tuple[str, str] | None = None,
) -> int | None:
    """Record an order in ``reserving``, unless the customer was deleted; link it to ``idempotency``
    (caller, key) in the same commit. Returns the order's id, None for a deleted customer.

    Without a key it is one autocommitted INSERT, which checks the deletion itself.
    """
    insert = (
        "INSERT INTO transactions (reference, customer_id, user_id, transaction_date) "
        "SELECT %s, %s, %s, %s FROM DUAL WHERE NOT EXISTS (SELECT 1 FROM deleted_customers WHERE customer_id = %s)",
        (reference, customer_id, user_id, transaction_date, customer_id),
    )
    if idempotency is None:
        cursor = execute(*insert)
        return cursor.lastrowid if cursor.rowcount == 1 else None
    with transaction() as cursor:
        cursor.execute(*insert)
        if cursor.rowcount != 1:
            return None
        order_id = cursor.lastrowid
        cursor.execute(
            "UPDATE idempotency_keys SET transaction_id = %s WHERE caller = %s AND idempotency_key = %s",
            (order_id, *idempotency),
        )
    return order_id


def confirm_order(order_id: int, total_amount: Decimal, items: Sequence[Mapping[str, Any]]) -> list[int] | None:
    """reserving → held, with its total and items; the items' ids in the order given, or None
    when someone else moved the order first.

    Autocommitted statements, no transaction: the items go in first and are seen only
    once the UPDATE makes the order held (reads show held orders alone). Items of an
    order the sweeper took meanwhile go with its row (ON DELETE CASCADE), or are
    refused when the row is gone already.
    """
    rows = ", ".join(["(%s, %s, %s, %s, %s)"] * len(items))
    values = tuple(value for item in items for value in (order_id, *(item[column] for column in ITEM_COLUMNS)))
    try:
        inserted = execute(
            f"INSERT INTO transaction_items (transaction_id, {', '.join(ITEM_COLUMNS)}) VALUES {rows}", values
        )
    except IntegrityError as error:
        if error.args[0] != NO_PARENT_ROW:
            raise
        return None  # the order row is gone: the sweeper rolled it back
    item_ids = _inserted_item_ids(order_id, inserted.lastrowid, len(items))
    moved = execute(
        "UPDATE transactions SET stock_state = 'held', total_amount = %s WHERE id = %s AND stock_state = 'reserving'",
        (total_amount, order_id),
    ).rowcount
    return item_ids if moved == 1 else None


def _inserted_item_ids(order_id: int, first_id: int, count: int) -> list[int]:
    """The ids of the ``count`` items one multi-row INSERT just wrote, from the first one (LAST_INSERT_ID()).

    They follow one another (by ``auto_increment_increment``) when InnoDB's autoinc lock mode is 0
    or 1, as MariaDB's default is: the statement allocates them all at once. In mode 2 they may
    interleave with another INSERT's, so they are read back.
    """
    step = _autoinc_step()
    if step is not None:
        return [first_id + step * number for number in range(count)]
    rows = execute("SELECT id FROM transaction_items WHERE transaction_id = %s ORDER BY id", (order_id,)).fetchall()
    return [row["id"] for row in rows]


def _autoinc_step() -> int | None:
    """The step between the ids of one multi-row INSERT, None when they need not be consecutive; read once per app."""
    if AUTOINC_STEP not in current_app.extensions:
        server = execute(
            "SELECT @@innodb_autoinc_lock_mode AS lock_mode, @@auto_increment_increment AS step"
        ).fetchone()
        current_app.extensions[AUTOINC_STEP] = server["step"] if server["lock_mode"] in (0, 1) else None
    return current_app.extensions[AUTOINC_STEP]


def claim_for_rollback(order_id: int) -> bool:
    """reserving → releasing (a failed or abandoned creation); True when this caller claimed it."""
    return (
        execute(
            "UPDATE transactions SET stock_state = 'releasing' WHERE id = %s AND stock_state = 'reserving'",
            (order_id,),
        ).rowcount
        == 1
    )


def begin_cancel(order_id: int, from_statuses: Sequence[str]) -> bool:
    """``from_statuses``/held → cancelled/releasing, for an order without payment; True when this caller moved it."""
    placeholders = ", ".join(["%s"] * len(from_statuses))
    return (
        execute(
            "UPDATE transactions SET status = 'cancelled', stock_state = 'releasing' "
            f"WHERE id = %s AND stock_state = 'held' AND payment_state = 'none' AND status IN ({placeholders})",
            (order_id, *from_statuses),
        ).rowcount
        == 1
    )


def mark_released(order_id: int) -> None:
    execute(
        "UPDATE transactions SET stock_state = 'released' WHERE id = %s AND stock_state = 'releasing'",
        (order_id,),
    )


def move_status(order_id: int, target: str, from_statuses: Sequence[str]) -> bool:
    """``from_statuses``/held → ``target`` (a move with nothing to give back); True when this caller made it."""
    placeholders = ", ".join(["%s"] * len(from_statuses))
    return (
        execute(
            "UPDATE transactions SET status = %s "
            f"WHERE id = %s AND stock_state = 'held' AND status IN ({placeholders})",
            (target, order_id, *from_statuses),
        ).rowcount
        == 1
    )


def delete_order(order_id: int) -> bool:
    return execute("DELETE FROM transactions WHERE id = %s", (order_id,)).rowcount == 1


# What the sweeper settles, older than the %s seconds given: orders left reserving or releasing
# stock, and checkouts left charging (stock held) or refunding. The list and its count share them.
_UNSETTLED_STOCK = "stock_state IN ('reserving', 'releasing') AND updated_at <= UTC_TIMESTAMP() - INTERVAL %s SECOND"
_UNSETTLED_PAYMENT = (
    "((payment_state = 'charging' AND stock_state = 'held') OR payment_state = 'refunding') "
    "AND updated_at <= UTC_TIMESTAMP() - INTERVAL %s SECOND"
)


def unsettled_orders(older_than_seconds: int) -> Sequence[Row]:
    """Orders left reserving or releasing for longer than ``older_than_seconds``."""
    return execute(
        f"SELECT id, reference, status, stock_state FROM transactions WHERE {_UNSETTLED_STOCK} ORDER BY id",
        (older_than_seconds,),
    ).fetchall()


def count_unsettled_orders(older_than_seconds: int) -> int:
    """How many orders :func:`unsettled_orders` would give: what the sweeper has not managed yet."""
    return _count_where(_UNSETTLED_STOCK, older_than_seconds)


def _count_where(condition: str, older_than_seconds: int) -> int:
    """How many orders meet ``condition``, one of this module's that take the seconds."""
    counted = execute(f"SELECT COUNT(*) AS counted FROM transactions WHERE {condition}", (older_than_seconds,))
    return counted.fetchone()["counted"]


def record_deleted_customer(customer_id: int) -> None:
    """From now on no order is recorded for ``customer_id`` (see owners.py); repeating it is harmless."""
    execute("INSERT IGNORE INTO deleted_customers (customer_id) VALUES (%s)", (customer_id,))


def owner_of_customer_orders(customer_id: int) -> int | None:
    """The user who placed the orders of ``customer_id`` (copied at order time), or None without orders."""
    row = execute(
        f"SELECT user_id FROM transactions WHERE customer_id = %s AND {VISIBLE} LIMIT 1", (customer_id,)
    ).fetchone()
    return row and row["user_id"]


# ----------------------------------------------------------------------- reads


def find_order(order_id: int) -> Row | None:
    """A visible order with its owner, reference and stock state (internal columns the routes drop)."""
    return execute(
        f"SELECT {READ_COLUMNS}, user_id, reference, stock_state, payment_method, payment_id "
        f"FROM transactions WHERE id = %s AND {VISIBLE}",
        (order_id,),
    ).fetchone()


def list_orders(limit: int, offset: int, customer_id: int | None = None) -> Sequence[Row]:
    where, params = _customer_filter(customer_id)
    return execute(
        f"SELECT {READ_COLUMNS} FROM transactions WHERE {VISIBLE}{where} ORDER BY id DESC LIMIT %s OFFSET %s",
        (*params, limit, offset),
    ).fetchall()


def count_orders(customer_id: int | None = None) -> int:
    where, params = _customer_filter(customer_id)
    return execute(f"SELECT COUNT(*) AS total FROM transactions WHERE {VISIBLE}{where}", params).fetchone()["total"]


def _customer_filter(customer_id: int | None) -> tuple[str, tuple[int, ...]]:
    return ("", ()) if customer_id is None else (" AND customer_id = %s", (customer_id,))


def find_items(order_ids: Collection[int]) -> dict[int, list[Row]]:
    """``{order id: [item, ...]}`` for all ``order_ids`` in one query."""
    items: dict[int, list[Row]] = {order_id: [] for order_id in order_ids}
    if not order_ids:
        return items
    placeholders = ", ".join(["%s"] * len(order_ids))
    rows = execute(
        "SELECT id AS item_id, transaction_id, product_id, product_name, quantity, price_per_item "
        f"FROM transaction_items WHERE transaction_id IN ({placeholders}) ORDER BY id",
        tuple(order_ids),
    ).fetchall()
    for row in rows:
        items[row.pop("transaction_id")].append(row)
    return items


# ------------------------------------------------------------- idempotency keys


def claim_idempotency_key(caller: str, key: str, request_hash: str) -> Row | None:
    """Record the key as in progress; the earlier record instead when the key is already in use.

    Three single statements, no explicit transaction: a DELETE-then-INSERT in
    one transaction takes gap locks that deadlock when the same key arrives
    twice at once. INSERT IGNORE lets exactly one claimer in; a record past its
    24 h life is taken over by one conditional UPDATE, as if the key were new.
    """
    if (
        execute(
            "INSERT IGNORE INTO idempotency_keys (caller, idempotency_key, request_hash) VALUES (%s, %s, %s)",
            (caller, key, request_hash),
        ).rowcount
        == 1
    ):
        return None
    if (
        execute(
            "UPDATE idempotency_keys SET request_hash = %s, state = 'in_progress', transaction_id = NULL, "
            "response_status = NULL, response_body = NULL, created_at = UTC_TIMESTAMP() "
            "WHERE caller = %s AND idempotency_key = %s "
            f"AND created_at < UTC_TIMESTAMP() - INTERVAL {IDEMPOTENCY_TTL_HOURS} HOUR",
            (request_hash, caller, key),
        ).rowcount
        == 1
    ):
        return None
    earlier = execute(
        "SELECT request_hash, state, transaction_id, response_status, response_body "
        "FROM idempotency_keys WHERE caller = %s AND idempotency_key = %s",
        (caller, key),
    ).fetchone()
    # Forgotten in between (the first attempt failed with a 5xx): claim it afresh.
    return earlier if earlier is not None else claim_idempotency_key(caller, key, request_hash)


def finish_idempotency_key(caller: str, key: str, response_status: int, response_body: str) -> None:
    execute(
        "UPDATE idempotency_keys SET state = 'done', response_status = %s, response_body = %s "
        "WHERE caller = %s AND idempotency_key = %s",
        (response_status, response_body, caller, key),
    )


def forget_idempotency_key(caller: str, key: str) -> None:
    execute("DELETE FROM idempotency_keys WHERE caller = %s AND idempotency_key = %s", (caller, key))


def unfinished_idempotency_keys(older_than_seconds: int) -> Sequence[Row]:
    return execute(
        "SELECT caller, idempotency_key, transaction_id FROM idempotency_keys "
        "WHERE state = 'in_progress' AND created_at <= UTC_TIMESTAMP() - INTERVAL %s SECOND",
        (older_than_seconds,),
    ).fetchall()


def delete_expired_idempotency_keys() -> None:
    execute(f"DELETE FROM idempotency_keys WHERE created_at < UTC_TIMESTAMP() - INTERVAL {IDEMPOTENCY_TTL_HOURS} HOUR")


# ------------------------------------------------------------------------ carts

CHECKOUT_RUNNING = "SELECT 1 FROM transactions WHERE user_id = %s AND payment_state = 'charging' LIMIT 1"


class CartLocked(Exception):
    """A checkout of this cart is still settling its payment: the cart may not change meanwhile."""


class CartFull(Exception):
    """The cart already has as many lines as it may."""


def cart_lines(user_id: int) -> Sequence[Row]:
    """The cart's lines, oldest first: ``product_id``, ``quantity``."""
    return execute(
        "SELECT product_id, quantity FROM cart_items WHERE user_id = %s ORDER BY added_at, product_id", (user_id,)
    ).fetchall()


def _lock_cart(cursor: Any, user_id: int) -> None:
    """Make the user's cart row and lock it for this transaction: its changes and checkouts queue here.

    :raise CartLocked: a checkout of the cart is settling its payment.
    """
    # ON DUPLICATE KEY UPDATE takes the row's exclusive lock at once: INSERT IGNORE's shared lock
    # followed by SELECT ... FOR UPDATE would deadlock two requests that both hold the shared one.
    cursor.execute("INSERT INTO carts (user_id) VALUES (%s) ON DUPLICATE KEY UPDATE user_id = user_id", (user_id,))
    cursor.execute(CHECKOUT_RUNNING, (user_id,))
    if cursor.fetchone() is not None:
        raise CartLocked()


def set_cart_line(user_id: int, product_id: int, quantity: int, max_lines: int) -> None:
    """Set the line of ``product_id`` to ``quantity`` (0 removes it).

    :raise CartFull: a new line beyond ``max_lines``. :raise CartLocked: see :func:`_lock_cart`.
    """
    with transaction() as cursor:
        _lock_cart(cursor, user_id)
        if quantity == 0:
            cursor.execute("DELETE FROM cart_items WHERE user_id = %s AND product_id = %s", (user_id, product_id))
            return
        cursor.execute(
            "SELECT COUNT(*) AS lines_held, SUM(product_id = %s) AS present FROM cart_items WHERE user_id = %s",
            (product_id, user_id),
        )
        row = cursor.fetchone()
        if not row["present"] and row["lines_held"] >= max_lines:
            raise CartFull()
        cursor.execute(
            "INSERT INTO cart_items (user_id, product_id, quantity) VALUES (%s, %s, %s) "
            "ON DUPLICATE KEY UPDATE quantity = VALUES(quantity)",
            (user_id, product_id, quantity),
        )


def empty_cart(user_id: int) -> None:
    """Remove every line. :raise CartLocked: see :func:`_lock_cart`."""
    with transaction() as cursor:
        _lock_cart(cursor, user_id)
        cursor.execute("DELETE FROM cart_items WHERE user_id = %s", (user_id,))


# --------------------------------------------------------------------- checkout


def insert_checkout(
    reference: str,
    customer_id: int,
    user_id: int,
    transaction_date: datetime,
    payment_method: str,
    idempotency: tuple[str, str],
) -> tuple[int | None, Sequence[Row]]:
    """Record a checkout order (reserving, charging) for the user's cart, linked to ``idempotency``.

    One transaction under the cart's lock, so a user has one checkout settling at a time.
    Returns ``(order id, cart lines)``: ``(None, lines)`` for a deleted customer, ``(None, [])``
    for an empty cart (nothing recorded in either case).

    :raise CartLocked: another checkout of this cart is settling its payment.
    """
    with transaction() as cursor:
        _lock_cart(cursor, user_id)
        cursor.execute("SELECT product_id, quantity FROM cart_items WHERE user_id = %s ORDER BY product_id", (user_id,))
        lines = cursor.fetchall()
        if not lines:
            return None, lines
        cursor.execute(
            "INSERT INTO transactions (reference, customer_id, user_id, transaction_date, payment_state, "
            "payment_method) SELECT %s, %s, %s, %s, 'charging', %s FROM DUAL "
            "WHERE NOT EXISTS (SELECT 1 FROM deleted_customers WHERE customer_id = %s)",
            (reference, customer_id, user_id, transaction_date, payment_method, customer_id),
        )
        if cursor.rowcount != 1:
            return None, lines
        order_id = cursor.lastrowid
        cursor.execute(
            "UPDATE idempotency_keys SET transaction_id = %s WHERE caller = %s AND idempotency_key = %s",
            (order_id, *idempotency),
        )
    return order_id, lines


def mark_paid(order_id: int, user_id: int, payment_id: int) -> bool:
    """pending/held/charging → paid/captured, and the user's cart emptied, in one transaction.

    True when this caller made the move (a request and the sweeper may both try).
    """
    with transaction() as cursor:
        cursor.execute(
            "UPDATE transactions SET status = 'paid', payment_state = 'captured', payment_id = %s "
            "WHERE id = %s AND stock_state = 'held' AND payment_state = 'charging'",
            (payment_id, order_id),
        )
        if cursor.rowcount != 1:
            return False
        cursor.execute("DELETE FROM cart_items WHERE user_id = %s", (user_id,))
    return True


def begin_drop(order_id: int) -> bool:
    """pending/held/charging → releasing/declined: nothing was charged, the order goes.

    True when this caller moved it (the sweeper then releases and deletes what a crash left).
    """
    return (
        execute(
            "UPDATE transactions SET stock_state = 'releasing', payment_state = 'declined' "
            "WHERE id = %s AND stock_state = 'held' AND payment_state = 'charging'",
            (order_id,),
        ).rowcount
        == 1
    )


def begin_refund(order_id: int) -> bool:
    """paid/held/captured → cancelled/releasing/refunding; True when this caller made the move."""
    return (
        execute(
            "UPDATE transactions SET status = 'cancelled', stock_state = 'releasing', payment_state = 'refunding' "
            "WHERE id = %s AND status = 'paid' AND stock_state = 'held' AND payment_state = 'captured'",
            (order_id,),
        ).rowcount
        == 1
    )


def mark_refunded(order_id: int) -> None:
    execute(
        "UPDATE transactions SET payment_state = 'refunded' WHERE id = %s AND payment_state = 'refunding'", (order_id,)
    )


def unsettled_payments(older_than_seconds: int) -> Sequence[Row]:
    """Checkouts left charging (stock held) or refunding for longer than ``older_than_seconds``."""
    return execute(
        "SELECT id, reference, user_id, total_amount, payment_state, payment_method, payment_id FROM transactions "
        f"WHERE {_UNSETTLED_PAYMENT} ORDER BY id",
        (older_than_seconds,),
    ).fetchall()


def count_unsettled_payments(older_than_seconds: int) -> int:
    """How many checkouts :func:`unsettled_payments` would give: charges and refunds the sweeper has not settled."""
    return _count_where(_UNSETTLED_PAYMENT, older_than_seconds)
