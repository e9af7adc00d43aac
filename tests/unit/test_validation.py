"""Field checks that refuse look-alikes."""

from decimal import Decimal

import pytest

from shop_common.validation import Fields


@pytest.mark.parametrize(
    "raw, expected",
    [
        (19.99, Decimal("19.99")),
        ("19.99", Decimal("19.99")),
        (0, Decimal("0.00")),
        ("5", Decimal("5.00")),
        ("99999999.99", Decimal("99999999.99")),
        ("007.5", Decimal("7.50")),
        (1e2, Decimal("100.00")),
    ],
)
def test_money_accepts_numbers_and_numeric_strings(raw, expected):
    fields = Fields({"price": raw})
    assert fields.money("price") == expected and not fields.problems


@pytest.mark.parametrize(
    "raw", ["abc", True, -1, "-0.01", "NaN", "Infinity", 1e309, "1.999", "100000000.00", [1], {"a": 1}, 0.1 + 0.2]
)
def test_money_refuses_everything_else(raw):
    fields = Fields({"price": raw})
    assert fields.money("price") is None and "price" in fields.problems


@pytest.mark.parametrize(
    "raw", ["١٢", "1_000", "1e2", "-0", "+5", " 5 ", "5.", ".5", "5\n", "٣.50", "1.5e0", "", "0x10", "１２"]
)
def test_a_money_string_is_only_what_the_openapi_pattern_says(raw):
    """ASCII digits, an optional point and one or two decimals: Decimal() would take each of these."""
    fields = Fields({"price": raw})
    assert fields.money("price") is None and "ASCII digits" in fields.problems["price"]


@pytest.mark.parametrize("raw", [True, 1.0, "1", None])
def test_integer_refuses_booleans_floats_and_strings(raw):
    fields = Fields({"stock": raw})
    fields.integer("stock")
    assert "stock" in fields.problems


def test_integer_range():
    fields = Fields({"quantity": 0, "other": 5})
    fields.integer("quantity", minimum=1, maximum=10)
    fields.integer("other", minimum=1, maximum=10)
    assert list(fields.problems) == ["quantity"]
