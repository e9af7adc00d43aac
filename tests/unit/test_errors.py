"""The error shape, find-or-404 and the 409 of a unique key, without a database."""

import pymysql
import pytest

from shop_common.db import DuplicateKey, conflict_on_duplicate, duplicate_key_name
from shop_common.errors import ApiError, ValidationError, error_body, found


def test_found_passes_a_row_through_and_turns_none_into_a_404():
    assert found({"id": 1}, "unused") == {"id": 1}
    with pytest.raises(ApiError) as error:
        found(None, "Product 7 was not found.")
    assert (error.value.status, error.value.code, error.value.message) == (404, "not_found", "Product 7 was not found.")


def test_the_error_body_has_fields_only_when_there_are_some():
    assert error_body(409, "Taken.", "username_taken") == {"error": "username_taken", "message": "Taken."}
    assert ValidationError({"name": "is required"}).body() == {
        "error": "validation_error",
        "message": "Some fields are missing or invalid.",
        "fields": {"name": "is required"},
    }


@pytest.mark.parametrize(
    "message, key",
    [
        ("Duplicate entry 'carol' for key 'uq_users_username'", "uq_users_username"),  # MariaDB
        ("Duplicate entry 'a@b.c' for key 'customers.uq_customers_email'", "uq_customers_email"),  # MySQL 8
    ],
)
def test_a_duplicate_entry_names_its_unique_key(message, key):
    assert duplicate_key_name(pymysql.err.IntegrityError(1062, message)) == key


def test_other_integrity_errors_name_no_key():
    assert duplicate_key_name(pymysql.err.IntegrityError(1452, "Cannot add or update a child row")) is None


def test_a_named_unique_key_becomes_its_409():
    with pytest.raises(ApiError) as error:
        with conflict_on_duplicate({"uq_users_username": ("username_taken", "The username is taken.")}):
            raise DuplicateKey("uq_users_username")
    assert (error.value.status, error.value.code) == (409, "username_taken")


def test_a_key_not_named_stays_a_duplicate_key():
    with pytest.raises(DuplicateKey):
        with conflict_on_duplicate({"uq_users_username": ("username_taken", "The username is taken.")}):
            raise DuplicateKey("uq_other")
