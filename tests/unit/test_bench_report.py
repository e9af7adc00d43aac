"""How ``make bench`` reads wrk's report, judges CPU per request against a row's budget, and shows the original."""

from dataclasses import replace
from types import SimpleNamespace

from bench.measurement import Measurement
from bench.original import StockCount
from bench.processes import listening_inodes
from bench.run import (
    ALL,
    CPU_COLUMNS,
    EARLIER_FIGURES,
    ORIGINAL_IDLE_MEMORY,
    ORIGINAL_PRODUCT,
    Result,
    Row,
    _budget,
    _cpu_table,
    _load_table,
    _measure,
    _memory_lines,
    _stock_line,
)
from bench.stack import ProcessMemory
from bench.wrk import parse_report
from shop_common.settings import SERVICES

WRK_REPORT = """Running 5s test @ http://127.0.0.1:1/api/products/1
  2 threads and 32 connections
  Latency Distribution
     50%   20.50ms
     75%   25.00ms
     90%   30.00ms
     99%   35.50ms
  7830 requests in 5.00s, 2.10MB read
  Non-2xx or 3xx responses: 3
Requests/sec:   1566.00
Transfer/sec:    430.00KB
"""


def test_wrk_report_gives_completed_requests_rates_and_errors():
    assert parse_report(WRK_REPORT) == Measurement(
        per_second=1566.0, p50_ms=20.5, p99_ms=35.5, errors=3, completed=7830
    )


def test_a_budget_is_met_or_over_by_the_difference():
    cpu_ms = {"gateway": 0.3, "product": 0.29, ALL: 4.0}
    assert _budget({"gateway": 0.30, "product": 0.25}, cpu_ms) == "gateway ≤ 0.30 met, product ≤ 0.25 over by 0.04"
    assert _budget({ALL: 4.5}, cpu_ms) == "all ≤ 4.50 met"


def test_the_cpu_table_has_a_line_per_row_with_a_dash_for_processes_a_row_does_not_use():
    cpu_ms = dict.fromkeys(("gateway", "user", "customer", "product", "transaction", "MariaDB", "Redis", ALL), 0.0)
    cpu_ms.update(gateway=0.512, product=0.25, MariaDB=0.1, **{ALL: 0.862})
    row = Row("GET /api/products/<id>", lambda seconds: None, budget={"gateway": 0.30})
    lines = list(_cpu_table([row], [Result(Measurement(1, 1, 1, 0, 1), cpu_ms)]))
    figures = lines[2].split()
    assert figures[2:10] == ["0.512", "-", "-", "0.250", "-", "0.100", "-", "0.862"]
    assert lines[2].endswith("gateway ≤ 0.30 over by 0.21")


def _result(per_second, errors=0):
    return Result(Measurement(per_second, 10.0, 30.0, errors, 100), dict.fromkeys(CPU_COLUMNS, 0.1))


def test_the_original_measured_in_the_run_is_shown_with_its_errors_and_our_ratio():
    row = Row("GET /api/products/<id>", lambda seconds: None, ORIGINAL_PRODUCT)
    result = replace(_result(1500.0), original=_result(1000.0, errors=2))
    lines = list(_load_table([row], [result], measured_beside=True))
    assert lines[0] == "the original: measured in this run, in turn with ours"
    assert lines[2].split("|")[1].split() == ["1,000", "10.0", "30.0", "2", "1.50×"]


def test_without_the_original_its_earlier_figures_are_shown_and_labelled_so():
    row = Row("GET /api/products/<id>", lambda seconds: None, ORIGINAL_PRODUCT)
    lines = list(_load_table([row], [_result(1500.0)], measured_beside=False))
    assert lines[0] == f"the original: {EARLIER_FIGURES}"
    assert lines[2].split("|")[1].split() == ["2,087", "14.7", "27.7", "-", "0.72×"]


def test_a_row_measured_on_the_original_is_followed_by_its_cpu_line():
    row = Row("GET /api/products/<id>", lambda seconds: None)
    result = replace(_result(1500.0), original=_result(1000.0))
    lines = list(_cpu_table([row], [result]))
    assert lines[3].split()[:3] == ["the", "original", "0.100"]


def test_the_stock_the_original_lost_is_what_its_orders_should_have_taken_less_what_they_took():
    assert _stock_line(StockCount(expected=1000, done=730)) == (
        "the original's orders: 1,000 stock decrements expected (2 per order answered 201, warm-ups included), "
        "730 made: 270 lost (27%)"
    )


TCP_TABLE = """  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:0FA0 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 51234 1 0
   1: 0100007F:0FA0 0100007F:C350 01 00000000:00000000 00:00000000 00000000  1000        0 51999 1 0
   2: 0100007F:0FA1 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 51235 1 0
"""


def test_a_listening_socket_is_found_by_its_port_and_state_not_an_accepted_connection():
    assert listening_inodes(TCP_TABLE, 4000) == {51234}
    assert listening_inodes(TCP_TABLE, 4002) == set()


def test_ours_and_the_original_are_loaded_in_turn_each_warmed_up_then_measured():
    calls = []

    def load(who):
        def measure(seconds):
            calls.append((who, seconds))
            return Measurement(100.0 if who == "ours" else 50.0, 10.0, 30.0, 0, 100 * seconds)

        return measure

    def cpu_seconds():
        return dict.fromkeys(CPU_COLUMNS[:-1], len(calls) / 10)

    stack = SimpleNamespace(cpu_seconds=cpu_seconds)
    original = SimpleNamespace(processes=SimpleNamespace(cpu_seconds=cpu_seconds))
    options = SimpleNamespace(runs=2, warmup_seconds=1, seconds=3)
    row = Row("GET /api/products/<id>", load("ours"), measure_original=load("original"))
    result = _measure(row, options, stack, original)
    assert calls == [("ours", 1), ("ours", 3), ("original", 1), ("original", 3)] * 2
    assert (result.load.per_second, result.original.load.per_second) == (100.0, 50.0)
    assert _measure(replace(row, measure_original=None), options, stack, original).original is None


def test_memory_counts_the_five_services_the_original_has_and_shows_each_of_their_processes():
    mib = 1024 * 1024
    ours = [
        ProcessMemory("gateway", "master", 40 * mib, 20 * mib),
        ProcessMemory("gateway", "worker", 36 * mib, 21 * mib),
        ProcessMemory("product", "master", 38 * mib, 18 * mib),
        ProcessMemory("payment", "master", 30 * mib, 15 * mib),
    ]
    lines = list(_memory_lines((ours, None), (ours[:1], None), original=None))
    assert lines[0] == (
        "memory, idle after seeding: the five services the original has too, 114 MiB RSS, 59 MiB PSS; "
        f"all {len(SERVICES)}, 144 MiB RSS, 74 MiB PSS"
    )
    assert lines[1:4] == [
        "  gateway master: 40 MiB RSS, 20 MiB PSS",
        "  gateway worker: 36 MiB RSS, 21 MiB PSS",
        "  product master: 38 MiB RSS, 18 MiB PSS",
    ]
    assert lines[4] == f"  the original, idle: {ORIGINAL_IDLE_MEMORY} ({EARLIER_FIGURES})"
    assert lines[5].startswith("memory, idle after the load: the five services the original has too, 40 MiB RSS")
    assert lines[6:] == ["  gateway master: 40 MiB RSS, 20 MiB PSS"]


def test_the_original_measured_beside_is_shown_with_its_process_count():
    ours = [ProcessMemory("user", "master", 1, 1)]
    theirs = (300 * 1024 * 1024, 140 * 1024 * 1024, 5)
    lines = list(_memory_lines((ours, theirs), (ours, theirs), original=object()))
    assert lines[2] == (
        "  the original, idle after seeding: 300 MiB RSS, 140 MiB PSS (5 processes, measured in this run)"
    )
