"""``make bench-observability``: what metrics and traces cost the hot path, A B C alternated in one run.

Three throw-away stacks (bench/stack.py), the same but for observability, run
side by side: ``off`` (``METRICS_ENABLED=false``, no tracing), ``metrics``
(the default) and ``metrics+traces`` (``OTEL_TRACES_SAMPLER=parentbased_traceidratio``
at 0.1, exported over OTLP/HTTP to a sink in this process that reads and drops
every export). Each is seeded, then ``GET /api/products/<id>`` through its
gateway is measured with wrk (2 threads, 32 connections) in turns: every round
measures the three once, in a rotated order, so a machine that gets busier or
quieter during the run moves all three alike. Printed: each mode's median
reads/s, p50 and p99 and CPU per read (the five services' processes, from
``/proc/<pid>/stat`` around each wrk run: the figure a busy machine disturbs
least), and per round the ratio of each mode's reads/s and CPU per read to
those of ``off`` beside it, with the median and the spread of those ratios.

    python -m bench.observability_cost [--rounds N] [--seconds S]
"""

import argparse
import os
import statistics
import threading
from contextlib import ExitStack
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tools.throwaway_stack import free_port

from .measurement import Measurement
from .seed import seed
from .stack import ADMIN_USERNAME, SERVERS, throwaway_stack
from .wrk import require_wrk, run_wrk

READ_CONNECTIONS = 32
WARMUP_SECONDS = 3


@dataclass(frozen=True)
class Run:
    reads: Measurement
    cpu_ms_per_read: float


class _Sink(BaseHTTPRequestHandler):
    """An OTLP/HTTP receiver that answers every export 200 and keeps nothing."""

    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def modes(sink_endpoint):
    return {
        "off": {"METRICS_ENABLED": "false"},
        "metrics": {"METRICS_ENABLED": "true"},
        "metrics+traces": {
            "METRICS_ENABLED": "true",
            "OTEL_EXPORTER_OTLP_ENDPOINT": sink_endpoint,
            "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
            "OTEL_TRACES_SAMPLER_ARG": "0.1",
        },
    }


def measure_and_report(rounds, seconds):
    """Measure the modes alternated round by round, and print the table while the stacks still run."""
    sink = ThreadingHTTPServer(("127.0.0.1", free_port()), _Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    settings = modes(f"http://127.0.0.1:{sink.server_address[1]}")
    with ExitStack() as stacks:
        targets = {}
        for mode, overrides in settings.items():
            stack = stacks.enter_context(throwaway_stack(**overrides))
            shop = seed(stack.gateway, ADMIN_USERNAME, stack.admin_password)
            targets[mode] = (stack, f"{stack.gateway}/api/products/{shop.product_ids[0]}")
            run_wrk(targets[mode][1], READ_CONNECTIONS, WARMUP_SECONDS)
        results = {mode: [] for mode in settings}
        order = list(settings)
        for round_number in range(rounds):
            for mode in order[round_number % 3 :] + order[: round_number % 3]:
                run = measured_run(*targets[mode], seconds)
                results[mode].append(run)
                print(
                    f"round {round_number + 1} {mode:<15} {run.reads.per_second:7.0f} reads/s "
                    f"{run.cpu_ms_per_read:6.3f} ms CPU/read",
                    flush=True,
                )
        report(results)
    sink.shutdown()


def measured_run(stack, url, seconds):
    cpu_before = cpu_seconds(stack)
    reads = run_wrk(url, READ_CONNECTIONS, seconds)
    cpu = cpu_seconds(stack) - cpu_before
    return Run(reads, cpu * 1000 / (reads.per_second * seconds))


def cpu_seconds(stack):
    """User and system CPU seconds so far of the stack's gunicorn masters and workers."""
    return sum(seconds for name, seconds in stack.cpu_seconds().items() if name not in SERVERS)


def report(results):
    print(
        f"\n{'mode':<16} {'reads/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'CPU/read':>9}  "
        "vs off in the same round, median (min-max): reads/s, CPU per read"
    )
    for mode, runs in results.items():
        offs = results["off"]
        rates = [run.reads.per_second / off.reads.per_second for run, off in zip(runs, offs, strict=True)]
        cpus = [run.cpu_ms_per_read / off.cpu_ms_per_read for run, off in zip(runs, offs, strict=True)]
        print(
            f"{mode:<16} {statistics.median(r.reads.per_second for r in runs):8.0f} "
            f"{statistics.median(r.reads.p50_ms for r in runs):7.1f} "
            f"{statistics.median(r.reads.p99_ms for r in runs):7.1f} "
            f"{statistics.median(r.cpu_ms_per_read for r in runs):7.3f}ms  "
            f"{_spread(rates)}, {_spread(cpus)}"
        )
    errors = sum(run.reads.errors for runs in results.values() for run in runs)
    print(f"errors: {errors}; load average at the end: {' '.join(f'{load:.1f}' for load in os.getloadavg())}")


def _spread(ratios):
    return f"{statistics.median(ratios):.3f} ({min(ratios):.3f}-{max(ratios):.3f})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", "6")))
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("BENCH_SECONDS", "10")))
    options = parser.parse_args()
    require_wrk()
    measure_and_report(options.rounds, options.seconds)


if __name__ == "__main__":
    main()
