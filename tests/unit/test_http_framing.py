"""The one reading of a request's head (shop_common/http_framing.py), without a server.

The raw-socket tests at every process are tests/e2e/test_http_framing.py; these
pin each rule to its reason, and keep llhttp's refusals in view if httptools changes.
"""

import pytest

from shop_common.http_framing import (
    BOTH_RULE,
    CODING_RULE,
    HOST_RULE,
    LENGTH_RULE,
    FramingError,
    check_fields,
    read_head,
)

HTTP_1_1 = (1, 1)
HTTP_1_0 = (1, 0)


def head(*fields, line=b"POST /api/products HTTP/1.1"):
    return b"\r\n".join([line, *fields]) + b"\r\n\r\n"


def test_a_plain_head_gives_its_version_and_every_field_in_order():
    version, fields = read_head(head(b"Host: shop", b"Content-Length: 2", b"X-Caf: caf\xe9"))
    assert version == HTTP_1_1
    assert fields == [("Host", "shop"), ("Content-Length", "2"), ("X-Caf", "café")]


@pytest.mark.parametrize(
    "fields",
    [
        (b"Host: shop", b"Content-Length: 2", b"Transfer-Encoding: chunked"),
        (b"Host: shop", b"Transfer-Encoding: chunked", b"Content-Length: 2"),
        (b"Host: shop", b"Content-Length: 2", b"Content-Length: 3"),
        (b"Host: shop", b"Content-Length: 2", b"Content-Length: 2"),
        (b"Host: shop", b"Content-Length: 2, 3"),
        (b"Host: shop", b"Content-Length: +2"),
        (b"Host: shop", b"Content-Length: -2"),
        (b"Host: shop", b"Content-Length: 0x2"),
        (b"Host: shop", "Content-Length: ٢".encode()),
        (b"Host: shop", b"Content-Length: 99999999999999999999999"),
        (b"Host: shop", b"Transfer-Encoding : chunked"),
        (b"Host: shop", b"Content-Length\t: 2"),
        (b"Host: shop", b"Transfer-Encoding: gzip"),
        (b"Host: shop", b"Transfer-Encoding: chunked, gzip"),
        (b"Host: shop", b"Transfer-Encoding: chunked", b"Transfer-Encoding: chunked"),
        (b"Host: shop", b"X-Folded: one", b" two"),
        (b"Host: shop", b"X-Nul: a\x00b"),
        (b"Host: shop", b"No colon here"),
    ],
    ids=[
        "length-then-chunked",
        "chunked-then-length",
        "two-lengths",
        "two-equal-lengths",
        "length-list",
        "plus-sign",
        "minus-sign",
        "hex-length",
        "arabic-digit",
        "length-overflow",
        "space-before-colon",
        "tab-before-colon",
        "gzip",
        "chunked-not-last",
        "chunked-twice",
        "folded",
        "nul-in-value",
        "no-colon",
    ],
)
def test_llhttp_refuses_an_ambiguous_or_malformed_head(fields):
    with pytest.raises(FramingError, match="malformed"):
        read_head(head(*fields))


def test_a_head_cut_short_is_refused():
    with pytest.raises(FramingError, match="empty line"):
        read_head(b"GET / HTTP/1.1\r\nHost: shop\r\n")


def test_connect_is_read_whole_for_the_app_to_answer():
    version, fields = read_head(head(b"Host: shop", line=b"CONNECT shop:443 HTTP/1.1"))
    assert (version, fields) == (HTTP_1_1, [("Host", "shop")])


@pytest.mark.parametrize(
    ("version", "fields", "rule"),
    [
        (HTTP_1_1, [], HOST_RULE),
        (HTTP_1_1, [("Host", "a"), ("HOST", "b")], HOST_RULE),
        (HTTP_1_0, [("host", "a"), ("host", "a")], HOST_RULE),
        (HTTP_1_1, [("Host", "a"), ("Content-Length", "2"), ("Transfer-Encoding", "chunked")], BOTH_RULE),
        (HTTP_1_1, [("Host", "a"), ("Content-Length", "2"), ("Content-Length", "2")], LENGTH_RULE),
        (HTTP_1_1, [("Host", "a"), ("Content-Length", "²")], LENGTH_RULE),
        (HTTP_1_1, [("Host", "a"), ("Content-Length", "")], LENGTH_RULE),
        (HTTP_1_1, [("Host", "a"), ("Transfer-Encoding", "gzip, chunked")], CODING_RULE),
        (HTTP_1_1, [("Host", "a"), ("Transfer-Encoding", "identity")], CODING_RULE),
        (HTTP_1_1, [("Host", "a"), ("Transfer-Encoding", "chunked"), ("Transfer-Encoding", "chunked")], CODING_RULE),
        (HTTP_1_0, [("Transfer-Encoding", "chunked")], CODING_RULE),
    ],
)
def test_the_framing_rules_left_to_the_server(version, fields, rule):
    """Names in any case: gunicorn's parser gives them in capitals, llhttp as sent."""
    with pytest.raises(FramingError) as refused:
        check_fields(version, fields)
    assert str(refused.value) == rule


@pytest.mark.parametrize(
    ("version", "connection", "closes"),
    [
        (HTTP_1_1, [], False),
        (HTTP_1_1, ["keep-alive"], False),
        (HTTP_1_1, ["close"], True),
        (HTTP_1_1, ["close, foo"], True),
        (HTTP_1_1, ["foo ,\tClose"], True),
        (HTTP_1_1, ["foo", "close"], True),
        (HTTP_1_1, ["closed, keep-alive"], False),
        (HTTP_1_0, [], True),
        (HTTP_1_0, ["keep-alive"], False),
        (HTTP_1_0, ["Keep-Alive, close"], True),
    ],
)
def test_connection_is_a_list_of_tokens(version, connection, closes):
    fields = [("Host", "shop"), *(("Connection", value) for value in connection)]
    assert check_fields(version, fields) is closes


@pytest.mark.parametrize("coding", ["chunked", "Chunked", " chunked "])
def test_chunked_alone_passes(coding):
    assert check_fields(HTTP_1_1, [("HOST", "shop"), ("TRANSFER-ENCODING", coding)]) is False


def test_http_1_0_needs_no_host():
    assert check_fields(HTTP_1_0, [("Content-Length", "0")]) is True
