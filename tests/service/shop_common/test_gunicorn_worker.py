"""The services' gunicorn worker, run for real: pywsgi serves, and a silent connection is closed."""

import socket
import subprocess
import sys
import time

import pytest
import requests

from tests.support import free_port

KEEP_ALIVE_SECONDS = 1


LARGE_BODY = b"x" * (100 * 1024)  # over what the worker sends with the head
STREAMED = [b"one ", b"", b"two ", b"three"]


def hello(environ, start_response):
    """The app under the worker: a small body, none, a large one, or one streamed without a length."""
    path = environ["PATH_INFO"]
    if path == "/empty":
        start_response("204 No Content", [])
        return []
    if path == "/large":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(LARGE_BODY)))])
        return [LARGE_BODY]
    if path == "/streamed":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return iter(STREAMED)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
    return [b"hello"]


@pytest.fixture(scope="module")
def server():
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            f"{__name__}:hello",
            "--bind",
            f"127.0.0.1:{port}",
            "--worker-class",
            "shop_common.gunicorn_worker.PyWSGIWorker",
            "--keep-alive",
            str(KEEP_ALIVE_SECONDS),
            "--graceful-timeout",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(url, timeout=5)
            break
        except requests.RequestException:  # not listening yet, or the worker still booting on a busy machine
            assert time.monotonic() < deadline and process.poll() is None, "gunicorn did not start"
            time.sleep(0.1)
    yield port
    process.terminate()
    process.wait(timeout=10)


def connect(port):
    return socket.create_connection(("127.0.0.1", port), timeout=KEEP_ALIVE_SECONDS + 5)


def ask(connection):
    connection.sendall(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
    answer = b""
    while not answer.endswith(b"hello"):
        chunk = connection.recv(4096)
        assert chunk, f"closed after {answer!r}"
        answer += chunk
    return answer


def closed_after(connection):
    """Seconds until the server closes ``connection``, and what it sent before."""
    started, received = time.monotonic(), b""
    while chunk := connection.recv(4096):
        received += chunk
    return time.monotonic() - started, received


def test_a_connection_in_use_stays_open_past_the_keep_alive_time(server):
    with connect(server) as connection:
        for _ in range(4):
            assert ask(connection).startswith(b"HTTP/1.1 200")
            time.sleep(KEEP_ALIVE_SECONDS / 2)


def test_an_idle_connection_is_closed_after_the_keep_alive_time(server):
    with connect(server) as connection:
        ask(connection)
        seconds, received = closed_after(connection)
        assert KEEP_ALIVE_SECONDS * 0.8 <= seconds < KEEP_ALIVE_SECONDS + 2 and received == b""


def test_a_client_that_stops_half_way_through_its_request_is_closed_too(server):
    with connect(server) as connection:
        connection.sendall(b"GET / HTTP/1.1\r\nHost: te")
        seconds, received = closed_after(connection)
        assert seconds < KEEP_ALIVE_SECONDS + 2
        assert received == b"" or received.startswith(b"HTTP/1.1 400")


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [("/", 200, b"hello"), ("/empty", 204, b""), ("/large", 200, LARGE_BODY), ("/streamed", 200, b"".join(STREAMED))],
)
def test_every_shape_of_response_arrives_whole_with_its_head_sent_once(server, path, status, body):
    with requests.Session() as session:
        for _ in range(2):  # the second over the same connection: nothing of the first was left behind
            response = session.get(f"http://127.0.0.1:{server}{path}", timeout=5)
            assert (response.status_code, response.content) == (status, body)
            assert list(response.raw.headers).count("Content-Type") == (0 if status == 204 else 1)
