"""Background work a service repeats on its own (sweepers)."""

import threading
import time
from collections.abc import Callable

from flask import Flask

from . import lifecycle


def run_every(app: Flask, name: str, seconds: float, task: Callable[[], object]) -> None:
    """Run ``task()`` in ``app``'s context in a daemon thread of each worker: once at start, then every ``seconds``.

    A failed round is logged and tried again at the next one.
    """

    def run() -> None:
        while True:
            with app.app_context():
                try:
                    task()
                except Exception:
                    app.logger.exception("%s failed", name)
            time.sleep(seconds)

    def start() -> None:
        threading.Thread(target=run, name=name, daemon=True).start()

    lifecycle.on_worker_start(app, start)
