"""Reading and checking request input: JSON bodies, fields, pagination.

Checks collect every field problem before responding, so a client sees all that
is wrong at once (``fields``), and reject look-alikes a loose parser would take:
``true`` is not an integer, ``"1"`` is not a quantity, ``1.5`` is not a stock.
"""

import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from flask import Response, jsonify, request
from werkzeug.exceptions import UnsupportedMediaType

from .errors import ApiError, ValidationError

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
CENT = Decimal("0.01")
MAX_MONEY = Decimal("99999999.99")  # DECIMAL(10, 2)
MAX_ID = 2**32 - 1  # INT UNSIGNED
# An amount as a string, as docs/openapi.yaml's MoneyInput says ([0-9], not \d: Python's takes "١٢").
MONEY_TEXT = re.compile(r"[0-9]{1,8}(\.[0-9]{1,2})?")
# Arrays and objects inside one another: a real body of this API nests 3 deep; the
# parser recurses once per level, so without a bound 1,000 of them are a RecursionError.
MAX_JSON_DEPTH = 32
# Line breaks and tabs, which a field that allows them (free text) may hold.
TEXT_LAYOUT = frozenset("\t\n\r")


def json_body() -> dict[str, Any]:
    """The request's JSON object, parsed with a bound on nesting (every service reads bodies here).

    :raise 415: the body is not declared as JSON.
    :raise 400: the body is not valid JSON, not a JSON object, nested deeper than
        :data:`MAX_JSON_DEPTH`, or holds a lone UTF-16 surrogate (``"\\ud800"``):
        valid JSON syntax, but no UTF-8 text, so neither bcrypt nor the database could take it.
    """
    if not request.is_json:
        raise UnsupportedMediaType("The request body must be JSON (Content-Type: application/json).")
    try:
        body = json.loads(request.get_data())
    except RecursionError:
        body = _TOO_DEEP
    except ValueError:
        raise ApiError(400, "The request body is not valid JSON.", code="invalid_json") from None
    if body is _TOO_DEEP or _depth(body) > MAX_JSON_DEPTH:
        raise ApiError(
            400, f"The request body nests arrays and objects more than {MAX_JSON_DEPTH} deep.", code="invalid_json"
        )
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.", code="invalid_json")
    try:
        json.dumps(body, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        raise ApiError(
            400, "The request body holds an invalid Unicode escape (a lone surrogate).", code="invalid_json"
        ) from None
    return body


_TOO_DEEP = object()


def _depth(value: Any) -> int:
    """How deep arrays and objects nest in ``value``, found without recursion."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        value, level = pending.pop()
        if isinstance(value, dict):
            value = value.values()
        elif not isinstance(value, list):
            continue
        deepest = max(deepest, level)
        if level <= MAX_JSON_DEPTH:
            pending.extend((item, level + 1) for item in value)
    return deepest


def control_character(text: str, allowed: frozenset[str] = frozenset()) -> str | None:
    """The first control character (Unicode Cc: NUL, ESC, DEL...) of ``text`` not in ``allowed``, or None."""
    for character in text:
        if unicodedata.category(character) == "Cc" and character not in allowed:
            return character
    return None


class Fields:
    """Collects field problems; :meth:`check` raises them all as one 400.

    A ``partial`` body (a PUT) reads only the fields it sends: :meth:`sent` says which.
    """

    def __init__(self, body: Mapping[str, Any], partial: bool = False) -> None:
        self.body = body
        self.partial = partial
        self.problems: dict[str, str] = {}

    def sent(self, name: str) -> bool:
        """Whether ``name`` is to be read: always on a full body, on a partial one when present."""
        return not self.partial or name in self.body

    def _value(self, name: str, required: bool, kinds: tuple[type, ...], problem: str) -> Any:
        """The value of ``name`` when it is one of ``kinds`` (never a bool); else None, noting why."""
        value = self.body.get(name)
        if value is None:
            if required:
                self.problems[name] = "is required"
            return None
        if isinstance(value, bool) or not isinstance(value, kinds):
            self.problems[name] = problem
            return None
        return value

    def string(
        self,
        name: str,
        *,
        required: bool = True,
        min_length: int = 1,
        max_length: int = 255,
        pattern: re.Pattern[str] | None = None,
        hint: str | None = None,
        allowed_controls: frozenset[str] = frozenset(),
    ) -> str | None:
        """A trimmed string; control characters are refused but for ``allowed_controls``
        (free text passes :data:`TEXT_LAYOUT`)."""
        value = self._value(name, required, (str,), "must be a string")
        if value is None:
            return None
        value = value.strip()
        control = control_character(value, allowed_controls)
        if control is not None:
            self.problems[name] = f"must not contain control characters (found U+{ord(control):04X})"
        elif not min_length <= len(value) <= max_length:
            self.problems[name] = f"must be {min_length} to {max_length} characters"
        elif pattern is not None and not pattern.fullmatch(value):
            self.problems[name] = hint or "has an invalid format"
        return value

    def integer(
        self, name: str, *, required: bool = True, minimum: int | None = None, maximum: int | None = None
    ) -> int | None:
        value = self._value(name, required, (int,), "must be an integer")
        if value is None:
            return None
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            self.problems[name] = f"must be between {minimum} and {maximum}"
        return value

    def money(self, name: str, *, required: bool = True, maximum: Decimal = MAX_MONEY) -> Decimal | None:
        """A decimal ≥ 0 with at most two places, from a JSON number or a string of
        :data:`MONEY_TEXT` (no sign, exponent, space, ``_`` or non-ASCII digit, which
        ``Decimal`` would all take)."""
        value = self._value(name, required, (int, float, str), "must be a number")
        if value is None:
            return None
        if isinstance(value, str) and not MONEY_TEXT.fullmatch(value):
            self.problems[name] = "must be ASCII digits with at most two decimals, such as '19.99'"
            return None
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            self.problems[name] = "must be a number"
            return None
        if not amount.is_finite():
            self.problems[name] = "must be a finite number"
        elif amount < 0 or amount > maximum:
            self.problems[name] = f"must be between 0 and {maximum}"
        elif amount != amount.quantize(CENT):
            self.problems[name] = "must have at most two decimal places"
        else:
            return amount.quantize(CENT)
        return None

    def add(self, name: str, problem: str) -> None:
        self.problems[name] = problem

    def check(self) -> None:
        """:raise 400: with every problem found."""
        if self.problems:
            raise ValidationError(self.problems)


def order_lines(fields: Fields, items: object, max_lines: int = 100, max_quantity: int = 10_000) -> dict[int, int]:
    """``{product_id: quantity}`` from ``[{productId, quantity}, ...]``, repeated products merged.

    Problems go into ``fields`` as ``items[<index>].<name>``; a merged quantity
    over ``max_quantity`` is refused too.
    """
    lines: dict[int, int] = {}
    if not isinstance(items, list) or not 1 <= len(items) <= max_lines:
        fields.add("items", f"must be a list of 1 to {max_lines} items")
        return lines
    for index, item in enumerate(items):
        line = Fields(item if isinstance(item, dict) else {})
        product_id = line.integer("productId", minimum=1, maximum=MAX_ID)
        quantity = line.integer("quantity", minimum=1, maximum=max_quantity)
        for name, problem in line.problems.items():
            fields.add(f"items[{index}].{name}", problem)
        if not line.problems:  # so both were read as integers
            lines[cast(int, product_id)] = lines.get(cast(int, product_id), 0) + cast(int, quantity)
    for product_id, quantity in lines.items():
        if quantity > max_quantity:
            fields.add("items", f"product {product_id} is ordered {quantity} times in all; the most is {max_quantity}")
    return lines


def pagination() -> tuple[int, int]:
    """``(limit, offset)`` from the query string: limit 1-500 (default 50), offset ≥ 0.

    :raise 400: either is not a whole number in range.
    """
    problems: dict[str, str] = {}
    limit = _query_int("limit", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE, problems)
    offset = _query_int("offset", 0, 0, 10**12, problems)
    if problems:
        raise ValidationError(problems, "Invalid pagination parameters.")
    return limit, offset


def _query_int(name: str, default: int, minimum: int, maximum: int, problems: dict[str, str]) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or not minimum <= int(raw) <= maximum:
        problems[name] = f"must be a whole number from {minimum} to {maximum}"
        return default
    return int(raw)


def list_response(rows: str | Sequence[Mapping[str, Any]], total: int) -> Response:
    """A JSON array response (``rows``, or the text of one) with the unpaginated total in ``X-Total-Count``."""
    response = Response(rows, mimetype="application/json") if isinstance(rows, str) else jsonify(rows)
    response.headers["X-Total-Count"] = str(total)
    return response
