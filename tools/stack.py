"""Start, stop and inspect the shop's processes, the payment sandbox among them (``make run-all``, ``stop-all``,
``status``).

Each service runs under gunicorn in its own session (process group), with a pid
file and a log file in the run folder (``.run/`` by default). A pid file is
trusted only while that pid is alive *and* is the gunicorn of that service, so
a crashed service is started again and a recycled pid is never killed. The
end-to-end tests start their stack with the same functions, on other ports.

    python -m tools.stack start | stop | status | admin
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from shop_common.settings import PROJECT_ROOT, SERVICES, load_settings

RUN_DIR = PROJECT_ROOT / ".run"
# Services first: the gateway's /health is green only once they all are.
START_ORDER = ("user", "customer", "product", "transaction", "sandbox", "payment", "gateway")
HEALTH_TIMEOUT_SECONDS = 30


def gunicorn_command(service, settings):
    package = SERVICES[service][0]
    return [
        sys.executable,
        "-m",
        "gunicorn",
        f"{package}:create_app()",
        "--bind",
        f"{settings['HOST']}:{settings['PORT']}",
        "--workers",
        settings["GUNICORN_WORKERS"],
        "--worker-class",
        settings["GUNICORN_WORKER_CLASS"],
        "--threads",
        settings["GUNICORN_THREADS"],
        "--keep-alive",
        settings["GUNICORN_KEEPALIVE"],
        # A stop waits this long for requests in flight (gevent workers also wait out idle
        # keep-alive connections until then); an order cut short is settled by the saga.
        # Draining comes first (shop_common/lifecycle.py).
        "--graceful-timeout",
        str(3 + int(settings["SHUTDOWN_DRAIN_SECONDS"])),
        "--error-logfile",
        "-",
        "--name",
        f"shop-{service}",
        # gunicorn's control socket defaults to one path per user (~/.gunicorn/gunicorn.ctl),
        # which every service of every stack would share; nothing here uses it.
        "--no-control-socket",
        # The app is built once in the master and the workers share its memory
        # (shop_common/gunicorn_config.py); a worker that dies is forked again from it.
        "--preload",
        "--config",
        "python:shop_common.gunicorn_config",
    ]


def _pid_file(run_dir, service):
    return Path(run_dir) / f"{service}.pid"


def log_file(run_dir, service):
    return Path(run_dir) / f"{service}.log"


def _pid_in_file(run_dir, service):
    try:
        return int(_pid_file(run_dir, service).read_text())
    except (OSError, ValueError):
        return None


def running_pid(service, run_dir=RUN_DIR):
    """The pid of this service's gunicorn per its pid file, or None (a stale file is removed).

    Only for a process started a while ago: between fork and exec a new child's
    command line is still empty, which is why :func:`wait_until_healthy` checks
    the freshly started pid for life alone.
    """
    pid = _pid_in_file(run_dir, service)
    try:
        command_line = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        command_line = ""
    if pid and "gunicorn" in command_line and f"{SERVICES[service][0]}:create_app" in command_line:
        return pid
    _pid_file(run_dir, service).unlink(missing_ok=True)
    return None


def base_url(settings):
    return f"http://{settings['HOST']}:{settings['PORT']}"


def is_healthy(settings):
    return answers(base_url(settings) + "/health")


def answers(url):
    """Whether ``url`` answers 200 within 2 s."""
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def wait_until_ready(url, alive=lambda: True, timeout=HEALTH_TIMEOUT_SECONDS):
    """Poll ``url`` until it answers 200: True, or False once ``alive()`` is false or ``timeout`` has passed.

    The one readiness wait of every stack (run-all, the test tiers, the bench, containers): each
    says what its process is (``alive``) and what to report when it fails.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if answers(url):
            return True
        if not alive():
            return False
        time.sleep(0.2)
    return False


def bootstrap_admin(environ=None, quiet=False):
    """Create the admin from ADMIN_USERNAME / ADMIN_PASSWORD if missing: the user service's own command,
    the one way every stack (run-all, the image's ``migrate``, the test tiers, the bench) does it."""
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "user_service", "bootstrap-admin"],
        cwd=PROJECT_ROOT,
        env=environ,
        check=True,
        capture_output=quiet,
    )


def start_service(service, environ=None, run_dir=RUN_DIR):
    """Start one service in the background unless it already runs; return its pid."""
    pid = running_pid(service, run_dir)
    if pid:
        return pid
    environ = dict(os.environ if environ is None else environ)
    settings = load_settings(service, environ)
    if _port_in_use(settings):
        raise RuntimeError(f"port {settings['PORT']} is taken by another program; stop it or set PORT for {service}")
    Path(run_dir).mkdir(parents=True, exist_ok=True)
    environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    if int(settings["GUNICORN_WORKERS"]) > 1:
        environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir(run_dir, service))
    with open(log_file(run_dir, service), "ab") as log:
        process = _spawn(gunicorn_command(service, settings), environ, log)
    _pid_file(run_dir, service).write_text(str(process.pid))
    return process.pid


def metrics_dir(run_dir, service):
    """An empty folder for the metric files of a service of several workers (shop_common/metrics.py).

    Emptied, so a new run counts from zero.
    """
    folder = Path(run_dir) / "metrics" / service
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def _spawn(command, environ, log):
    return subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env=environ,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _port_in_use(settings):
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((settings["HOST"], int(settings["PORT"]))) == 0


def wait_until_healthy(service, environ=None, run_dir=RUN_DIR, timeout=HEALTH_TIMEOUT_SECONDS):
    """Poll ``/health`` until it answers 200.

    :raise RuntimeError: the process died, or it was not healthy within ``timeout``,
        with the end of its log.
    """
    settings = load_settings(service, dict(os.environ if environ is None else environ))

    def alive():
        pid = _pid_in_file(run_dir, service)
        return pid is not None and _alive(pid)

    if wait_until_ready(base_url(settings) + "/health", alive, timeout):
        return
    tail = log_file(run_dir, service).read_text(errors="replace").splitlines()[-15:]
    raise RuntimeError(f"{service} did not become healthy; end of its log:\n" + "\n".join(tail))


def stop_service(service, run_dir=RUN_DIR, timeout=15):
    """Stop the service's whole process group: TERM, then KILL after ``timeout``. True if it ran."""
    pid = running_pid(service, run_dir)
    if pid is None:
        return False
    try:
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.1)
        if _alive(pid):
            os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    _pid_file(run_dir, service).unlink(missing_ok=True)
    return True


def stop_services(services, run_dir=RUN_DIR):
    """Stop several services at once (each may wait out its graceful timeout); ``{service: ran}``."""
    with ThreadPoolExecutor(max_workers=len(services)) as pool:
        return dict(zip(services, pool.map(lambda service: stop_service(service, run_dir), services), strict=True))


def _alive(pid):
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
        if waited == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def print_table(run_dir=RUN_DIR):
    print(f"{'service':<12} {'port':<6} {'pid':<8} {'state':<10} url")
    for service in START_ORDER:
        settings = load_settings(service)
        pid = running_pid(service, run_dir)
        state = "stopped" if pid is None else ("healthy" if is_healthy(settings) else "unhealthy")
        print(f"{service:<12} {settings['PORT']:<6} {pid or '-':<8} {state:<10} {base_url(settings)}")


def main(command):
    if command == "start":
        started = []
        for service in START_ORDER:
            if running_pid(service) is None:
                start_service(service)
                started.append(service)
            try:
                wait_until_healthy(service)
            except RuntimeError as error:
                sys.exit(str(error))
        print(f"started: {', '.join(started) or 'nothing (all were running)'}")
        if len(started) < len(START_ORDER):
            print(
                "Services that were running keep the settings they started with: "
                "make stop-all, then make run-all, to apply changed ones."
            )
        print_table()
        print(f"\nThe API is at {base_url(load_settings('gateway'))}  (logs: make logs, stop: make stop-all)")
    elif command == "stop":
        for service, ran in stop_services(START_ORDER).items():
            print(f"{service}: {'stopped' if ran else 'was not running'}")
    elif command == "status":
        print_table()
    elif command == "admin":
        bootstrap_admin()
    else:
        sys.exit("usage: python -m tools.stack start | stop | status | admin")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "")
