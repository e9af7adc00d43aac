"""What the gateway and every service do to headers, paths, ids and JSON, without a database."""

import datetime
import re
from decimal import Decimal

import pytest
from flask import Flask
from werkzeug.datastructures import Headers

from api_gateway.proxy import NOT_FORWARDED, NOT_RETURNED, end_to_end, outward
from shop_common.app import ApiJSONProvider, IdConverter
from shop_common.observability import encoded_path
from shop_common.validation import Fields


def test_hop_by_hop_headers_and_those_named_by_connection_are_not_forwarded():
    headers = Headers(
        [
            ("Host", "gw"),
            ("Connection", "keep-alive, X-Secret"),
            ("Keep-Alive", "5"),
            ("X-Secret", "s"),
            ("Transfer-Encoding", "chunked"),
            ("Accept", "*/*"),
        ]
    )
    assert end_to_end(headers, NOT_FORWARDED) == [("Accept", "*/*")]


def test_a_header_sent_twice_comes_back_twice():
    headers = Headers([("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("Content-Length", "9")])
    assert end_to_end(headers, NOT_RETURNED) == [("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")]


def test_a_location_at_the_service_is_made_relative_to_the_gateway():
    service = "http://127.0.0.1:3003"
    headers = [
        ("Location", f"{service}/api/products/1"),
        ("Content-Location", service),
        ("X-Request-ID", "abc"),
        ("Location", "https://elsewhere.example/x"),
    ]
    assert outward(headers, service) == [
        ("Location", "/api/products/1"),
        ("Content-Location", "/"),
        ("X-Request-ID", "abc"),
        ("Location", "https://elsewhere.example/x"),
    ]


@pytest.mark.parametrize(
    "sent, logged",
    [
        ("/api/products/1%0Aforged", "/api/products/1%0Aforged"),
        ("/api/products/a%3Fb%23c", "/api/products/a%3Fb%23c"),
        ("/api/products/caf%C3%A9", "/api/products/caf%C3%A9"),
    ],
)
def test_the_path_is_encoded_again_so_it_cannot_forge_a_line_or_cut_itself_short(sent, logged):
    with Flask(__name__).test_request_context(sent):
        assert encoded_path() == logged


@pytest.mark.parametrize(
    "text, matches",
    [("1", True), ("42", True), ("0", False), ("01", False), ("-1", False), ("1e3", False), ("١", False)],
)
def test_ids_are_positive_integers_written_plainly(text, matches):
    assert bool(re.fullmatch(IdConverter.regex, text)) is matches


def test_money_and_times_are_written_as_the_api_promises():
    assert ApiJSONProvider.default(Decimal("19.90")) == "19.90"
    assert ApiJSONProvider.default(datetime.datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05Z"


def test_a_partial_body_reads_only_the_fields_it_sends():
    fields = Fields({"name": "Mug"}, partial=True)
    assert fields.sent("name") and not fields.sent("price")
    assert Fields({}, partial=False).sent("price")
