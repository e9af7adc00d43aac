"""Stock reservation metrics (``/metrics`` of the product service).

``shop_stock_reservations_total{event}``: ``held`` (a reservation made, not a
repeated call for one already held), ``refused`` (not enough stock), and
``released`` (a hold given back by this call).
"""

from prometheus_client import Counter

RESERVATIONS = Counter("shop_stock_reservations_total", "Stock reservations held, refused and released.", ["event"])


def reservation(event):
    RESERVATIONS.labels(event).inc()
