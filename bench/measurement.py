"""One measured row of the benchmark, and the median of several runs of it."""

import statistics
from dataclasses import dataclass


@dataclass(frozen=True)
class Measurement:
    """Completed requests (or journeys) per second, latency percentiles, failed ones, how many completed."""

    per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    completed: int = 0


def median_of(runs):
    """Each figure's median over the runs; the errors of all runs added up."""
    return Measurement(
        per_second=statistics.median(run.per_second for run in runs),
        p50_ms=statistics.median(run.p50_ms for run in runs),
        p99_ms=statistics.median(run.p99_ms for run in runs),
        errors=sum(run.errors for run in runs),
        completed=sum(run.completed for run in runs),
    )
