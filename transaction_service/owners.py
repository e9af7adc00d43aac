"""Who owns a customer profile: asked of the customer service, which owns profiles."""

from shop_common.errors import ApiError
from shop_common.http_client import service_client

from . import repository


def customer_owner(customer_id):
    """The user id owning ``customer_id``.

    :raise 404: no such customer. :raise 503, 504: the customer service cannot say.
    """
    owner = service_client("customer").fetch(
        f"/internal/customers/{customer_id}", f"Customer {customer_id} was not found."
    )
    return owner["user_id"]


def orders_owner(customer_id):
    """Whose orders of ``customer_id`` are: the profile's owner, or for a deleted profile the user
    recorded on its orders (they stay readable as financial records).

    :raise 404: neither the customer service nor the orders know the customer.
    """
    try:
        return customer_owner(customer_id)
    except ApiError as error:
        owner = repository.owner_of_customer_orders(customer_id) if error.status == 404 else None
        if owner is None:
            raise
        return owner
