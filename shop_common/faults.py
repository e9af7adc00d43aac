"""Crash injection for the tests, kept out of the modules it stops: a process exits at a named step.

The crash-recovery tests start a service with ``FAULT_CRASH_AT=<step>`` (a setting, empty in
every real deployment) and see what a kill -9 at that point leaves: the saga's steps
(``after_record``, ``after_reserve``, ``after_confirm``) and checkout's (``before_charge``,
``after_cancel``). ``os._exit`` skips every cleanup, as a killed process would.
"""

import logging
import os

from flask import current_app

log = logging.getLogger(__name__)


def fault_point(step: str) -> None:
    """Exit the process here, at once, when ``FAULT_CRASH_AT`` names ``step``."""
    if current_app.config.get("FAULT_CRASH_AT") == step:
        log.critical("fault injection: exiting at %s", step)
        os._exit(70)
