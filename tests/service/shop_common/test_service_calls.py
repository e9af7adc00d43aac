"""A call to another service: JSON out, the response back as sent, failures as 503 and 504, no cookies kept."""

import gzip
import json
import socketserver
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from flask import Flask

from shop_common.errors import ApiError
from shop_common.http_client import ServiceClient
from tests.support import TEST_JWT_SECRET, free_port, send_answer

GZIPPED = gzip.compress(b'{"kept": "as sent"}')


class Echo(BaseHTTPRequestHandler):
    """Answers what it received; ``/slow`` answers after a second; every answer sets a cookie.

    ``GET`` answers a gzipped body.
    """

    protocol_version = "HTTP/1.1"

    def do_GET(self):
        send_answer(self, 200, GZIPPED, [("Content-Type", "application/json"), ("Content-Encoding", "gzip")])

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


def test_a_body_comes_back_as_sent_never_decoded(echo_url, app_context):
    response = ServiceClient("echo", echo_url, 1, 0.5, record_metrics=False).request("GET", "/", signed=False)
    assert response.data == GZIPPED and response.headers["Content-Encoding"] == "gzip"


def test_a_refused_connection_is_tried_three_times_within_a_fifth_of_a_second(app_context):
    stopped = ServiceClient("echo", f"http://127.0.0.1:{free_port()}", 1, 0.5, record_metrics=False)
    started = time.monotonic()
    with pytest.raises(ApiError) as refused:
        stopped.request("GET", "/", signed=False)
    assert refused.value.status == 503 and 0.1 <= time.monotonic() - started < 0.2


class Silent(socketserver.BaseRequestHandler):
    """Reads the request and never answers; counts the connections."""

    connections = 0

    def handle(self):
        type(self).connections += 1
        self.request.recv(65536)
        time.sleep(1)


def test_a_read_timeout_is_504_and_never_retried(app_context):
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Silent)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client = ServiceClient("silent", f"http://127.0.0.1:{server.server_address[1]}", 1, 0.2, record_metrics=False)
    try:
        for method in ("GET", "POST"):
            with pytest.raises(ApiError) as slow:
                client.request(method, "/", json={}, signed=False)
            assert slow.value.status == 504
    finally:
        server.shutdown()
        server.server_close()
    assert Silent.connections == 2


def test_one_client_serves_calls_from_several_threads_at_once(echo_url):
    """The user service's threaded worker: each OS thread has its own pool, and every call comes back whole."""
    client = ServiceClient("echo", echo_url, 1, 1, record_metrics=False)
    app = Flask(__name__)

    def calls(_):
        with app.test_request_context():
            return [client.request("GET", "/", signed=False).data for _ in range(20)]

    with ThreadPoolExecutor(max_workers=4) as threads:
        answers = [data for batch in threads.map(calls, range(8)) for data in batch]
    assert answers == [GZIPPED] * 160
