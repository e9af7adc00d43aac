"""The user service's SQL, straight against the test database."""

import pytest

from shop_common.db import DuplicateKey
from user_service import repository


@pytest.fixture(autouse=True)
def app_context(app):
    with app.app_context():
        yield


def test_insert_and_find_never_return_the_hash():
    user_id = repository.insert_user("carol", "$2b$04$" + "x" * 53, "customer")
    user = repository.find_user(user_id)
    assert user["username"] == "carol" and user["role"] == "customer"
    assert "password_hash" not in user
    assert repository.find_credentials("CAROL")["password_hash"].startswith("$2b$04$")


def test_a_duplicate_username_names_its_unique_key():
    repository.insert_user("carol", "h" * 60, "customer")
    with pytest.raises(DuplicateKey) as duplicate:
        repository.insert_user("Carol", "h" * 60, "customer")
    assert duplicate.value.key == repository.USERNAME_KEY


def test_update_changes_only_the_given_columns():
    user_id = repository.insert_user("carol", "h" * 60, "customer")
    repository.update_user(user_id, {"role": "admin"})
    assert repository.find_user(user_id)["username"] == "carol"
    assert repository.find_user(user_id)["role"] == "admin"
    assert repository.find_password_hash(user_id) == "h" * 60


@pytest.mark.parametrize("changes", [{}, {"id": 5}, {"role = 'admin', username": "x"}])
def test_update_refuses_columns_it_does_not_know(changes):
    user_id = repository.insert_user("carol", "h" * 60, "customer")
    with pytest.raises(ValueError):
        repository.update_user(user_id, changes)
    assert repository.find_user(user_id)["role"] == "customer"


def test_list_count_and_delete():
    ids = [repository.insert_user(f"user_{n}", "h" * 60, "customer") for n in range(3)]
    assert [user["id"] for user in repository.list_users(10, 0)] == ids[::-1]
    assert repository.count_users() == 3
    with repository.locked_user(ids[0]) as user:
        assert user["username"] == "user_0" and user["session_epoch"] == 0
        repository.delete_user(ids[0])
    with repository.locked_user(ids[0]) as user:
        assert user is None
    assert repository.count_users() == 2
    assert repository.pending_erasures()[-1] == ids[0]


def test_a_failed_step_inside_locked_user_changes_nothing():
    user_id = repository.insert_user("carol", "h" * 60, "customer")
    with pytest.raises(DuplicateKey), repository.locked_user(user_id):
        repository.raise_session_epoch(user_id)
        repository.insert_user("CAROL", "h" * 60, "customer")
    with repository.locked_user(user_id) as user:
        assert user["session_epoch"] == 0


def test_insert_admin_if_missing_is_idempotent():
    assert repository.insert_admin_if_missing("root_admin", "h" * 60) is True
    assert repository.insert_admin_if_missing("root_admin", "z" * 60) is False
    assert repository.find_password_hash(repository.find_credentials("root_admin")["id"]) == "h" * 60
