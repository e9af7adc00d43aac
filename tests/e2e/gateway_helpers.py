"""What the gateway tests share: a gateway process of a test's own, bad tokens, error checks."""

import uuid
from contextlib import contextmanager

from tests.support import free_port, signed_token
from tools import stack as launcher

MIB = 1024 * 1024


@contextmanager
def own_gateway(stack, run_dir, **settings):
    """A gateway process on a free port with the stack's settings changed by ``settings``; yields its URL.

    It is ready when ``/`` answers (its ``/health`` may be 503 on purpose).
    """
    environment = dict(stack.environments["gateway"], PORT=str(free_port()), **settings)
    url = f"http://127.0.0.1:{environment['PORT']}"
    launcher.start_service("gateway", environment, run_dir)
    try:
        if not launcher.wait_until_ready(url + "/", timeout=20):
            raise RuntimeError("the gateway did not start:\n" + gateway_log(run_dir)[-3000:])
        yield url
    finally:
        launcher.stop_service("gateway", run_dir)


def gateway_log(run_dir):
    return launcher.log_file(run_dir, "gateway").read_text(errors="replace")


BAD_TOKENS = {
    "forged": lambda: signed_token(key="not-the-secret-but-just-as-long-0123456789abcdef"),
    "alg_none": lambda: signed_token(key=None, algorithm="none"),
    "expired": lambda: signed_token(lifetime=-60),
}


def request_id(tag):
    return f"{tag}-{uuid.uuid4().hex}"


def assert_json_error(response, status, code):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json"), response.headers
    body = response.json()
    assert body["error"] == code and isinstance(body["message"], str) and body["message"], body
    return body
