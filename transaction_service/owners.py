"""Who owns a customer profile: asked of the customer service, which owns profiles."""
import logging

from shop_common.errors import ApiError
from shop_common.http_client import service_client

log = logging.getLogger(__name__)


def customer_owner(customer_id):
    """The user id owning ``customer_id``.

    :raise 404: no such customer. :raise 503, 504: the customer service cannot say.
    """
    response = service_client("customer").request("GET", f"/internal/customers/{customer_id}")
    if response.status_code == 404:
        raise ApiError(404, f"Customer {customer_id} was not found.")
    if response.status_code != 200:
        log.error("customer service answered %s to an owner look-up", response.status_code)
        raise ApiError(503, "The customer service could not confirm the customer.")
    return response.json()["user_id"]
