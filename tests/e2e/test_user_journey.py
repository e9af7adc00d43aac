"""Register, log in and read oneself through the gateway, against the real processes (tests/journeys.py)."""

from tests.journeys import (  # noqa: F401
    test_errors_through_the_gateway_are_json,
    test_every_service_and_the_gateway_report_healthy,
    test_no_password_or_hash_in_any_log,
    test_register_login_and_read_oneself,
    test_the_bootstrapped_admin_lists_users,
    test_the_gateway_refuses_a_protected_route_without_a_token_before_forwarding,
)
