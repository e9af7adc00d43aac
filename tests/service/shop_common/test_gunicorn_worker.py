"""The services' gunicorn workers, run for real: pywsgi serves, a silent connection is closed, and
both worker kinds (pywsgi and gthread) read a request's head by the same strict rules."""

import socket
import subprocess
import sys
import time

import pytest
import requests

from tests.support import free_port
from tools.stack import wait_until_ready

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
    yield from served_by("PyWSGIWorker")


@pytest.fixture(scope="module", params=["PyWSGIWorker", "ThreadWorker"])
def either_server(request):
    yield from served_by(request.param)


def served_by(worker_class):
    """The port of ``hello`` under gunicorn with ``worker_class`` of shop_common/gunicorn_worker.py."""
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
            f"shop_common.gunicorn_worker.{worker_class}",
            "--keep-alive",
            str(KEEP_ALIVE_SECONDS),
            "--graceful-timeout",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    assert wait_until_ready(url, lambda: process.poll() is None, 30), "gunicorn did not start"
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


FOLLOWING = b"GET / HTTP/1.1\r\nHost: test\r\n\r\n"


@pytest.mark.parametrize(
    "raw",
    [
        b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nContent-Length: 5\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: +0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
        b"GET / HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: t\r\nHost: u\r\n\r\n",
    ],
    ids=[
        "length-and-chunked",
        "two-lengths",
        "plus-sign",
        "space-before-colon",
        "gzip-chunked",
        "unknown-coding",
        "no-host",
        "two-hosts",
    ],
)
def test_either_worker_refuses_ambiguous_framing_and_closes(either_server, raw):
    with connect(either_server) as connection:
        connection.sendall(raw + FOLLOWING)
        seconds, received = closed_after(connection)
    assert received.startswith(b"HTTP/1.1 400") and b"hello" not in received, "the request behind it unanswered"
    assert b"Content-Type: application/json" in received and received.endswith(b"}"), received
    assert seconds < KEEP_ALIVE_SECONDS, "closed at once, not after the keep-alive time"


def test_either_worker_closes_on_close_among_the_connection_tokens(either_server):
    with connect(either_server) as connection:
        connection.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: keep-alive, close\r\n\r\n" + FOLLOWING)
        seconds, received = closed_after(connection)
    assert received.startswith(b"HTTP/1.1 200") and received.count(b"hello") == 1, received
    assert seconds < KEEP_ALIVE_SECONDS


def test_either_worker_serves_two_plain_requests_on_one_connection_and_names_no_software(either_server):
    with connect(either_server) as connection:
        for _ in range(2):
            answer = ask(connection)
            assert answer.startswith(b"HTTP/1.1 200"), answer
            assert b"gunicorn" not in answer.lower() and b"gevent" not in answer.lower(), answer
