"""``make bench``: CPU per request per process, throughput, latency and memory of the shop through its gateway.

A throw-away stack (bench/stack.py: the five services under gunicorn on free
ports of 127.0.0.1, their own databases, rate limits off, tuning as for
``make run-all``) is seeded (bench/seed.py: 100 products whose list is ~19.5 kB
like the original's, 32 customers, stock that cannot run out) and measured
through the gateway:

- ``GET /api/products/<id>`` and ``GET /api/products?limit=100``: wrk, 2 threads,
  32 connections; a status outside 2xx/3xx or a socket error is an error;
- a filtered, sorted catalog page (``?category=&minPrice=&inStock=true&sort=price&limit=20``,
  one index range read: docs/catalog.md): wrk as above;
- the same product read with a customer's token (the gateway checks it, and whether
  it was revoked), and ``GET /api/customers/<id>`` by its owner (checked at the
  gateway and again by the customer service): wrk as above;
- ``POST /api/transactions``, 2 lines of quantity 1: wrk, 2 threads, 16
  connections, with bench/orders.lua signing each request as the next customer;
  any status but 201 is an error;
- ``POST /api/checkout`` of a 2-line cart (bench/checkout.py: 16 Python clients, each its own
  customer, filling the cart untimed, then checking out with the sandbox's test card; any
  status but 201 is an error), beside the order row: the same reservation plus the payment;
- the mixed journey (bench/journey.py: product list, product, log in, order,
  read the order, cancel it) by 16 Python clients;
- memory: RSS and PSS of the five gunicorn masters and their workers, at idle
  after seeding and again after the load.
- the first two rows again with rate limits on, counted in Redis (the gateway restarted with
  limits no load here reaches), so their cost shows beside the same rows without.
- the revocation check's own CPU per request (bench/revocation_check.py: in this
  process, against the stack's Redis, with and without the check).

Each load row is warmed up, then measured, ``--runs`` times; with several runs
every figure is the median. Printed first is the CPU each row costs per request, per
process (every process of each service, MariaDB, Redis: from ``/proc`` around each
measured run), against the budgets of the rows that have one: on a shared, noisy
machine that figure moves far less than requests per second. Errors are counted in warm-ups too, and any error
makes the exit status 1. The table, beside the Express original's figures, is
printed and written to ``bench/results/<UTC time>.txt`` (git ignores those files).
The stack is stopped and its databases dropped however the run ends.

    python -m bench.run [--runs N] [--warmup-seconds S] [--seconds S] [--max-journeys N]

Defaults come from BENCH_RUNS (1), BENCH_WARMUP_SECONDS (5), BENCH_SECONDS (20)
and BENCH_MAX_JOURNEYS (20000, per run); the published figures use ``--runs 5``.
BENCH_ROWS (``--rows``) keeps only the rows whose name contains one of its
comma-separated words, for a quick before/after of one path.
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from shop_common.settings import PROJECT_ROOT, load_settings

from .checkout import run_checkouts
from .journey import run_journeys
from .measurement import Measurement, median_of
from .revocation_check import REQUESTS_PER_ROUND, ROUNDS, check_cost
from .seed import seed
from .stack import ADMIN_USERNAME, SERVERS, throwaway_stack
from .wrk import THREADS, require_wrk, run_wrk, wrk_version

RESULTS_DIR = Path(__file__).resolve().parent / "results"
ORDERS_SCRIPT = Path(__file__).resolve().parent / "orders.lua"
READ_CONNECTIONS = 32
ORDER_CONNECTIONS = 16
JOURNEY_CLIENTS = 16
# A catalog page a storefront asks for: one category, a price floor, in stock, cheapest first.
FILTERED_CATALOG_PAGE = "/api/products?category=kitchen&minPrice=5&inStock=true&sort=price&limit=20"
CHECKOUT_CLIENTS = 16
MIB = 1024 * 1024

# The Express original on the same kind of machine (2 cores, MariaDB local, load
# generator on the same cores), wrk 2 threads, 5 s warm-up then 20 s, medians of 5 runs.
ORIGINAL_PRODUCT = Measurement(per_second=2087, p50_ms=14.7, p99_ms=27.7, errors=0)
ORIGINAL_PRODUCT_LIST = Measurement(per_second=1387, p50_ms=22.4, p99_ms=35.0, errors=0)
ORIGINAL_ORDERS = Measurement(per_second=241, p50_ms=64, p99_ms=103, errors=0)
ORIGINAL_IDLE_MEMORY = "312 MB RSS, 141 MB PSS"

COLUMNS = "{:<68}{:>9}{:>9}{:>9}{:>8}  |{:>10}{:>9}{:>9}{:>13}"
# Where a request's CPU is spent: the services, then the servers; ALL is their sum.
ALL = "all"
CPU_COLUMNS = ("gateway", "user", "customer", "product", "transaction", *SERVERS, ALL)
CPU_LINE = "{:<68}" + "{:>12}" * len(CPU_COLUMNS) + "  {}"
# Rows measured again with rate limits on: the gateway counts each request in Redis, with limits
# no load of the benchmark reaches.
RATE_LIMITED = ", rate limits on (Redis)"
RATE_LIMITS = {"RATELIMIT_ENABLED": "true", "RATELIMIT_DEFAULT": "100000000 per minute"}


@dataclass(frozen=True)
class Row:
    """A line of the table: what is loaded, how (given a duration in seconds), the original's figures,
    and the budget of CPU per request in ms ({process or ALL: ms})."""

    name: str
    measure: Callable[[int], Measurement]
    original: Measurement | None = None
    budget: dict[str, float] = field(default_factory=dict)
    rate_limited: bool = False


@dataclass(frozen=True)
class Result:
    """A row's load figures and its CPU per request (or journey) in ms, per process."""

    load: Measurement
    cpu_ms: dict[str, float]


def main():
    options = _options()
    require_wrk()
    # SystemExit, unlike the default SIGTERM death, runs the finally blocks that stop the stack.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    started_at = datetime.now(UTC)
    load_average = os.getloadavg()
    lines = []

    def report(line=""):
        print(line, flush=True)
        lines.append(line)

    with throwaway_stack() as stack, tempfile.NamedTemporaryFile("w", prefix="bench-customers-") as customers_file:
        shop = seed(stack.gateway, ADMIN_USERNAME, stack.admin_password)
        customers_file.writelines(f"{customer.customer_id} {customer.token}\n" for customer in shop.customers)
        customers_file.flush()
        idle_memory = stack.memory_bytes()
        journey_failures = []
        rows = _selected(
            _rows(stack.gateway, shop, customers_file.name, options.max_journeys, journey_failures), options.rows
        )
        results, loaded_memory = _measure_rows(rows, options, stack)
        for line in _header(started_at, load_average, options, stack, shop):
            report(line)
        for line in _cpu_table(rows, results):
            report(line)
        for line in _load_table(rows, results):
            report(line)
        report(
            f"memory, five services, idle after seeding: {_memory(idle_memory)}   (original: {ORIGINAL_IDLE_MEMORY})"
        )
        report(f"memory, five services, idle after the load: {_memory(loaded_memory)}")
        report(_revocation_check_line(stack.environments["gateway"]))
        for failure in journey_failures:
            report(f"journey failure: {failure}")
        errors = sum(result.load.errors for result in results)

    RESULTS_DIR.mkdir(exist_ok=True)
    results_file = RESULTS_DIR / f"{started_at:%Y%m%dT%H%M%SZ}.txt"
    results_file.write_text("\n".join(lines) + "\n")
    print(f"\nwritten to {results_file.relative_to(PROJECT_ROOT)}")
    if errors:
        sys.exit(f"{errors} error(s): the figures do not count")


def _rows(gateway, shop, customers_file, max_journeys, journey_failures):
    """The rows of the table; the mixed journey adds the failures it saw to ``journey_failures``."""

    def measure_journeys(seconds):
        measurement, failures = run_journeys(gateway, shop, JOURNEY_CLIENTS, seconds, max_journeys)
        journey_failures.extend(failures)
        return measurement

    customer = shop.customers[0]
    customer_bearer = [f"Authorization: Bearer {customer.token}"]
    product_url = f"{gateway}/api/products/{shop.product_ids[0]}"
    rows = [
        Row(
            "GET /api/products/<id>",
            lambda seconds: run_wrk(product_url, READ_CONNECTIONS, seconds),
            ORIGINAL_PRODUCT,
            {"gateway": 0.30, "product": 0.25},
        ),
        Row(
            "GET /api/products/<id>, a customer's token",
            lambda seconds: run_wrk(product_url, READ_CONNECTIONS, seconds, headers=customer_bearer),
        ),
        Row(
            "GET /api/customers/<id>, its owner's token",
            lambda seconds: run_wrk(
                f"{gateway}/api/customers/{customer.customer_id}", READ_CONNECTIONS, seconds, headers=customer_bearer
            ),
        ),
        Row(
            f"GET /api/products?limit=100 ({shop.product_list_bytes / 1000:.1f} kB)",
            lambda seconds: run_wrk(f"{gateway}/api/products?limit=100", READ_CONNECTIONS, seconds),
            ORIGINAL_PRODUCT_LIST,
            {"gateway": 0.45, "product": 0.50},
        ),
        Row(
            "GET /api/products, filtered and sorted page of 20",
            lambda seconds: run_wrk(f"{gateway}{FILTERED_CATALOG_PAGE}", READ_CONNECTIONS, seconds),
        ),
        Row(
            f"POST /api/transactions, 2 lines, {ORDER_CONNECTIONS} clients",
            lambda seconds: run_wrk(
                f"{gateway}/api/transactions",
                ORDER_CONNECTIONS,
                seconds,
                ORDERS_SCRIPT,
                (customers_file, ",".join(map(str, shop.product_ids))),
            ),
            ORIGINAL_ORDERS,
            {ALL: 4.5},
        ),
        Row(
            f"POST /api/checkout, 2 lines, {CHECKOUT_CLIENTS} clients",
            lambda seconds: run_checkouts(gateway, shop, CHECKOUT_CLIENTS, seconds),
        ),
        Row(f"mixed journey (6 requests), {JOURNEY_CLIENTS} clients", measure_journeys),
    ]
    return rows + [replace(row, name=row.name + RATE_LIMITED, rate_limited=True) for row in rows[:2]]


def _measure_rows(rows, options, stack):
    """Each row's :class:`Result`, and the memory after the load (before the gateway restarts with rate limits)."""
    results, loaded_memory = [], None
    for row in rows:
        if row.rate_limited and loaded_memory is None:
            loaded_memory = stack.memory_bytes()
            redis = load_settings("gateway", stack.environments["gateway"])["REVOCATION_REDIS_URL"]
            stack.restart(
                "gateway", RATELIMIT_STORAGE_URI=redis, RATELIMIT_KEY_PREFIX=f"shopbench{os.getpid()}", **RATE_LIMITS
            )
        print(f"measuring {row.name}", flush=True)
        results.append(_measure(row, options, stack))
    return results, loaded_memory or stack.memory_bytes()


def _cpu_table(rows, results):
    """CPU per request (per journey for the journey), in ms, per process; then each budget, met or not."""
    yield "CPU per request, ms (user + system, from /proc: every process of each service, and the servers)"
    yield CPU_LINE.format("journey, through the gateway", *CPU_COLUMNS, "budget")
    for row, result in zip(rows, results, strict=True):
        figures = [f"{result.cpu_ms[name]:.3f}" if result.cpu_ms[name] >= 0.0005 else "-" for name in CPU_COLUMNS]
        yield CPU_LINE.format(row.name, *figures, _budget(row.budget, result.cpu_ms))
    yield ""


def _budget(budget, cpu_ms):
    """E.g. ``gateway ≤ 0.30 met, product ≤ 0.25 over by 0.04``."""
    return ", ".join(
        f"{name} ≤ {limit:.2f} " + ("met" if cpu_ms[name] <= limit else f"over by {cpu_ms[name] - limit:.2f}")
        for name, limit in budget.items()
    )


def _load_table(rows, results):
    yield COLUMNS.format(
        "journey, through the gateway",
        "per s",
        "p50 ms",
        "p99 ms",
        "errors",
        "original",
        "p50 ms",
        "p99 ms",
        "vs original",
    )
    for row, result in zip(rows, results, strict=True):
        yield _table_line(row, result.load)
    yield ""


def _revocation_check_line(environment):
    settings = load_settings("gateway", environment)
    added, base = check_cost(settings["REVOCATION_REDIS_URL"], settings["REVOCATION_KEY_PREFIX"] + "probe:")
    return (
        f"revocation check: +{added:.0f} µs of CPU per checked request in the checking process "
        f"({base:.0f} µs without it; medians of {ROUNDS} alternating rounds of {REQUESTS_PER_ROUND:,}); "
        "a request through the gateway to a protected route is checked twice"
    )


def _selected(rows, wanted):
    """The rows whose name contains one of the comma-separated words of ``wanted`` (all when empty)."""
    words = [word.strip() for word in wanted.split(",") if word.strip()]
    return [row for row in rows if not words or any(word in row.name for word in words)]


def _measure(row, options, stack):
    """Warm up, then measure, ``options.runs`` times: the medians, and the errors of every run and warm-up.

    CPU per request is read from ``/proc`` around each measured run (every process of each service,
    MariaDB and Redis, whatever else they served meanwhile: nothing else loads them).
    """
    runs, cpu_per_run, warm_up_errors = [], [], 0
    for _ in range(options.runs):
        warm_up_errors += row.measure(options.warmup_seconds).errors
        before = stack.cpu_seconds()
        run = row.measure(options.seconds)
        after = stack.cpu_seconds()
        runs.append(run)
        spent = {name: (after[name] - before[name]) * 1000 / max(run.completed, 1) for name in after}
        cpu_per_run.append({**spent, ALL: sum(spent.values())})
    result = median_of(runs)
    cpu_ms = {name: statistics.median(run[name] for run in cpu_per_run) for name in cpu_per_run[0]}
    return Result(replace(result, errors=result.errors + warm_up_errors), cpu_ms)


# The counts and durations: option, environment variable, default, meaning.
_COUNT_OPTIONS = (
    ("--runs", "BENCH_RUNS", "1", "measured runs per row; figures are their medians"),
    ("--warmup-seconds", "BENCH_WARMUP_SECONDS", "5", "load before each measured run, not counted"),
    ("--seconds", "BENCH_SECONDS", "20", "length of each measured run"),
    ("--max-journeys", "BENCH_MAX_JOURNEYS", "20000", "mixed journeys per run at most"),
)


def _options():
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    for option, variable, default, meaning in _COUNT_OPTIONS:
        value = int(os.environ.get(variable, default))
        parser.add_argument(option, type=int, default=value, help=f"{meaning} ({variable}, {default})")
    parser.add_argument(
        "--rows",
        default=os.environ.get("BENCH_ROWS", ""),
        help="only rows whose name contains one of these comma-separated words (BENCH_ROWS, all)",
    )
    options = parser.parse_args()
    if min(options.runs, options.warmup_seconds, options.seconds, options.max_journeys) < 1:
        parser.error("every count and duration must be at least 1")
    return options


def _header(started_at, load_average, options, stack, shop):
    yield f"shop benchmark, {started_at:%Y-%m-%d %H:%M:%S} UTC, commit {_commit()}"
    yield (
        f"machine: {os.cpu_count()} CPUs ({_cpu_model()}); load average before the run "
        f"(1, 5, 15 min): {' '.join(f'{load:.2f}' for load in load_average)}"
    )
    runs = "1 run" if options.runs == 1 else f"medians of {options.runs} runs"
    yield (
        f"load: {wrk_version()}, {THREADS} threads, on the same CPUs; each row {options.warmup_seconds} s "
        f"warm-up, then {options.seconds} s measured; {runs}"
    )
    yield (
        f"data: {len(shop.product_ids)} products (list {shop.product_list_bytes:,} bytes), "
        f"{len(shop.customers)} customers"
    )
    yield "services:"
    for service, settings in stack.tuning().items():
        yield f"  {service:<12} " + " ".join(f"{name}={value}" for name, value in settings.items())
    yield (
        "original: the Express version, 2 cores, MariaDB local, load generator on the same cores, "
        "wrk 2 threads, 5 s + 20 s, median of 5 runs"
    )
    yield ""


def _table_line(row, result):
    original = row.original
    return COLUMNS.format(
        row.name,
        _rate(result.per_second),
        f"{result.p50_ms:.1f}",
        f"{result.p99_ms:.1f}",
        result.errors,
        f"{original.per_second:,.0f}" if original else "-",
        f"{original.p50_ms:.1f}" if original else "-",
        f"{original.p99_ms:.1f}" if original else "-",
        f"{result.per_second / original.per_second:.2f}×" if original else "-",
    )


def _rate(per_second):
    return f"{per_second:,.0f}" if per_second >= 100 else f"{per_second:.1f}"


def _memory(rss_and_pss):
    rss, pss = rss_and_pss
    return f"{rss / MIB:.0f} MiB RSS, {pss / MIB:.0f} MiB PSS"


def _commit():
    answer = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False
    )
    return answer.stdout.strip() or "unknown"


def _cpu_model():
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown model"


if __name__ == "__main__":
    main()
