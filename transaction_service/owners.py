"""Who owns a customer profile: asked of the customer service, which owns profiles.

An order needs two facts: who owns the profile, and that it still exists. The
owner never changes while the profile exists, and customer ids are never reused
(AUTO_INCREMENT), so each process keeps the owners it has been told
(:func:`known_customer_owner`) and asks the customer service only for a customer it has
not seen. Existence is not cached: before the customer service deletes a
profile it has this service record the deletion (``PUT
/internal/deleted-customers/<id>``, :func:`forget_customer`), and fails the
deletion if that cannot be done; the order's INSERT refuses a customer recorded
as deleted in the same statement (repository.insert_order). So every worker and
replica refuses a deleted profile's orders at once, whatever it has cached; an
order already being inserted when the deletion is recorded is finished first
(the INSERT's read locks the gap the record goes into), as an order placed just
before the deletion would be.
"""

from flask import current_app

from shop_common.errors import ApiError
from shop_common.http_client import service_client

from . import repository

# Owners kept per process: beyond this the oldest is dropped.
MAX_CACHED_OWNERS = 10_000


def ask_customer_owner(customer_id):
    """The user id owning ``customer_id``, asked of the customer service.

    :raise 404: no such customer. :raise 503, 504: the customer service cannot say.
    """
    owner = service_client("customer").fetch(
        f"/internal/customers/{customer_id}", f"Customer {customer_id} was not found."
    )
    return owner["user_id"]


def known_customer_owner(customer_id):
    """The user id owning ``customer_id``, from this process's cache when it has it.

    The order's INSERT still refuses a deleted customer (see above).

    :raise 404: no such customer. :raise 503, 504: the customer service cannot say.
    """
    owners = current_app.extensions.setdefault("customer_owners", {})
    if customer_id not in owners:
        if len(owners) >= MAX_CACHED_OWNERS:
            del owners[next(iter(owners))]
        owners[customer_id] = ask_customer_owner(customer_id)
    return owners[customer_id]


def forget_customer(customer_id):
    """Record that ``customer_id`` was deleted: no order is taken for it from now on, in any process."""
    repository.record_deleted_customer(customer_id)
    current_app.extensions.get("customer_owners", {}).pop(customer_id, None)


def owner_of_orders(customer_id):
    """Whose orders of ``customer_id`` are: the profile's owner, or for a deleted profile the user
    recorded on its orders (they stay readable as financial records).

    :raise 404: neither the customer service nor the orders know the customer.
    """
    try:
        return ask_customer_owner(customer_id)
    except ApiError as error:
        owner = repository.owner_of_customer_orders(customer_id) if error.status == 404 else None
        if owner is None:
            raise
        return owner
