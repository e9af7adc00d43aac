"""Forgetting a deleted user's customer profile, which lives in the customer service.

Deleting a user writes a row in ``profile_erasures`` in the same commit (an
outbox), then asks the customer service at once. Until the customer service
confirms (the profile deleted, or there was none) the row stays and the call is
retried: by the sweeper thread every ``ERASURE_SWEEP_SECONDS`` and by
``flask --app user_service forget-deleted`` (``make forget``). So a customer
service that is down at the time only delays the erasure. The sweeper also
deletes refresh tokens past their expiry.
"""

import logging

from shop_common.errors import ApiError

from . import repository, sessions

log = logging.getLogger(__name__)


def delete_user(user_id):
    """Delete the account with its erasure queued and its tokens ended, then try the erasure.

    True when the profile is already erased, False when it is left to the retries.

    :raise 404: no such user. :raise 503: the revocation store cannot be reached (nothing is deleted).
    """
    if not sessions.delete_user(user_id):
        raise ApiError(404, f"User {user_id} was not found.")
    return erase_profile(user_id)


def erase_profile(user_id):
    """Ask the customer service to delete the user's profile; True once it is gone.

    The HTTP client is imported here, at the first erasure a process makes: it brings gevent and
    geventhttpclient (4.9 MiB of the service's PSS, master and worker: docs/performance.md), and
    this is the service's only call to another.
    """
    from shop_common.http_client import service_client

    try:
        response = service_client("customer").request_ok("DELETE", f"/internal/customers/user/{user_id}")
    except ApiError as error:
        return _failed(user_id, error.message)
    repository.finish_erasure(user_id)
    log.info(
        "customer profile of deleted user %s %s",
        user_id,
        "erased" if response.json().get("deleted") else "already gone",
    )
    return True


def _failed(user_id, reason):
    repository.note_erasure_failure(user_id, reason)
    log.warning("customer profile of deleted user %s not erased yet (%s); will retry", user_id, reason)
    return False


def sweep():
    """Retry every erasure still pending and drop expired refresh tokens; the number erased."""
    erased = sum(erase_profile(user_id) for user_id in repository.pending_erasures())
    repository.delete_expired_refresh_tokens()
    return erased
