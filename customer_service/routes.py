"""Routes of the customer service: ``/api/customers`` and the internal owner look-up.

| route | who |
|---|---|
| POST /api/customers | a user for their own ``userId``, or admin |
| GET/PUT/DELETE /api/customers/<id>, GET /api/customers/user/<userId> | the owning user, or admin |
| GET /api/customers | admin (the list has no ``user_info``: one call per row would not scale) |
| GET /internal/customers/<id> | services only; not forwarded by the gateway |
| DELETE /internal/customers/user/<userId> | services only: the user service forgetting a deleted user |

Single reads add ``user_info``, fetched from the user service with this
service's token. When the user service is down or slow the profile is still
returned, with ``user_info: null``. ``userId`` cannot be changed by PUT.
"""
import re

from flask import Blueprint, current_app, jsonify

from shop_common.auth import ADMIN, SERVICE, auth_required, require_owner_or_admin
from shop_common.errors import ApiError
from shop_common.http_client import service_client
from shop_common.validation import MAX_ID, Fields, json_body, list_response, pagination

from . import repository

customers = Blueprint("customers", __name__, url_prefix="/api/customers")
internal = Blueprint("internal_customers", __name__, url_prefix="/internal/customers")

# Deliberately loose: one @, no spaces, a dot in the domain. Deliverability is the mail's job.
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
PHONE = re.compile(r"[0-9+()\-. ]{3,32}")


def _profile_fields(body, creating):
    """The profile columns sent in ``body``, checked; on update only those present."""
    fields = Fields(body)
    values = {}
    if creating or "name" in body:
        values["name"] = fields.string("name", max_length=255)
    if creating or "email" in body:
        values["email"] = fields.string("email", max_length=254, pattern=EMAIL,
                                        hint="must be an email address like name@example.com")
    if creating or "phone" in body:
        values["phone"] = fields.string("phone", required=False, max_length=32, pattern=PHONE,
                                        hint="may contain only digits, spaces and + ( ) - .")
    if creating or "address" in body:
        values["address"] = fields.string("address", required=False, max_length=500)
    return fields, values


def _user_info(user_id):
    """The user behind a profile, or None when the user service cannot say."""
    try:
        answer = service_client("user").request("GET", f"/api/users/{user_id}")
    except ApiError as error:
        current_app.logger.warning("user_info left out: %s", error.message)
        return None
    if answer.status_code != 200:
        return None
    return answer.json()


def _with_user_info(customer):
    return dict(customer, user_info=_user_info(customer["user_id"]))


def _owned_customer(customer_id):
    """:raise 404: no such profile. :raise 403: not the caller's (and the caller is no admin)."""
    customer = repository.find_customer(customer_id)
    if customer is None:
        raise ApiError(404, f"Customer {customer_id} was not found.")
    require_owner_or_admin(customer["user_id"])
    return customer


def _require_user_exists(user_id):
    """:raise 404: the user service does not know the user. :raise 503/504: it cannot say."""
    answer = service_client("user").request("GET", f"/api/users/{user_id}")
    if answer.status_code == 404:
        raise ApiError(404, f"User {user_id} was not found.")
    if answer.status_code != 200:
        current_app.logger.error("user service answered %s to a user check", answer.status_code)
        raise ApiError(503, "The user service could not confirm the user.")


@customers.post("")
@auth_required()
def create_customer():
    """Create the profile of ``userId``.

    :raise 400: invalid fields. :raise 403: another user's ``userId``.
    :raise 404: the user does not exist. :raise 409: the user has a profile, or the email is taken.
    """
    body = json_body()
    fields, values = _profile_fields(body, creating=True)
    user_id = fields.integer("userId", minimum=1, maximum=MAX_ID)
    fields.check()
    require_owner_or_admin(user_id)
    _require_user_exists(user_id)
    try:
        customer_id = repository.insert_customer(user_id, **values)
    except repository.ProfileExists:
        raise ApiError(409, f"User {user_id} already has a customer profile.", code="profile_exists")
    except repository.EmailTaken:
        raise ApiError(409, "The email is already used by another customer.", code="email_taken")
    customer = repository.find_customer(customer_id)
    return jsonify(message="Customer created successfully", customerId=customer_id, **customer), 201


@customers.get("")
@auth_required(ADMIN)
def list_customers():
    limit, offset = pagination()
    return list_response(repository.list_customers(limit, offset), repository.count_customers())


@customers.get("/<id:customer_id>")
@auth_required()
def get_customer(customer_id):
    return jsonify(_with_user_info(_owned_customer(customer_id)))


@customers.get("/user/<id:user_id>")
@auth_required()
def get_customer_by_user(user_id):
    """:raise 403: another user's profile. :raise 404: the user has no profile."""
    require_owner_or_admin(user_id)
    customer = repository.find_customer_by_user_id(user_id)
    if customer is None:
        raise ApiError(404, f"User {user_id} has no customer profile.")
    return jsonify(_with_user_info(customer))


@customers.put("/<id:customer_id>")
@auth_required()
def update_customer(customer_id):
    """Change name, email, phone or address; fields not sent stay, ``null`` clears phone or address.

    :raise 400: invalid fields or none to change. :raise 409: the email is taken.
    """
    _owned_customer(customer_id)
    body = json_body()
    fields, values = _profile_fields(body, creating=False)
    if not values:
        fields.add("body", "send at least one of name, email, phone, address")
    fields.check()
    try:
        repository.update_customer(customer_id, values)
    except repository.EmailTaken:
        raise ApiError(409, "The email is already used by another customer.", code="email_taken")
    return jsonify(message="Customer updated successfully", customer=repository.find_customer(customer_id))


@customers.delete("/<id:customer_id>")
@auth_required()
def delete_customer(customer_id):
    _owned_customer(customer_id)
    repository.delete_customer(customer_id)
    return jsonify(message="Customer deleted successfully", customerId=customer_id)


@internal.get("/<id:customer_id>")
@auth_required(SERVICE)
def get_customer_owner(customer_id):
    """``{id, user_id}`` of a profile, for the transaction service's ownership check."""
    customer = repository.find_customer(customer_id)
    if customer is None:
        raise ApiError(404, f"Customer {customer_id} was not found.")
    return jsonify(id=customer["id"], user_id=customer["user_id"])


@internal.delete("/user/<id:user_id>")
@auth_required(SERVICE)
def forget_user(user_id):
    """Delete a deleted user's profile. Idempotent: ``deleted`` is false when there was none
    (already erased, or never made), which is just as done for the caller's retries."""
    deleted = repository.delete_customer_by_user_id(user_id)
    return jsonify(user_id=user_id, deleted=deleted)
