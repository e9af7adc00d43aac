"""Running wrk (https://github.com/wg/wrk) and reading its report into a :class:`Measurement`."""

import re
import shutil
import subprocess
import sys

from .measurement import Measurement

THREADS = 2
# wrk stops itself after its duration; this is only a guard against a hung run.
EXTRA_SECONDS_ALLOWED = 30
_REQUESTS_PER_SECOND = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_COMPLETED = re.compile(r"^\s+(\d+) requests in ", re.MULTILINE)
_PERCENTILE = re.compile(r"^\s+(50|99)(?:\.000)?%\s+([\d.]+)(us|ms|s|m)\s*$", re.MULTILINE)
_SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_NON_2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")
# Printed by bench/orders.lua, which expects exactly 201.
_NON_201 = re.compile(r"Non-201 responses: (\d+)")
_MILLISECONDS_PER_UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def require_wrk():
    """Exit with the install hint when wrk is not on the PATH."""
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed; install it with: apt-get install wrk")


def wrk_version():
    """E.g. ``wrk debian/4.1.0-3+b2``: ``wrk -v`` prints it before its usage text."""
    usage = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False).stdout
    return usage.split(" [", 1)[0].strip()


def run_wrk(url, connections, seconds, script=None, script_args=(), headers=()):
    """Load ``url`` with wrk for ``seconds``; return what it measured.

    Errors are socket errors plus unexpected statuses: those the script counts
    when it reports them, else every status outside 2xx and 3xx.
    """
    command = ["wrk", f"-t{THREADS}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for header in headers:
        command += ["-H", header]
    if script:
        command += ["-s", str(script)]
    command.append(url)
    if script_args:
        command += ["--", *map(str, script_args)]
    report = subprocess.run(
        command, capture_output=True, text=True, check=True, timeout=seconds + EXTRA_SECONDS_ALLOWED
    ).stdout
    return parse_report(report)


def parse_report(report):
    """A :class:`Measurement` from the text wrk prints with ``--latency``.

    :raise ValueError: the report has no requests per second or percentiles.
    """
    requests_per_second = _REQUESTS_PER_SECOND.search(report)
    percentiles = {
        int(percent): float(value) * _MILLISECONDS_PER_UNIT[unit]
        for percent, value, unit in _PERCENTILE.findall(report)
    }
    if requests_per_second is None or set(percentiles) != {50, 99}:
        raise ValueError(f"not a wrk --latency report:\n{report}")
    completed = _COMPLETED.search(report)
    socket_errors = _SOCKET_ERRORS.search(report)
    unexpected = _NON_201.search(report) or _NON_2XX.search(report)
    return Measurement(
        per_second=float(requests_per_second.group(1)),
        p50_ms=percentiles[50],
        p99_ms=percentiles[99],
        errors=(sum(map(int, socket_errors.groups())) if socket_errors else 0)
        + (int(unexpected.group(1)) if unexpected else 0),
        completed=int(completed.group(1)) if completed else 0,
    )
