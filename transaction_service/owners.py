"""Who owns a customer profile: asked of the customer service, which owns profiles."""
from shop_common.http_client import service_client


def customer_owner(customer_id):
    """The user id owning ``customer_id``.

    :raise 404: no such customer. :raise 503, 504: the customer service cannot say.
    """
    owner = service_client("customer").fetch(f"/internal/customers/{customer_id}",
                                              f"Customer {customer_id} was not found.")
    return owner["user_id"]
