"""One strict reading of a request's head at every process (RFC 9112), the same under both workers.

A head two parsers can read two ways is how a request is smuggled past the
gateway: a front end frames the body by one header, the server behind it by
another, and the rest of the body is served as a second request. So the head
is read by a parser that refuses every such head, and what it leaves to the
server is checked here, once, for both workers (shop_common/gunicorn_worker.py, thread_worker.py):

- :func:`read_head` (the services on gevent's pywsgi, and the gateway) hands
  the head to llhttp, Node's HTTP parser, through httptools. It refuses a field
  name with whitespace before its colon or any byte outside a token, a
  Content-Length that is not one run of digits or comes twice, Content-Length
  beside Transfer-Encoding, a Transfer-Encoding whose last coding is not
  chunked, folded lines, a bare LF, a control byte in a value.
  gunicorn's own parser refuses the same under the user service (gthread).
- :func:`check_fields` then reads the framing fields either parser found: an
  HTTP/1.1 request has exactly one Host; the one Transfer-Encoding allowed is
  ``chunked``, alone and in HTTP/1.1; and ``Connection`` is a list of tokens,
  ``close`` among them closing the connection after the answer.

A refused head is answered 400 and the connection closed: nothing after an
ambiguous head on that connection can be framed, so nothing more is read.
"""

from collections.abc import Iterable

import httptools

# The fields that decide where a request ends and whether its connection stays open.
FRAMING_FIELDS = frozenset({"host", "content-length", "transfer-encoding", "connection"})
# An HTTP/1.1 request with no Host, or with two, names no one server (RFC 9112 §3.2).
HOST_RULE = "An HTTP/1.1 request has exactly one Host header."
LENGTH_RULE = "Content-Length is one number of bytes (digits only), sent once."
BOTH_RULE = "A request has Content-Length or Transfer-Encoding, never both."
CODING_RULE = "The one Transfer-Encoding accepted is chunked, alone, in HTTP/1.1."

Fields = Iterable[tuple[str, str]]


class FramingError(ValueError):
    """A head RFC 9112 says to answer 400 and close the connection after; the message says why."""


class HeadTooLarge(ValueError):
    """A head with too many fields or a line too long: 431, the connection closed."""


class _HeadReader:
    """llhttp's callbacks: every field of the head, names and values as latin-1 text (as http.client reads them)."""

    __slots__ = ("complete", "fields")

    def __init__(self) -> None:
        self.fields: list[tuple[str, str]] = []
        self.complete = False

    def on_header(self, name: bytes, value: bytes) -> None:
        self.fields.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        self.complete = True


def read_head(head: bytes) -> tuple[tuple[int, int], list[tuple[str, str]]]:
    """The HTTP version and the fields of ``head`` (request line to the empty line), read by llhttp.

    :raise FramingError: llhttp refused the head, or it ends before its empty line.
    """
    reader = _HeadReader()
    parser = httptools.HttpRequestParser(reader)
    try:
        parser.feed_data(head)
    except httptools.HttpParserUpgrade:
        pass  # CONNECT, or an Upgrade header: the head was read whole, and the app answers it
    except httptools.HttpParserError as error:
        raise FramingError(f"The request is malformed: {error}.") from error
    if not reader.complete:
        raise FramingError("The request's head ended before its empty line.")
    major, _, minor = parser.get_http_version().partition(".")
    return (int(major), int(minor)), reader.fields


def check_fields(version: tuple[int, int], fields: Fields) -> bool:
    """Whether the connection closes after the answer, once the framing fields pass the rules above.

    ``fields``: (name, value) in any case, as the parser read them; only the framing ones are looked at.

    :raise FramingError: the Host, Content-Length or Transfer-Encoding break a rule.
    """
    framing: dict[str, list[str]] = {}
    for name, value in fields:
        name = name.lower()
        if name in FRAMING_FIELDS:
            framing.setdefault(name, []).append(value)
    hosts = framing.get("host", [])
    if len(hosts) > 1 or (version >= (1, 1) and not hosts):
        raise FramingError(HOST_RULE)
    _check_body_framing(version, framing.get("content-length", []), framing.get("transfer-encoding", []))
    return _closes(version, framing.get("connection", []))


def _check_body_framing(version: tuple[int, int], lengths: list[str], codings: list[str]) -> None:
    if lengths and codings:
        raise FramingError(BOTH_RULE)
    if len(lengths) > 1 or not all(length.isascii() and length.isdigit() for length in lengths):
        raise FramingError(LENGTH_RULE)
    if codings and (version < (1, 1) or len(codings) > 1 or codings[0].strip(" \t").lower() != "chunked"):
        raise FramingError(CODING_RULE)


def _closes(version: tuple[int, int], connection: list[str]) -> bool:
    """``close`` among the tokens of every Connection header; HTTP/1.0 closes unless ``keep-alive`` is."""
    tokens = {token.strip(" \t").lower() for value in connection for token in value.split(",")}
    return "close" in tokens or (version < (1, 1) and "keep-alive" not in tokens)
