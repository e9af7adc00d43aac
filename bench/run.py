"""``make bench``: CPU per request per process, throughput, latency and memory of the shop through its gateway.

A throw-away stack (bench/stack.py: the services under gunicorn on free
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
- memory: RSS and PSS of the gunicorn masters and their workers (those of the five services the
  original has, then all, then each process of the five), at idle after seeding and again after the load.
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

The original's figures are measured in the same run when ``--original URL`` (``ORIGINAL_URL``)
names its gateway, run by hand beside the stack (bench/original.py; docs/performance.md says
how): seeded through its own API as ours is, its rows (read by id, page of 100, orders) load ours
and then it the same way, run by run; its CPU per request, per process, and its memory (its five
processes, found by the ports they listen on, and their children) are read from ``/proc`` as
ours are, and the stock its orders lost is counted (it reads stock, then writes it back). Its
errors are shown, not counted in the exit status. Without it, the table shows the figures of an
earlier run of the original, labelled as such.

    python -m bench.run [--runs N] [--warmup-seconds S] [--seconds S] [--max-journeys N] [--original URL]

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

from shop_common.settings import PROJECT_ROOT, SERVICES, load_settings

from .checkout import run_checkouts
from .journey import run_journeys
from .measurement import Measurement, median_of
from .original import ORIGINAL_SERVICES, counting_stock, original_beside
from .revocation_check import REQUESTS_PER_ROUND, ROUNDS, check_cost
from .seed import seed
from .stack import ADMIN_USERNAME, SERVERS, throwaway_stack
from .wrk import THREADS, require_wrk, run_wrk, wrk_version

RESULTS_DIR = Path(__file__).resolve().parent / "results"
ORDERS_SCRIPT = Path(__file__).resolve().parent / "orders.lua"
READ_CONNECTIONS = 32
ORDER_CONNECTIONS = 16
# Lines of quantity 1 in each order of bench/orders.lua.
ORDER_LINES = 2
JOURNEY_CLIENTS = 16
# A catalog page a storefront asks for: one category, a price floor, in stock, cheapest first.
FILTERED_CATALOG_PAGE = "/api/products?category=kitchen&minPrice=5&inStock=true&sort=price&limit=20"
CHECKOUT_CLIENTS = 16
MIB = 1024 * 1024

# The Express original's figures from an earlier run on the same kind of machine (2 cores, MariaDB
# local, load generator on the same cores), wrk 2 threads, 5 s warm-up then 20 s, medians of 5 runs:
# shown when it is not measured beside the stack (no --original).
ORIGINAL_PRODUCT = Measurement(per_second=2087, p50_ms=14.7, p99_ms=27.7, errors=0)
ORIGINAL_PRODUCT_LIST = Measurement(per_second=1387, p50_ms=22.4, p99_ms=35.0, errors=0)
ORIGINAL_ORDERS = Measurement(per_second=241, p50_ms=64, p99_ms=103, errors=0)
ORIGINAL_IDLE_MEMORY = "312 MB RSS, 141 MB PSS"
EARLIER_FIGURES = "an earlier run's figures, not measured in this run"

COLUMNS = "{:<68}{:>9}{:>9}{:>9}{:>8}  |{:>10}{:>9}{:>9}{:>8}{:>13}"
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
    """A line of the table: what is loaded, how (given a duration in seconds), the original's earlier
    figures, the budget of CPU per request in ms ({process or ALL: ms}), and how the same load is put
    on the original when it is measured beside the stack."""

    name: str
    measure: Callable[[int], Measurement]
    original: Measurement | None = None
    budget: dict[str, float] = field(default_factory=dict)
    rate_limited: bool = False
    measure_original: Callable[[int], Measurement] | None = None


@dataclass(frozen=True)
class Result:
    """A row's load figures and its CPU per request (or journey) in ms, per process; the original's, when measured."""

    load: Measurement
    cpu_ms: dict[str, float]
    original: "Result | None" = None


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

    with (
        original_beside(options.original) as original,
        throwaway_stack() as stack,
        tempfile.NamedTemporaryFile("w", prefix="bench-customers-") as customers_file,
    ):
        shop = seed(stack.gateway, ADMIN_USERNAME, stack.admin_password)
        customers_file.writelines(f"{customer.customer_id} {customer.token}\n" for customer in shop.customers)
        customers_file.flush()
        idle_memory = _memories(stack, original)
        journey_failures = []
        rows = _selected(
            _rows(stack.gateway, shop, customers_file.name, options.max_journeys, journey_failures, original),
            options.rows,
        )
        results, loaded_memory = _measure_rows(rows, options, stack, original)
        for line in _header(started_at, load_average, options, stack, shop, original):
            report(line)
        for line in _cpu_table(rows, results):
            report(line)
        for line in _load_table(rows, results, measured_beside=original is not None):
            report(line)
        for line in _memory_lines(idle_memory, loaded_memory, original):
            report(line)
        if original and original.stock.expected:
            report(_stock_line(original.stock))
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


def _rows(gateway, shop, customers_file, max_journeys, journey_failures, original):
    """The rows of the table; the mixed journey adds the failures it saw to ``journey_failures``.

    With ``original`` (an :class:`~bench.original.Original`), its three rows load it too.
    """

    def measure_journeys(seconds):
        measurement, failures = run_journeys(gateway, shop, JOURNEY_CLIENTS, seconds, max_journeys)
        journey_failures.extend(failures)
        return measurement

    customer = shop.customers[0]
    customer_bearer = [f"Authorization: Bearer {customer.token}"]
    theirs = original.shop if original else None
    rows = [
        Row(
            "GET /api/products/<id>",
            _product_read(gateway, shop.product_ids[0]),
            ORIGINAL_PRODUCT,
            {"gateway": 0.30, "product": 0.25},
            measure_original=theirs and _product_read(theirs.url, theirs.product_ids[0]),
        ),
        Row(
            "GET /api/products/<id>, a customer's token",
            _product_read(gateway, shop.product_ids[0], customer_bearer),
        ),
        Row(
            "GET /api/customers/<id>, its owner's token",
            lambda seconds: run_wrk(
                f"{gateway}/api/customers/{customer.customer_id}", READ_CONNECTIONS, seconds, headers=customer_bearer
            ),
        ),
        Row(
            f"GET /api/products?limit=100 ({shop.product_list_bytes / 1000:.1f} kB)",
            _product_page(gateway),
            ORIGINAL_PRODUCT_LIST,
            {"gateway": 0.45, "product": 0.50},
            measure_original=theirs and _product_page(theirs.url),
        ),
        Row(
            "GET /api/products, filtered and sorted page of 20",
            lambda seconds: run_wrk(f"{gateway}{FILTERED_CATALOG_PAGE}", READ_CONNECTIONS, seconds),
        ),
        Row(
            f"POST /api/transactions, {ORDER_LINES} lines, {ORDER_CONNECTIONS} clients",
            _orders(gateway, customers_file, shop.product_ids),
            ORIGINAL_ORDERS,
            {ALL: 4.5},
            measure_original=original
            and counting_stock(
                theirs, _orders(theirs.url, original.customers_file, theirs.product_ids), ORDER_LINES, original.stock
            ),
        ),
        Row(
            f"POST /api/checkout, 2 lines, {CHECKOUT_CLIENTS} clients",
            lambda seconds: run_checkouts(gateway, shop, CHECKOUT_CLIENTS, seconds),
        ),
        Row(f"mixed journey (6 requests), {JOURNEY_CLIENTS} clients", measure_journeys),
    ]
    # The rate-limited rows are ours alone: the original had no limits.
    return rows + [
        replace(row, name=row.name + RATE_LIMITED, rate_limited=True, measure_original=None) for row in rows[:2]
    ]


def _product_read(url, product_id, headers=()):
    return lambda seconds: run_wrk(f"{url}/api/products/{product_id}", READ_CONNECTIONS, seconds, headers=headers)


def _product_page(url):
    return lambda seconds: run_wrk(f"{url}/api/products?limit=100", READ_CONNECTIONS, seconds)


def _orders(url, customers_file, product_ids):
    """Orders of ``ORDER_LINES`` lines by bench/orders.lua, each as the next customer of ``customers_file``."""
    return lambda seconds: run_wrk(
        f"{url}/api/transactions",
        ORDER_CONNECTIONS,
        seconds,
        ORDERS_SCRIPT,
        (customers_file, ",".join(map(str, product_ids))),
    )


def _measure_rows(rows, options, stack, original):
    """Each row's :class:`Result`, and the memory after the load (before the gateway restarts with rate limits)."""
    results, loaded_memory = [], None
    for row in rows:
        if row.rate_limited and loaded_memory is None:
            loaded_memory = _memories(stack, original)
            redis = load_settings("gateway", stack.environments["gateway"])["REVOCATION_REDIS_URL"]
            stack.restart(
                "gateway", RATELIMIT_STORAGE_URI=redis, RATELIMIT_KEY_PREFIX=f"shopbench{os.getpid()}", **RATE_LIMITS
            )
        print(f"measuring {row.name}", flush=True)
        results.append(_measure(row, options, stack, original))
    return results, loaded_memory or _memories(stack, original)


def _cpu_table(rows, results):
    """CPU per request (per journey for the journey), in ms, per process; then each budget, met or not.

    A row measured on the original too is followed by the original's line.
    """
    yield "CPU per request, ms (user + system, from /proc: every process of each service, and the servers)"
    yield CPU_LINE.format("journey, through the gateway", *CPU_COLUMNS, "budget")
    for row, result in zip(rows, results, strict=True):
        yield CPU_LINE.format(row.name, *_cpu_figures(result.cpu_ms), _budget(row.budget, result.cpu_ms))
        if result.original:
            yield CPU_LINE.format("  the original", *_cpu_figures(result.original.cpu_ms), "")
    yield ""


def _cpu_figures(cpu_ms):
    return [f"{cpu_ms[name]:.3f}" if cpu_ms[name] >= 0.0005 else "-" for name in CPU_COLUMNS]


def _budget(budget, cpu_ms):
    """E.g. ``gateway ≤ 0.30 met, product ≤ 0.25 over by 0.04``."""
    return ", ".join(
        f"{name} ≤ {limit:.2f} " + ("met" if cpu_ms[name] <= limit else f"over by {cpu_ms[name] - limit:.2f}")
        for name, limit in budget.items()
    )


def _load_table(rows, results, measured_beside):
    """Throughput and latency of each row, beside the original's: measured in this run when ``measured_beside``,
    else its earlier figures."""
    yield "the original: " + ("measured in this run, in turn with ours" if measured_beside else EARLIER_FIGURES)
    yield COLUMNS.format(
        "journey, through the gateway",
        "per s",
        "p50 ms",
        "p99 ms",
        "errors",
        "original",
        "p50 ms",
        "p99 ms",
        "errors",
        "vs original",
    )
    for row, result in zip(rows, results, strict=True):
        measured = result.original.load if result.original else None
        yield _table_line(row.name, result.load, measured if measured_beside else row.original, measured_beside)
    yield ""


def _memory_lines(idle, loaded, original):
    """Memory idle after seeding and after the load: ours (the five services the original has, then all;
    then each process of the five), and the original's when it is measured beside, else its earlier figure.

    ``idle`` and ``loaded``: (ours, a :class:`~bench.stack.ProcessMemory` per process; the original's or None).
    """
    for moment, (ours, theirs) in (("idle after seeding", idle), ("idle after the load", loaded)):
        five = [process for process in ours if process.service in ORIGINAL_SERVICES]
        yield (
            f"memory, {moment}: the five services the original has too, {_memory(five)}; "
            f"all {len(SERVICES)}, {_memory(ours)}"
        )
        for process in five:
            yield f"  {process.service} {process.role}: {_memory([process])}"
        if original:
            rss, pss, count = theirs
            yield f"  the original, {moment}: {_memory_bytes((rss, pss))} ({count} processes, measured in this run)"
        elif moment == "idle after seeding":
            yield f"  the original, idle: {ORIGINAL_IDLE_MEMORY} ({EARLIER_FIGURES})"


def _memories(stack, original):
    """(a :class:`~bench.stack.ProcessMemory` per process of ours, the original's (RSS, PSS, processes) or None)."""
    return stack.process_memory(), original.processes.memory_bytes() if original else None


def _stock_line(stock):
    lost = stock.expected - stock.done
    return (
        f"the original's orders: {stock.expected:,} stock decrements expected ({ORDER_LINES} per order answered "
        f"201, warm-ups included), {stock.done:,} made: {lost:,} lost ({lost / stock.expected:.0%})"
    )


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


def _measure(row, options, stack, original):
    """Warm up, then measure, ``options.runs`` times, ours and then (with ``original``, on the rows it has)
    the original's in turn: the medians, and the errors of every run and warm-up."""
    ours, theirs = [], []
    for _ in range(options.runs):
        ours.append(_measure_once(row.measure, options, stack.cpu_seconds))
        if original and row.measure_original:
            theirs.append(_measure_once(row.measure_original, options, original.processes.cpu_seconds))
    return replace(_median_result(ours), original=_median_result(theirs) if theirs else None)


def _measure_once(measure, options, cpu_seconds):
    """A warm-up and a measured run: the run's :class:`Result`, with the warm-up's errors added.

    CPU per request is read from ``/proc`` around the measured run (``cpu_seconds``: every process of
    each service, MariaDB and Redis, whatever else they served meanwhile: nothing else loads them).
    """
    warm_up_errors = measure(options.warmup_seconds).errors
    before = cpu_seconds()
    run = measure(options.seconds)
    after = cpu_seconds()
    spent = {name: (after[name] - before[name]) * 1000 / max(run.completed, 1) for name in after}
    return Result(replace(run, errors=run.errors + warm_up_errors), {**spent, ALL: sum(spent.values())})


def _median_result(results):
    cpu_ms = {name: statistics.median(result.cpu_ms[name] for result in results) for name in results[0].cpu_ms}
    return Result(median_of([result.load for result in results]), cpu_ms)


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
    parser.add_argument(
        "--original",
        metavar="URL",
        default=os.environ.get("ORIGINAL_URL", ""),
        help="the Express original's gateway, run by hand, to measure beside the stack (ORIGINAL_URL, none)",
    )
    options = parser.parse_args()
    if min(options.runs, options.warmup_seconds, options.seconds, options.max_journeys) < 1:
        parser.error("every count and duration must be at least 1")
    return options


def _header(started_at, load_average, options, stack, shop, original):
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
    if original:
        theirs = original.shop
        yield (
            f"original: the Express version at {theirs.url}, measured in this run: each of its rows loads ours, "
            "then the original the same way (wrk parameters, warm-up, seconds), run by run"
        )
        yield "  its processes: " + ", ".join(f"{name} :{port}" for name, port in original.processes.ports.items())
        yield (
            f"  its data: {theirs.product_count} products (list {theirs.product_list_bytes:,} bytes), "
            f"{len(theirs.customer_ids)} customers"
        )
    else:
        yield (
            "original: not run here (no ORIGINAL_URL): the figures of an earlier run of the Express version, "
            "2 cores, MariaDB local, load generator on the same cores, wrk 2 threads, 5 s + 20 s, median of 5 runs"
        )
    yield ""


def _table_line(name, ours, original, measured_beside):
    """Our figures, then the original's (its errors only when measured in this run) and our ratio to them."""
    return COLUMNS.format(
        name,
        _rate(ours.per_second),
        f"{ours.p50_ms:.1f}",
        f"{ours.p99_ms:.1f}",
        ours.errors,
        _rate(original.per_second) if original else "-",
        f"{original.p50_ms:.1f}" if original else "-",
        f"{original.p99_ms:.1f}" if original else "-",
        original.errors if original and measured_beside else "-",
        f"{ours.per_second / original.per_second:.2f}×" if original else "-",
    )


def _rate(per_second):
    return f"{per_second:,.0f}" if per_second >= 100 else f"{per_second:.1f}"


def _memory(measured):
    """The RSS and PSS of ``measured`` processes (:class:`~bench.stack.ProcessMemory`) together."""
    return _memory_bytes((sum(process.rss for process in measured), sum(process.pss for process in measured)))


def _memory_bytes(rss_and_pss):
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
