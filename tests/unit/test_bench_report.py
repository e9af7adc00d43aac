"""How ``make bench`` reads wrk's report and judges CPU per request against a row's budget."""

from bench.measurement import Measurement
from bench.run import ALL, Result, Row, _budget, _cpu_table
from bench.wrk import parse_report

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
