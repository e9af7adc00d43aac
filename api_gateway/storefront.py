"""The storefront and admin console: static pages the gateway serves, which use only the public API.

``GET /`` answers a browser (``Accept`` preferring ``text/html``) with the storefront's page and
every other client with the gateway's JSON description, as before (README, "The storefront").
The files live in ``api_gateway/storefront/`` and load nothing from elsewhere. Every answer
carries a Content-Security-Policy that allows scripts, styles and calls from this origin only:
no inline script, no ``eval``, no framing.
"""

from flask import Blueprint, request, send_from_directory

from .rate_limits import limiter

ASSETS = "storefront"
storefront = Blueprint("storefront", __name__, static_folder=None)

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def wants_page():
    """Whether the client of ``GET /`` prefers HTML (a browser) to JSON (an API client, curl)."""
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"


def page():
    """The storefront's one HTML page; the script in it routes by the URL's fragment (``#/cart``)."""
    return with_page_headers(send_from_directory(storefront.root_path + "/" + ASSETS, "index.html"))


@storefront.get("/storefront/<path:filename>")
@limiter.exempt
def asset(filename):
    """A script, style sheet or image of the storefront.

    :raise 404: no such file (a JSON 404, as everywhere).
    """
    return with_page_headers(send_from_directory(storefront.root_path + "/" + ASSETS, filename))


def with_page_headers(response):
    response.headers.update(PAGE_HEADERS)
    return response
