"""The Express original, run by hand beside the stack (docs/performance.md says how), measured in the same run.

``--original URL`` (``ORIGINAL_URL``) is its gateway; its user, customer, product and transaction
services listen on the four ports after the gateway's, in that order, as its own ``.env`` files
have them (3000-3004). It is seeded through its own API as the stack is (bench/seed.py): the same
100 products and 32 customers, each with a user and a phone (without one its customer service
crashed), stock that cannot run out. It has no authentication, so no token. Its list answers every
product whatever ``?limit`` says, so its databases should hold only the benchmark's: those already
there (found by name and e-mail) are used again, and a second run adds none.
"""

import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from . import processes
from .seed import CUSTOMER_COUNT, CUSTOMER_PASSWORD, PRODUCT_COUNT, customer_username, expect, product_fields
from .stack import servers_cpu_seconds

# The original's processes in the order of their ports, from the gateway's on (our names for them).
ORIGINAL_SERVICES = ("gateway", "user", "customer", "product", "transaction")
REQUEST_TIMEOUT_SECONDS = 30
# Orders still in flight when wrk stops are finished by the original: its stock is read after them.
SETTLE_SECONDS = 1.0


@dataclass(frozen=True)
class OriginalShop:
    """The original's seeded data; ``product_count`` is how many products its list answers."""

    url: str
    product_ids: list
    customer_ids: list
    product_count: int
    product_list_bytes: int


@dataclass
class StockCount:
    """Stock decrements the original's orders should have made, and those it made."""

    expected: int = 0
    done: int = 0


def seed_original(url):
    """Create the products and customers the original lacks; return all their ids.

    :raise RuntimeError: a request did not get the status it should.
    :raise requests.ConnectionError: nothing answers at ``url``.
    """
    with requests.Session() as session:
        named = {product["name"]: product["id"] for product in _get(session, f"{url}/api/products")}
        product_ids = [
            named.get(fields["name"]) or _create_product(session, url, fields)
            for fields in map(product_fields, range(1, PRODUCT_COUNT + 1))
        ]
        by_email = {customer["email"]: customer["id"] for customer in _get(session, f"{url}/api/customers")}
        customer_ids = [
            by_email.get(_email(number)) or _create_customer(session, url, number)
            for number in range(1, CUSTOMER_COUNT + 1)
        ]
        product_list = expect(
            session.get(f"{url}/api/products?limit={PRODUCT_COUNT}", timeout=REQUEST_TIMEOUT_SECONDS), 200
        )
    return OriginalShop(url, product_ids, customer_ids, len(product_list.json()), len(product_list.content))


def counting_stock(shop, run_orders, lines_per_order, stock_count):
    """``run_orders`` (seconds → Measurement), adding to ``stock_count`` what each call should have taken
    from the stock (``lines_per_order`` of quantity 1 per order answered 201) and what it took.

    The orders in flight when wrk stops (one per connection at most) are made but never answered, so
    they count as taken and not as expected: the loss is understated by that much.
    """

    def measure(seconds):
        before = stock_left(shop)
        measurement = run_orders(seconds)
        time.sleep(SETTLE_SECONDS)
        stock_count.done += before - stock_left(shop)
        stock_count.expected += lines_per_order * (measurement.completed - measurement.errors)
        return measurement

    return measure


def stock_left(shop):
    """The stock of the seeded products, added up, as the original's list answers it."""
    with requests.Session() as session:
        stocks = {product["id"]: product["stock"] for product in _get(session, f"{shop.url}/api/products")}
    return sum(stocks[product_id] for product_id in shop.product_ids)


class OriginalProcesses:
    """The original's five processes, found by the ports they listen on, with their children."""

    def __init__(self, url):
        gateway_port = urlsplit(url).port or 80
        self.ports = {service: gateway_port + offset for offset, service in enumerate(ORIGINAL_SERVICES)}

    def cpu_seconds(self):
        """CPU seconds (user + system) used so far by each service's processes, and by MariaDB and Redis."""
        everyone = processes.all_processes()
        used = {service: sum(map(processes.cpu_seconds, pids)) for service, pids in self._trees(everyone).items()}
        return used | servers_cpu_seconds(everyone)

    def memory_bytes(self):
        """(RSS, PSS) in bytes of all the original's processes, and how many they are."""
        pids = [pid for tree in self._trees(processes.all_processes()).values() for pid in tree]
        return (*processes.memory_bytes(pids), len(pids))

    def missing(self):
        """``{service: port}`` of the services nothing listens for."""
        return {service: port for service, port in self.ports.items() if not processes.listening_pids(port)}

    def _trees(self, everyone):
        """``{service: [pid, ...]}``: the processes listening on each port and their descendants."""
        return {
            service: [
                pid for listener in processes.listening_pids(port) for pid in processes.process_tree(listener, everyone)
            ]
            for service, port in self.ports.items()
        }


@dataclass(frozen=True)
class Original:
    """The original as a run measures it: its data, its processes, the file of its customers for
    bench/orders.lua (no tokens), and the stock count of its orders."""

    shop: OriginalShop
    processes: OriginalProcesses
    customers_file: str
    stock: StockCount


@contextmanager
def original_beside(url):
    """Yield the :class:`Original` at ``url``, checked and seeded (None when ``url`` is empty).

    :raise SystemExit: one of its processes is not listening, or it does not answer as it should.
    """
    if not url:
        yield None
        return
    original_processes = OriginalProcesses(url)
    missing = original_processes.missing()
    if missing:
        sys.exit(
            f"the original at {url}: nothing listens for "
            + ", ".join(f"{name} on :{port}" for name, port in missing.items())
        )
    try:
        shop = seed_original(url)
    except (requests.RequestException, RuntimeError) as error:
        sys.exit(f"the original at {url} could not be seeded: {error}")
    with tempfile.NamedTemporaryFile("w", prefix="bench-original-customers-") as customers_file:
        customers_file.writelines(f"{customer_id}\n" for customer_id in shop.customer_ids)
        customers_file.flush()
        yield Original(shop, original_processes, customers_file.name, StockCount())


def _email(number):
    return f"{customer_username(number)}@example.com"


def _create_product(session, url, fields):
    """The product of ``fields``, with no image: without ``imageUrl`` at all the original answers 500."""
    response = session.post(f"{url}/api/products", json={**fields, "imageUrl": None}, timeout=REQUEST_TIMEOUT_SECONDS)
    return expect(response, 201).json()["productId"]


def _create_customer(session, url, number):
    """A user (registered, or found by logging in when an earlier run registered it) and its profile."""
    username = customer_username(number)
    credentials = {"username": username, "password": CUSTOMER_PASSWORD}
    login = session.post(f"{url}/api/users/login", json=credentials, timeout=REQUEST_TIMEOUT_SECONDS)
    if login.status_code == 200:
        user_id = login.json()["user"]["id"]
    else:
        registered = session.post(f"{url}/api/users/register", json=credentials, timeout=REQUEST_TIMEOUT_SECONDS)
        user_id = expect(registered, 201).json()["userId"]
    profile = {
        "userId": user_id,
        "name": f"Bench Customer {number}",
        "email": _email(number),
        "phone": f"+1555{number:07d}",
        "address": f"{number} Bench Street",
    }
    response = session.post(f"{url}/api/customers", json=profile, timeout=REQUEST_TIMEOUT_SECONDS)
    return expect(response, 201).json()["customerId"]


def _get(session, url):
    return expect(session.get(url, timeout=REQUEST_TIMEOUT_SECONDS), 200).json()
