"""A call to another service: JSON out, a ``requests.Response`` back, failures as 503 and 504, no cookies kept."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from flask import Flask

from shop_common.errors import ApiError
from shop_common.http_client import ServiceClient
from tests.support import TEST_JWT_SECRET, free_port, send_answer


class Echo(BaseHTTPRequestHandler):
    """Answers what it received; ``/slow`` answers after a second; every answer sets a cookie."""

    protocol_version = "HTTP/1.1"

    def do_POST(self):
        if self.path == "/slow":
            time.sleep(1)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        answer = json.dumps(
            {"body": json.loads(body), "type": self.headers["Content-Type"], "cookie": self.headers["Cookie"]}
        ).encode()
        send_answer(self, 409, answer, [("Content-Type", "application/json"), ("Set-Cookie", "session=one-user-only")])

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def echo_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def app_context():
    app = Flask(__name__)
    app.config.update(JWT_SECRET_KEY=TEST_JWT_SECRET, SERVICE_NAME="probe")
    with app.test_request_context():
        yield


def test_json_goes_out_and_the_answer_comes_back(echo_url, app_context):
    client = ServiceClient("echo", echo_url, 1, 0.5, record_metrics=False)
    for _ in range(2):
        response = client.request("POST", "/", json={"price": "1.50", "name": "Tee"}, signed=False)
        assert response.status == 409 and response.headers["content-type"] == "application/json"
        assert response.json() == {"body": {"price": "1.50", "name": "Tee"}, "type": "application/json", "cookie": None}


def test_a_slow_service_is_504_and_a_stopped_one_503(echo_url, app_context):
    with pytest.raises(ApiError) as slow:
        ServiceClient("echo", echo_url, 1, 0.2, record_metrics=False).request("POST", "/slow", json={}, signed=False)
    assert slow.value.status == 504
    stopped = ServiceClient("echo", f"http://127.0.0.1:{free_port()}", 1, 0.5, record_metrics=False)
    with pytest.raises(ApiError) as refused:
        stopped.request("POST", "/", json={}, signed=False)
    assert refused.value.status == 503
