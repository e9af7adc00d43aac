"""Ambiguous request framing (RFC 9112), over raw sockets, at the gateway and at every service.

Each process reads a request's head strictly (shop_common/http_framing.py): the
gateway and three services under gevent's pywsgi (llhttp reads the head), the
user service under gunicorn's gthread (gunicorn's parser reads it). A head that
two servers could frame two ways is answered 400 in the error shape and the
connection closed, so a second request smuggled behind it is never answered.
"""

import json
import socket

import pytest

from tests.e2e.test_http_edge import POSTED, SERVICES, port_of

# Sent behind every request on the same connection: answered only if the first left the connection open.
SMUGGLED = b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n"
# Each a whole request head (and body, as the sender means it), with the rule it breaks.
AMBIGUOUS = {
    "length-and-chunked": b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "chunked-and-length": b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
    "two-different-lengths": b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
    "two-equal-lengths": b"Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
    "length-list": b"Content-Length: 2, 3\r\n\r\n{}",
    "length-plus-sign": b"Content-Length: +2\r\n\r\n{}",
    "length-hex": b"Content-Length: 0x2\r\n\r\n{}",
    "length-not-digits": b"Content-Length: 2a\r\n\r\n{}",
    "length-arabic-digit": "Content-Length: ٢\r\n\r\n{}".encode(),
    "length-space-inside": b"Content-Length: 1 2\r\n\r\n{}",
    "space-before-colon": b"Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
    "space-before-colon-length": b"Content-Length : 2\r\n\r\n{}",
    "tab-before-colon": b"Content-Length\t: 2\r\n\r\n{}",
    "coding-gzip": b"Transfer-Encoding: gzip\r\n\r\n{}",
    "coding-gzip-chunked": b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    "coding-chunked-twice": b"Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
    "coding-two-headers": b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "coding-identity": b"Transfer-Encoding: identity\r\n\r\n",
    "coding-unknown": b"Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
}
NO_HOST = b"POST /health HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"
TWO_HOSTS = b"POST /health HTTP/1.1\r\nHost: test\r\nHost: other\r\nContent-Length: 2\r\n\r\n{}"
CHUNKED_IN_HTTP_1_0 = b"POST /health HTTP/1.0\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"


def converse(port, raw, timeout=10):
    """Send ``raw`` on one connection and read until the server closes it (or goes quiet for ``timeout``):
    (the answers as [(status, headers, body)], whether the server closed the connection)."""
    received, closed = b"", False
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        connection.sendall(raw)
        try:
            while chunk := connection.recv(65536):
                received += chunk
            closed = True
        except ConnectionResetError:
            closed = True
        except TimeoutError:  # still open
            closed = False
    return split_answers(received), closed


def split_answers(received):
    """The HTTP answers in ``received``, each framed by its Content-Length."""
    answers = []
    while received:
        head, _, rest = received.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {
            name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])
        }
        length = int(headers.get("content-length", 0))
        answers.append((int(lines[0].split()[1]), headers, rest[:length]))
        received = rest[length:]
    return answers


def assert_refused_alone(port, raw, reason=None):
    """``raw`` is answered 400 in the error shape, the connection closed, and nothing behind it answered."""
    answers, closed = converse(port, raw + SMUGGLED)
    assert len(answers) == 1, answers
    status, headers, body = answers[0]
    assert status == 400, (status, body)
    assert headers["content-type"] == "application/json" and headers.get("connection") == "close", headers
    document = json.loads(body)
    assert document["error"] == "bad_request" and document["message"], document
    if reason:
        assert reason in document["message"], document
    assert closed


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("fields", AMBIGUOUS.values(), ids=AMBIGUOUS.keys())
def test_ambiguous_body_framing_is_a_400_that_closes_the_connection(stack, service, fields):
    head = f"POST {POSTED[service]} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n".encode()
    assert_refused_alone(port_of(stack, service), head + fields)


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("raw", [NO_HOST, TWO_HOSTS], ids=["no-host", "two-hosts"])
def test_an_http_1_1_request_without_exactly_one_host_is_a_400(stack, service, raw):
    assert_refused_alone(port_of(stack, service), raw)


@pytest.mark.parametrize("service", SERVICES)
def test_the_refusal_names_the_missing_host(stack, service):
    assert_refused_alone(port_of(stack, service), NO_HOST, reason="exactly one Host")


@pytest.mark.parametrize("service", SERVICES)
def test_chunked_in_http_1_0_is_a_400(stack, service):
    assert_refused_alone(port_of(stack, service), CHUNKED_IN_HTTP_1_0)


@pytest.mark.parametrize("service", SERVICES)
def test_the_smuggled_request_is_served_when_the_first_is_framed_plainly(stack, service):
    """The control: the same two requests, the first unambiguous, are both answered on one connection."""
    plain = b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n"
    answers, _ = converse(port_of(stack, service), plain + SMUGGLED, timeout=3)
    assert [status for status, _, _ in answers] in ([200, 200], [503, 503]), answers


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize(
    "connection",
    [b"close, foo", b"foo, close", b"keep-alive, close", b"Close", b"foo\r\nConnection: close"],
    ids=["close-first", "close-last", "keep-alive-and-close", "capitals", "second-header"],
)
def test_close_among_the_connection_tokens_closes_the_connection(stack, service, connection):
    raw = b"GET /health HTTP/1.1\r\nHost: test\r\nConnection: " + connection + b"\r\n\r\n"
    answers, closed = converse(port_of(stack, service), raw + SMUGGLED)
    assert len(answers) == 1 and answers[0][0] in (200, 503), answers
    assert closed


@pytest.mark.parametrize("service", SERVICES)
def test_other_connection_tokens_keep_it_open(stack, service):
    raw = b"GET /health HTTP/1.1\r\nHost: test\r\nConnection: keep-alive, closed\r\n\r\n"
    answers, _ = converse(port_of(stack, service), raw + SMUGGLED, timeout=3)
    assert len(answers) == 2, answers


@pytest.mark.parametrize("service", ["gateway", "user"])
@pytest.mark.parametrize("coding", ["chunked", "Chunked"])
def test_a_chunked_body_alone_still_reaches_the_app(stack, service, coding):
    """Strict, not closed to what RFC 9112 allows: one Transfer-Encoding, chunked (in any case), is read.

    A login with an unknown name is a 401 only once its JSON body has been read whole.
    """
    body = b'{"username": "nobody-here", "password": "not-the-password"}'
    raw = (
        (
            f"POST /api/users/login HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            f"Transfer-Encoding: {coding}\r\n\r\n{len(body):x}\r\n"
        ).encode()
        + body
        + b"\r\n0\r\n\r\n"
    )
    answers, _ = converse(port_of(stack, service), raw + SMUGGLED, timeout=3)
    assert [status for status, _, _ in answers][:1] == [401], answers
    assert len(answers) == 2, "the connection stays open for the next request"
