"""Routes of the customer service: ``/api/customers`` and the internal owner look-up.

| route | who |
|---|---|
| POST /api/customers | a user for their own ``userId``, or admin |
| GET/PUT/DELETE /api/customers/<id>, GET /api/customers/user/<userId> | the owning user, or admin |
| GET /api/customers | admin (the list has no ``user_info``: one call per row would not scale) |
| GET /internal/customers/<id> | services only; not forwarded by the gateway |
| DELETE /internal/customers/user/<userId> | services only: the user service forgetting a deleted user |

A profile is deleted only once the transaction service has recorded the
deletion, so no order is taken for it from then on (transaction_service/owners.py);
when it cannot be told, the deletion is 503 and the profile stays.

Single reads add ``user_info``, fetched from the user service with this
service's token. When the user service is down or slow the profile is still
returned, with ``user_info: null``. ``userId`` cannot be changed by PUT.
"""

import re

from flask import Blueprint, current_app, jsonify

from shop_common.auth import ADMIN, SERVICE, auth_required, require_owner_or_admin
from shop_common.db import conflict_on_duplicate
from shop_common.errors import ApiError, found
from shop_common.http_client import service_client
from shop_common.validation import MAX_ID, TEXT_LAYOUT, Fields, json_body, list_response, pagination

from . import repository

customers = Blueprint("customers", __name__, url_prefix="/api/customers")
internal = Blueprint("internal_customers", __name__, url_prefix="/internal/customers")

# Deliberately loose: one @, no spaces, a dot in the domain. Deliverability is the mail's job.
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
PHONE = re.compile(r"[0-9+()\-. ]{3,32}")


# The rules of each profile column (Fields.string), in the order its problems are listed.
_PROFILE_RULES = {
    "name": {"max_length": 255},
    "email": {"max_length": 254, "pattern": EMAIL, "hint": "must be an email address like name@example.com"},
    "phone": {
        "required": False,
        "max_length": 32,
        "pattern": PHONE,
        "hint": "may contain only digits, spaces and + ( ) - .",
    },
    "address": {"required": False, "max_length": 500, "allowed_controls": TEXT_LAYOUT},
}


def _profile_fields(body, partial):
    """The profile columns of ``body``, checked; on a partial update only those sent."""
    fields = Fields(body, partial)
    values = {name: fields.string(name, **rules) for name, rules in _PROFILE_RULES.items() if fields.sent(name)}
    return fields, values


def _profile_conflicts(user_id):
    """The 409s of a profile a unique key refuses, for :func:`conflict_on_duplicate`."""
    return {
        repository.USER_ID_KEY: ("profile_exists", f"User {user_id} already has a customer profile."),
        repository.EMAIL_KEY: ("email_taken", "The email is already used by another customer."),
    }


def _user_info(user_id):
    """The user behind a profile, or None when the user service cannot say."""
    try:
        return service_client("user").request_ok("GET", f"/api/users/{user_id}").json()
    except ApiError as error:
        current_app.logger.warning("user_info left out: %s", error.message)
        return None


def _with_user_info(customer):
    return dict(customer, user_info=_user_info(customer["user_id"]))


def _owned_customer(customer_id):
    """:raise 404: no such profile. :raise 403: not the caller's (and the caller is no admin)."""
    customer = _customer_or_404(customer_id)
    require_owner_or_admin(customer["user_id"])
    return customer


def _customer_or_404(customer_id):
    return found(repository.find_customer(customer_id), f"Customer {customer_id} was not found.")


def _delete_profile(customer_id):
    """Delete a profile after the transaction service has recorded it, so it takes no order from then on.

    Should the DELETE itself fail after that, the profile stays but takes no order
    (failing closed) until a retry deletes it.

    :raise 503, 504: the transaction service could not record it; nothing is deleted.
    """
    service_client("transaction").request_ok("PUT", f"/internal/deleted-customers/{customer_id}")
    return repository.delete_customer(customer_id)


def _require_user_exists(user_id):
    """:raise 404: the user service does not know the user. :raise 503/504: it cannot say."""
    service_client("user").fetch(f"/api/users/{user_id}", f"User {user_id} was not found.")


@customers.post("")
@auth_required()
def create_customer():
    """Create the profile of ``userId``.

    :raise 400: invalid fields. :raise 403: another user's ``userId``.
    :raise 404: the user does not exist. :raise 409: the user has a profile, or the email is taken.
    """
    body = json_body()
    fields, values = _profile_fields(body, partial=False)
    user_id = fields.integer("userId", minimum=1, maximum=MAX_ID)
    fields.check()
    require_owner_or_admin(user_id)
    _require_user_exists(user_id)
    with conflict_on_duplicate(_profile_conflicts(user_id)):
        customer_id = repository.insert_customer(user_id, **values)
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
    customer = found(repository.find_customer_by_user_id(user_id), f"User {user_id} has no customer profile.")
    return jsonify(_with_user_info(customer))


@customers.put("/<id:customer_id>")
@auth_required()
def update_customer(customer_id):
    """Change name, email, phone or address; fields not sent stay, ``null`` clears phone or address.

    :raise 400: invalid fields or none to change. :raise 409: the email is taken.
    """
    customer = _owned_customer(customer_id)
    fields, values = _profile_fields(json_body(), partial=True)
    if not values:
        fields.add("body", "send at least one of name, email, phone, address")
    fields.check()
    with conflict_on_duplicate(_profile_conflicts(customer["user_id"])):
        repository.update_customer(customer_id, values)
    return jsonify(message="Customer updated successfully", customer=repository.find_customer(customer_id))


@customers.delete("/<id:customer_id>")
@auth_required()
def delete_customer(customer_id):
    """:raise 503, 504: the transaction service could not be told; the profile stays."""
    _owned_customer(customer_id)
    _delete_profile(customer_id)
    return jsonify(message="Customer deleted successfully", customerId=customer_id)


@internal.get("/<id:customer_id>")
@auth_required(SERVICE)
def get_customer_owner(customer_id):
    """``{id, user_id}`` of a profile, for the transaction service's ownership check."""
    customer = _customer_or_404(customer_id)
    return jsonify(id=customer["id"], user_id=customer["user_id"])


@internal.delete("/user/<id:user_id>")
@auth_required(SERVICE)
def forget_user(user_id):
    """Delete a deleted user's profile. Idempotent: ``deleted`` is false when there was none
    (already erased, or never made), which is just as done for the caller's retries.

    :raise 503, 504: the transaction service could not be told; the profile stays (the caller retries).
    """
    customer = repository.find_customer_by_user_id(user_id)
    deleted = customer is not None and _delete_profile(customer["id"])
    return jsonify(user_id=user_id, deleted=deleted)
