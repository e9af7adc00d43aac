"""The client's pool: a connection reused whatever its descriptor number, no call waiting for one, idle ones capped."""

import resource
import socket
import ssl
import subprocess
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import gevent
import pytest
from flask import Flask

from shop_common import http_client
from shop_common.errors import ApiError
from shop_common.http_client import ServiceClient
from tests.support import send_answer

CALLS_AT_ONCE = 300
HOLD = 1.0


class Counting(BaseHTTPRequestHandler):
    """Answers ``ok`` (``/hold`` after HOLD seconds); counts connections made, open, and requests in hand at once.

    Each server has a subclass of its own: a connection left open by an earlier test ends on its own time.
    """

    protocol_version = "HTTP/1.1"

    def setup(self):
        with self.lock:
            type(self).accepted += 1
            type(self).open_now += 1
        super().setup()

    def finish(self):
        super().finish()
        with self.lock:
            type(self).open_now -= 1

    def do_GET(self):
        with self.lock:
            type(self).in_hand += 1
            type(self).most_in_hand = max(self.most_in_hand, self.in_hand)
        if self.path == "/hold":
            time.sleep(HOLD)
        with self.lock:
            type(self).in_hand -= 1
        send_answer(self, 200, b"ok", [])

    def log_message(self, *args):
        pass


@contextmanager
def counting_server(tls=None):
    """The URL of a new server (over TLS with the context ``tls``) and its handler class, whose attributes count."""

    class Server(ThreadingHTTPServer):
        request_queue_size = 1024  # every call at once is queued, none refused by a full backlog

    class Counts(Counting):
        lock = threading.Lock()
        accepted = open_now = in_hand = most_in_hand = 0

    server = Server(("127.0.0.1", 0), Counts)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", Counts
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def descriptors_held(count):
    """``count`` more open sockets in this process, the limit raised for them if it must be."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = count + 512
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))
    held = [socket.socket() for _ in range(count)]
    try:
        yield
    finally:
        for sock in held:
            sock.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_connection_with_a_descriptor_over_1023_is_reused():
    with counting_server() as (url, counts), descriptors_held(1100), Flask(__name__).test_request_context():
        client = ServiceClient("probe", url, 1, 1, record_metrics=False)
        assert client.forward("GET", "/", b"", {}).data == b"ok"
        high = socket.socket()
        assert high.fileno() > 1024  # the pool's socket, made before it, is as high
        high.close()
        assert client.forward("GET", "/", b"", {}).data == b"ok"
    assert counts.accepted == 1


def test_calls_beyond_the_idle_cap_are_made_at_once_and_the_extra_connections_closed():
    with counting_server() as (url, counts):
        client = ServiceClient("probe", url, 1, HOLD * 5, record_metrics=False)
        app = Flask(__name__)

        def call():
            with app.test_request_context():
                return client.forward("GET", "/hold", b"", {}).data

        started = time.monotonic()
        calls = [gevent.spawn(call) for _ in range(CALLS_AT_ONCE)]
        gevent.joinall(calls, raise_error=True)
        took = time.monotonic() - started
        assert [each.value for each in calls] == [b"ok"] * CALLS_AT_ONCE
        assert counts.most_in_hand == CALLS_AT_ONCE and took < HOLD * 1.8
        deadline = time.monotonic() + 2
        while counts.open_now > client.idle_kept and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)  # and no more close
        assert counts.open_now == client.idle_kept == 64


@pytest.fixture
def certificate(tmp_path):
    """A self-signed certificate for localhost and its key in one PEM file, made for this test by openssl."""
    pem = tmp_path / "localhost.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost", "-keyout", pem, "-out", tmp_path / "certificate.pem"],
        check=True, capture_output=True,
    )  # fmt: skip
    pem.write_bytes(pem.read_bytes() + (tmp_path / "certificate.pem").read_bytes())
    return str(pem)


def test_an_https_service_is_called_over_tls_with_its_certificate_checked(monkeypatch, certificate):
    """A provider over https: a certificate nobody vouches for is refused, a trusted one carries every call."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate)
    with counting_server(context) as (url, counts), Flask(__name__).test_request_context():
        url = url.replace("http://127.0.0.1", "https://localhost")
        with pytest.raises(ApiError) as untrusted:
            ServiceClient("provider", url, 1, 1, record_metrics=False).forward("GET", "/", b"", {})
        assert untrusted.value.status == 503
        monkeypatch.setattr(http_client, "_CA_FILE", certificate)
        client = ServiceClient("provider", url, 1, 1, record_metrics=False)
        assert [client.forward("GET", "/", b"", {}).data for _ in range(3)] == [b"ok"] * 3
    assert counts.accepted == 1  # one connection for the three calls (refused handshakes never reach the handler)
