"""Routes of the user service: ``/api/users``.

| route | who |
|---|---|
| POST /register, POST /login, POST /refresh | anyone (role other than customer: admin only) |
| POST /logout, POST /logout-all | any user with an access token |
| GET /, DELETE /<id> | admin |
| GET /<id>, PUT /<id> | that user or admin; only an admin changes a role |
"""

from flask import Blueprint, current_app, jsonify

from shop_common.auth import (
    ADMIN,
    CUSTOMER,
    auth_required,
    current_caller,
    current_claims,
    identify_caller,
    require_owner_or_admin,
)
from shop_common.db import conflict_on_duplicate
from shop_common.errors import ApiError, found
from shop_common.validation import Fields, json_body, list_response, pagination

from . import erasure, repository, sessions
from .credentials import USERNAME, USERNAME_HINT, hash_password, password_problem, verify_password

users = Blueprint("users", __name__, url_prefix="/api/users")

ROLES = (ADMIN, CUSTOMER)


def _username(fields, required=True):
    return fields.string("username", required=required, max_length=255, pattern=USERNAME, hint=USERNAME_HINT)


def _new_password(fields, body, required=True):
    password = body.get("password")
    if password is None:
        if required:
            fields.add("password", "is required")
        return None
    problem = password_problem(password)
    if problem:
        fields.add("password", problem)
    return password


def _role(fields, body):
    role = body.get("role")
    if role is not None and role not in ROLES:
        fields.add("role", "must be 'admin' or 'customer'")
    return role


def _bcrypt_rounds():
    return current_app.config["BCRYPT_ROUNDS"]


def _user_or_404(user_id):
    return found(repository.find_user(user_id), f"User {user_id} was not found.")


def _username_conflicts(username):
    """The 409 of a username someone else has, for :func:`conflict_on_duplicate`."""
    return {repository.USERNAME_KEY: ("username_taken", f"The username '{username}' is already taken.")}


@users.post("/register")
def register():
    """Create an account. ``role`` defaults to customer; another role needs an admin's token.

    :raise 400: invalid username, password or role.
    :raise 403: a role other than customer without an admin token.
    :raise 409: the username is taken.
    """
    body = json_body()
    fields = Fields(body)
    username = _username(fields)
    password = _new_password(fields, body)
    role = _role(fields, body) or CUSTOMER
    fields.check()
    if role != CUSTOMER:
        caller = identify_caller(optional=True)
        if caller is None or not caller.is_admin:
            raise ApiError(403, "Only an admin may register a user with a role other than customer.")
    with conflict_on_duplicate(_username_conflicts(username)):
        user_id = repository.insert_user(username, hash_password(password, _bcrypt_rounds()), role)
    user = repository.find_user(user_id)
    return jsonify(message="User registered successfully", userId=user_id, **user), 201


@users.post("/login")
def login():
    """Exchange a username and password for a JWT access token.

    The username follows registration's rules: the database compares names under a
    Unicode collation, which would take ``ａｄｍｉｎ`` (full width) or ``ADMİN`` for ``admin``.

    :raise 400: no password, or a username registration would refuse.
    :raise 401: unknown user or wrong password (the same answer for both).
    """
    body = json_body()
    fields = Fields(body)
    username = _username(fields)
    password = body.get("password")
    if not isinstance(password, str) or not password:
        fields.add("password", "is required")
    fields.check()
    tokens, user = sessions.log_in(username, password)
    return jsonify(message="Login successful", **tokens, user=user)


@users.post("/refresh")
def refresh():
    """Trade a refresh token for the next pair of its login; the token sent is spent.

    :raise 400: no ``refreshToken``.
    :raise 401: an invalid, expired, revoked or already used refresh token (see sessions.py).
    """
    body = json_body()
    fields = Fields(body)
    refresh_token = fields.string("refreshToken", max_length=4096)
    fields.check()
    return jsonify(message="Token refreshed", **sessions.refresh(refresh_token))


@users.post("/logout")
@auth_required()
def logout():
    """End the login of the token used: its refresh tokens and access tokens, at once.

    :raise 503: the revocation store cannot be reached (nothing is ended).
    """
    family = current_claims().get("fam")
    if family:
        sessions.end_login(current_caller().user_id, family)
    else:  # a token of no login (create_user_token's): end them all
        sessions.end_every_login(current_caller().user_id)
    return jsonify(message="Logged out")


@users.post("/logout-all")
@auth_required()
def logout_all():
    """End every login of the caller, on every device.

    :raise 503: the revocation store cannot be reached (nothing is ended).
    """
    sessions.end_every_login(current_caller().user_id)
    return jsonify(message="Logged out everywhere")


@users.get("")
@auth_required(ADMIN)
def list_users():
    limit, offset = pagination()
    return list_response(repository.list_users(limit, offset), repository.count_users())


@users.get("/<id:user_id>")
@auth_required()
def get_user(user_id):
    require_owner_or_admin(user_id)
    return jsonify(_user_or_404(user_id))


@users.put("/<id:user_id>")
@auth_required()
def update_user(user_id):
    """Change username, password and (admin only) role; fields not sent stay as they are.

    A user changing their own password must send ``currentPassword``; an admin need not.

    :raise 400: invalid fields, or none to change.
    :raise 401: ``currentPassword`` is wrong, or the password changed while it was checked.
    :raise 403: not that user or an admin, or a non-admin changing a role.
    :raise 409: the new username is taken.
    :raise 503: the revocation store cannot be reached (nothing is changed).
    """
    caller = current_caller()
    require_owner_or_admin(user_id)
    body = json_body()
    username, password, role = _requested_changes(body, caller)
    _user_or_404(user_id)
    verified_hash = None
    if password is not None and not caller.is_admin:
        verified_hash = _verified_current_password(user_id, body.get("currentPassword"))
    changes = {"username": username, "role": role}
    if password is not None:
        changes["password_hash"] = hash_password(password, _bcrypt_rounds())
    kept_family = current_claims().get("fam") if caller.user_id == user_id else None
    with conflict_on_duplicate(_username_conflicts(username)):
        sessions.change_user(
            user_id,
            {column: value for column, value in changes.items() if value is not None},
            verified_hash=verified_hash,
            kept_family=kept_family,
        )
    return jsonify(message="User updated successfully", user=repository.find_user(user_id))


def _requested_changes(body, caller):
    """``(username, password, role)`` of a PUT, each None when not sent.

    :raise 400: invalid fields, or none. :raise 403: a non-admin changing a role.
    """
    fields = Fields(body)
    username = _username(fields, required=False)
    password = _new_password(fields, body, required=False)
    role = _role(fields, body)
    if username is None and password is None and role is None:
        fields.add("body", "send at least one of username, password, role")
    fields.check()
    if role is not None and not caller.is_admin:
        raise ApiError(403, "Only an admin may change a role.")
    return username, password, role


def _verified_current_password(user_id, current_password):
    """The password hash ``current_password`` was verified against.

    :raise 401: ``current_password`` is missing or not the user's password.
    """
    password_hash = repository.find_password_hash(user_id)
    if not isinstance(current_password, str) or not verify_password(current_password, password_hash, _bcrypt_rounds()):
        raise ApiError(401, "currentPassword is missing or wrong.", code="invalid_credentials")
    return password_hash


@users.delete("/<id:user_id>")
@auth_required(ADMIN)
def delete_user(user_id):
    """Delete the user: their tokens stop at once, their customer profile is erased.

    The erasure is queued with the deletion and retried until the customer service
    confirms it (erasure.py); ``profile_erasure`` says whether it is ``done`` or
    still ``pending``. Their orders stay, as financial records.

    :raise 404: no such user. :raise 503: the revocation store cannot be reached (nothing is deleted).
    """
    _user_or_404(user_id)
    erased = erasure.delete_user(user_id)
    return jsonify(message="User deleted successfully", userId=user_id, profile_erasure="done" if erased else "pending")
