"""JSON errors for every status: ``{"error": "<code>", "message": "...", "fields"?: {...}}``.

Routes raise :class:`ApiError`; Werkzeug's HTTP exceptions (404, 405, 413, ...)
and anything unexpected are turned into the same shape here, so a client never
sees an HTML page or a traceback.
"""

import logging
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from flask import Flask, Response, jsonify
from gunicorn.http.errors import ParseException
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)
T = TypeVar("T")

ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    422: "unprocessable_entity",
    429: "rate_limited",
    431: "request_header_fields_too_large",
    500: "internal_error",
    503: "service_unavailable",
    504: "gateway_timeout",
}

# Headers of a Werkzeug exception worth keeping on the JSON response.
_KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")


class ApiError(Exception):
    """An error response: HTTP status, snake_case code, a sentence, optional field problems."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str | None = None,
        fields: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or ERROR_CODES.get(status, "error")
        self.message = message
        self.fields = fields
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return error_body(self.status, self.message, self.code, self.fields)


class ValidationError(ApiError):
    """400 with a ``fields`` map of what is wrong with each field."""

    def __init__(self, fields: Mapping[str, str], message: str = "Some fields are missing or invalid.") -> None:
        super().__init__(400, message, code="validation_error", fields=fields)


def found(row: T | None, message: str) -> T:
    """``row`` as it is, when there is one.

    :raise 404: ``row`` is None, with ``message``.
    """
    if row is None:
        raise ApiError(404, message)
    return row


def error_body(
    status: int, message: str, code: str | None = None, fields: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The error shape: ``{"error", "message", "fields"?}``."""
    body: dict[str, Any] = {"error": code or ERROR_CODES.get(status, "error"), "message": message}
    if fields:
        body["fields"] = fields
    return body


def error_response(
    status: int,
    message: str,
    code: str | None = None,
    fields: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    response = jsonify(error_body(status, message, code, fields))
    response.status_code = status
    response.headers.update(headers or {})
    return response


def init_app(app: Flask) -> None:
    app.register_error_handler(Exception, response_for_error)


def response_for_error(error: Exception) -> Response:
    """The JSON error for anything a request raised; needs an app context, not a request's.

    Flask's handler of every exception (its most specific handlers, flask-jwt-extended's, win
    over this one), and the gateway's forwarding below Flask (api_gateway/forwarding_wsgi.py).
    """
    if isinstance(error, ApiError):
        return error_response(error.status, error.message, error.code, error.fields, error.headers)
    if isinstance(error, HTTPException):
        kept = {name: value for name, value in error.get_headers() if name in _KEPT_HEADERS}
        # Flask returns an HTTPException without a code unhandled: here there is always one.
        return error_response(cast(int, error.code), _sentence(error), headers=kept)
    if isinstance(error, ParseException):
        # gunicorn's parser, reading a body the app asked for (a broken chunk): the client's fault.
        return error_response(400, "The request body is malformed.")
    log.exception("unhandled error")
    return error_response(500, "An unexpected error occurred.")


def _sentence(error: HTTPException) -> str:
    messages: dict[int | None, str] = {
        404: "The requested resource was not found.",
        405: "The method is not allowed for this resource.",
        413: "The request body is larger than 1 MiB.",
    }
    return messages.get(error.code) or error.description or error.name
