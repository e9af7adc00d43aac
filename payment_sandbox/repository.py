"""Every SQL statement of the payment sandbox: its ledger of charges and refunds, and the behaviour in force."""

from decimal import Decimal

from shop_common.db import Row, execute

CHARGE_COLUMNS = (
    "id, idempotency_key, request_hash, amount, amount_captured, amount_refunded, currency, status, "
    "decline_code, payment_method, metadata, created"
)
REFUND_COLUMNS = "id, charge_id, idempotency_key, request_hash, amount, created"
# What an insert writes (amount_refunded starts at its default, 0).
_CHARGE_INSERTED = (
    "id",
    "idempotency_key",
    "request_hash",
    "amount",
    "amount_captured",
    "currency",
    "status",
    "decline_code",
    "payment_method",
    "metadata",
    "created",
)
_REFUND_INSERTED = tuple(REFUND_COLUMNS.split(", "))


def insert_charge(charge: Row) -> None:
    """Record a charge; its key's UNIQUE index refuses a second one.

    :raise DuplicateKey: ``uq_charges_idempotency_key``, a charge with this key exists.
    """
    _insert("charges", _CHARGE_INSERTED, charge)


def _insert(table: str, columns: tuple[str, ...], row: Row) -> None:
    """``INSERT`` of ``row``'s ``columns`` into ``table`` (both named by this module, never by a caller)."""
    placeholders = ", ".join(["%s"] * len(columns))
    execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", tuple(row[name] for name in columns))


def find_charge(charge_id: str) -> Row | None:
    return execute(f"SELECT {CHARGE_COLUMNS} FROM charges WHERE id = %s", (charge_id,)).fetchone()


def lock_charge(charge_id: str) -> Row | None:
    """The charge, locked until the surrounding transaction ends (refunds of one charge queue here)."""
    return execute(f"SELECT {CHARGE_COLUMNS} FROM charges WHERE id = %s FOR UPDATE", (charge_id,)).fetchone()


def find_charge_by_key(idempotency_key: str) -> Row | None:
    return execute(f"SELECT {CHARGE_COLUMNS} FROM charges WHERE idempotency_key = %s", (idempotency_key,)).fetchone()


def list_charges() -> list[Row]:
    """The whole ledger, oldest first."""
    return list(execute(f"SELECT {CHARGE_COLUMNS} FROM charges ORDER BY ledger_position").fetchall())


def insert_refund(refund: Row) -> None:
    """:raise DuplicateKey: ``uq_refunds_idempotency_key``, a refund with this key exists."""
    _insert("refunds", _REFUND_INSERTED, refund)


def find_refund_by_key(idempotency_key: str) -> Row | None:
    return execute(f"SELECT {REFUND_COLUMNS} FROM refunds WHERE idempotency_key = %s", (idempotency_key,)).fetchone()


def add_refunded_amount(charge_id: str, amount: Decimal) -> None:
    execute("UPDATE charges SET amount_refunded = amount_refunded + %s WHERE id = %s", (amount, charge_id))


def find_behaviour() -> Row | None:
    return execute("SELECT delay_seconds, failure_rate, late_rate, late_seconds FROM behaviour WHERE id = 1").fetchone()


def save_behaviour(delay_seconds: float, failure_rate: float, late_rate: float, late_seconds: float) -> None:
    execute(
        "INSERT INTO behaviour (id, delay_seconds, failure_rate, late_rate, late_seconds) VALUES (1, %s, %s, %s, %s) "
        "ON DUPLICATE KEY UPDATE delay_seconds = VALUES(delay_seconds), failure_rate = VALUES(failure_rate), "
        "late_rate = VALUES(late_rate), late_seconds = VALUES(late_seconds)",
        (delay_seconds, failure_rate, late_rate, late_seconds),
    )
