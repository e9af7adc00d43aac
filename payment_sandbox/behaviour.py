"""Failure injection: how slow, failing or late the sandbox is, so tests can make each real-world failure.

- ``delay_seconds``: every API call sleeps this long before it is handled;
- ``failure_rate``: this share of API calls is answered 500 having done nothing;
- ``late_rate``: this share of charges and refunds is recorded (committed), then
  answered only after ``late_seconds``, so the caller has timed out by then.

The behaviour in force is kept in the sandbox's database (every worker reads it,
and a test changes it while the sandbox runs: ``POST /v1/test_helpers/behaviour``);
until one is saved the ``SANDBOX_*`` settings apply.
"""

import random
from collections.abc import Mapping
from typing import Any

from . import repository

FIELDS = ("delay_seconds", "failure_rate", "late_rate", "late_seconds")
RATES = ("failure_rate", "late_rate")


def from_settings(config: Mapping[str, Any]) -> dict[str, float]:
    return {name: float(config[f"SANDBOX_{name.upper()}"]) for name in FIELDS}


def in_force(config: Mapping[str, Any]) -> dict[str, float]:
    """The behaviour saved last, or the settings' when none was saved."""
    saved = repository.find_behaviour()
    return from_settings(config) if saved is None else {name: float(saved[name]) for name in FIELDS}


def problems(changes: Mapping[str, Any]) -> dict[str, str]:
    """What is wrong with each field of ``changes`` (numbers; rates between 0 and 1, times 0 to 600 s)."""
    found = {}
    for name, value in changes.items():
        if name not in FIELDS:
            found[name] = "is not a behaviour setting"
        elif isinstance(value, bool) or not isinstance(value, int | float):
            found[name] = "must be a number"
        elif not 0 <= value <= (1 if name in RATES else 600):
            found[name] = f"must be between 0 and {1 if name in RATES else 600}"
    return found


def change(config: Mapping[str, Any], changes: Mapping[str, float]) -> dict[str, float]:
    """Save the behaviour in force with ``changes`` (checked by :func:`problems`) applied; return it."""
    behaviour = {**in_force(config), **{name: float(value) for name, value in changes.items()}}
    repository.save_behaviour(**behaviour)
    return behaviour


def happens(rate: float) -> bool:
    """Whether an event of this share of calls happens to this one."""
    return rate > 0 and random.random() < rate
