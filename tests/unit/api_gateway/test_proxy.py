"""The relay's handling of an answer's headers: no URL of a service's internal address goes out."""
from api_gateway.proxy import outward

SERVICE = "http://127.0.0.1:3003"


def test_a_location_at_the_service_is_made_relative_to_the_gateway():
    headers = [("Location", f"{SERVICE}/api/products/1"), ("Content-Location", SERVICE),
               ("X-Request-ID", "abc"), ("Location", "https://elsewhere.example/x")]
    assert outward(headers, SERVICE) == [("Location", "/api/products/1"), ("Content-Location", "/"),
                                         ("X-Request-ID", "abc"), ("Location", "https://elsewhere.example/x")]
