"""Background work a service repeats on its own (sweepers)."""
import threading
import time


def run_every(app, name, seconds, task):
    """Run ``task()`` in ``app``'s context in a daemon thread: once at start, then every ``seconds``.

    A failed round is logged and tried again at the next one.
    """
    def run():
        while True:
            with app.app_context():
                try:
                    task()
                except Exception:
                    app.logger.exception("%s failed", name)
            time.sleep(seconds)

    threading.Thread(target=run, name=name, daemon=True).start()
