"""The pywsgi worker run for real: a response's head and body in one segment, and a fault the server
itself answers (the app raised, or gave a head it cannot send) a 500 in the error shape while no
head was sent, a closed connection after."""

import json
import socket
import subprocess
import sys

import pytest

from tests.support import free_port
from tools.stack import wait_until_ready


def faulty(environ, start_response):
    """The app under the worker: well, raising, a header value pywsgi refuses to send, or raising mid-body."""
    path = environ["PATH_INFO"]
    if path == "/raises":
        raise RuntimeError("the app failed")
    if path == "/bad-header":
        start_response("200 OK", [("Content-Type", "text/plain"), ("X-Split", "one\r\ntwo")])
        return [b"never"]
    if path == "/raises-mid-body":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return broken_body()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
    return [b"hello"]


def broken_body():
    yield b"first part "
    raise RuntimeError("the body failed")


@pytest.fixture(scope="module")
def server():
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            f"{__name__}:faulty",
            "--bind",
            f"127.0.0.1:{port}",
            "--worker-class",
            "shop_common.gunicorn_worker.PyWSGIWorker",
            "--graceful-timeout",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    assert wait_until_ready(f"http://127.0.0.1:{port}", lambda: process.poll() is None, 30), "gunicorn did not start"
    yield port
    process.terminate()
    process.wait(timeout=10)


def answer_to(port, path, raw=None):
    """Everything the server sends for ``path`` (or ``raw``) until it closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(raw or f"GET {path} HTTP/1.1\r\nHost: test\r\n\r\n".encode())
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    return received


def test_a_small_answer_arrives_in_one_read_head_and_body_together(server):
    """The socket is corked from start_response to the first body bytes: one segment, one wake-up."""
    with socket.create_connection(("127.0.0.1", server), timeout=10) as connection:
        for _ in range(20):
            connection.sendall(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
            received = connection.recv(65536)
            assert received.startswith(b"HTTP/1.1 200") and received.endswith(b"\r\n\r\nhello"), received


@pytest.mark.parametrize("path", ["/raises", "/bad-header"])
def test_a_fault_before_the_head_is_a_json_500_and_closes(server, path):
    head, _, body = answer_to(server, path).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 500"), head
    assert b"Content-Type: application/json" in head and b"Connection: close" in head, head
    assert json.loads(body) == {"error": "internal_error", "message": "An unexpected error occurred."}


def test_a_fault_of_an_app_that_left_a_broken_body_unread_is_still_a_json_500(server):
    """pywsgi reads the rest of the body after the app: a broken one would make its own empty 400."""
    raw = b"POST /raises HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n"
    head, _, body = answer_to(server, None, raw).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 500") and b"Content-Type: application/json" in head, head
    assert json.loads(body)["error"] == "internal_error"


def test_a_fault_after_the_head_closes_without_a_second_head(server):
    received = answer_to(server, "/raises-mid-body")
    assert received.startswith(b"HTTP/1.1 200") and received.count(b"HTTP/1.1") == 1, received
    assert b"first part" in received and b"internal_error" not in received, received
