"""Every SQL statement of the payment service: the payments of orders."""

from decimal import Decimal

from shop_common.db import Row, execute

PAYMENT_COLUMNS = (
    "id, order_id, idempotency_key, amount, currency, payment_method, status, provider_reference, "
    "decline_reason, refunded_amount, refund_idempotency_key, created_at, updated_at"
)


def insert_pending_payment(order_id: int, idempotency_key: str, amount: Decimal, currency: str, method: str) -> int:
    """Record a payment ``pending`` before the provider is asked.

    :raise DuplicateKey: ``uq_payments_idempotency_key``, a payment with this key exists.
    """
    return execute(
        "INSERT INTO payments (order_id, idempotency_key, amount, currency, payment_method) "
        "VALUES (%s, %s, %s, %s, %s)",
        (order_id, idempotency_key, amount, currency, method),
    ).lastrowid


def find_payment(payment_id: int) -> Row | None:
    return execute(f"SELECT {PAYMENT_COLUMNS} FROM payments WHERE id = %s", (payment_id,)).fetchone()


def find_payment_by_key(idempotency_key: str) -> Row | None:
    return execute(f"SELECT {PAYMENT_COLUMNS} FROM payments WHERE idempotency_key = %s", (idempotency_key,)).fetchone()


def list_payments(order_id: int | None) -> list[Row]:
    """The payments of ``order_id`` (all when None), oldest first."""
    if order_id is None:
        return list(execute(f"SELECT {PAYMENT_COLUMNS} FROM payments ORDER BY id").fetchall())
    return list(
        execute(f"SELECT {PAYMENT_COLUMNS} FROM payments WHERE order_id = %s ORDER BY id", (order_id,)).fetchall()
    )


def settle_payment(payment_id: int, status: str, provider_reference: str | None, decline_reason: str | None) -> bool:
    """Move a pending payment to its outcome; False when it was settled already (by a retry or the sweeper)."""
    return (
        execute(
            "UPDATE payments SET status = %s, provider_reference = %s, decline_reason = %s "
            "WHERE id = %s AND status = 'pending'",
            (status, provider_reference, decline_reason, payment_id),
        ).rowcount
        == 1
    )


def mark_refunded(payment_id: int, refund_idempotency_key: str) -> bool:
    """Move a captured payment to refunded in full; False when it was not captured (refunded already)."""
    return (
        execute(
            "UPDATE payments SET status = 'refunded', refunded_amount = amount, refund_idempotency_key = %s "
            "WHERE id = %s AND status = 'captured'",
            (refund_idempotency_key, payment_id),
        ).rowcount
        == 1
    )


def stale_pending_payments(older_than_seconds: int) -> list[Row]:
    """Payments still pending ``older_than_seconds`` after they last changed: no request is working on them."""
    return list(
        execute(
            f"SELECT {PAYMENT_COLUMNS} FROM payments WHERE status = 'pending' "
            "AND updated_at < UTC_TIMESTAMP() - INTERVAL %s SECOND ORDER BY id LIMIT 100",
            (older_than_seconds,),
        ).fetchall()
    )


def count_stale_pending_payments(older_than_seconds: int) -> int:
    row = execute(
        "SELECT COUNT(*) AS count FROM payments WHERE status = 'pending' "
        "AND updated_at < UTC_TIMESTAMP() - INTERVAL %s SECOND",
        (older_than_seconds,),
    ).fetchone()
    return int(row["count"]) if row else 0
