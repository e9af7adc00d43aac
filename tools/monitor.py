"""``make monitor``: Debian's Prometheus against the running ``make run-all`` stack.

The configuration is ``deploy/prometheus/prometheus.yml`` with each target moved
to the port the service is configured with (the environment, then the ``.env``
files), written to ``<run dir>/prometheus/prometheus.yml`` beside its data.
Prometheus listens on 127.0.0.1:``MONITOR_PORT`` (9090) in the background, with a
pid file and a log in the run folder like the services; ``make monitor-stop``
stops it. The end-to-end test of Prometheus starts it with the same functions,
on a free port, against its own stack.

    python -m tools.monitor start | stop
"""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

from shop_common.settings import PROJECT_ROOT, load_settings

from .stack import RUN_DIR, START_ORDER, _alive, wait_until_ready

DEPLOY_DIR = PROJECT_ROOT / "deploy" / "prometheus"
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
READY_TIMEOUT_SECONDS = 30


def configuration(targets, scrape_interval=None):
    """The deploy configuration with ``targets`` ({service: "host:port"}) and the alert rules' full path."""
    config = yaml.safe_load((DEPLOY_DIR / "prometheus.yml").read_text())
    config["rule_files"] = [str(DEPLOY_DIR / name) for name in config["rule_files"]]
    if scrape_interval:
        config["global"]["scrape_interval"] = scrape_interval
    (job,) = config["scrape_configs"]
    job["static_configs"] = [{"targets": [targets[service]], "labels": {"service": service}} for service in START_ORDER]
    return config


def configured_targets():
    """``{service: "host:port"}`` as ``make run-all`` starts them."""
    targets = {}
    for service in START_ORDER:
        settings = load_settings(service)
        targets[service] = f"{settings['HOST']}:{settings['PORT']}"
    return targets


def start(targets, port, run_dir=RUN_DIR, scrape_interval=None):
    """Start Prometheus in the background on 127.0.0.1:``port``; return its pid once it is ready.

    :raise RuntimeError: it exited or was not ready in time (with the end of its log).
    """
    folder = Path(run_dir) / "prometheus"
    folder.mkdir(parents=True, exist_ok=True)
    config_file = folder / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(configuration(targets, scrape_interval), sort_keys=False))
    command = [
        PROMETHEUS,
        f"--config.file={config_file}",
        f"--storage.tsdb.path={folder / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--storage.tsdb.retention.time=2d",
    ]
    with open(folder / "prometheus.log", "ab") as log:
        process = subprocess.Popen(
            command, cwd=folder, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    (folder / "prometheus.pid").write_text(str(process.pid))
    _wait_until_ready(process.pid, port, folder)
    return process.pid


def _wait_until_ready(pid, port, folder):
    if wait_until_ready(f"http://127.0.0.1:{port}/-/ready", lambda: _alive(pid), READY_TIMEOUT_SECONDS):
        return
    tail = (folder / "prometheus.log").read_text(errors="replace").splitlines()[-15:]
    raise RuntimeError("Prometheus did not become ready; end of its log:\n" + "\n".join(tail))


def stop(run_dir=RUN_DIR):
    """Stop the Prometheus this run folder started; True if it ran."""
    pid_file = Path(run_dir) / "prometheus" / "prometheus.pid"
    try:
        pid = int(pid_file.read_text())
    except (OSError, ValueError):
        return False
    running = _alive(pid) and "prometheus" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    if running:
        os.kill(pid, 15)
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
    pid_file.unlink(missing_ok=True)
    return running


def main(command):
    port = int(os.environ.get("MONITOR_PORT", "9090"))
    if command == "start":
        stop()
        try:
            start(configured_targets(), port)
        except RuntimeError as error:
            sys.exit(str(error))
        url = f"http://127.0.0.1:{port}"
        print(f"Prometheus is at {url} (log: {RUN_DIR / 'prometheus' / 'prometheus.log'}, stop: make monitor-stop)")
        print(f"  targets (all should be UP): {url}/targets")
        print(f"  alerts:                          {url}/alerts")
        print(
            f"  requests per second by service:  {url}/graph?g0.expr="
            "sum+by+(service)+(rate(shop_http_request_duration_seconds_count[1m]))"
        )
        print(f"  orders:                          {url}/graph?g0.expr=shop_orders_created_total")
        print("  dashboard for Grafana:           deploy/grafana/shop.json (docs/operations.md, Observe it)")
    elif command == "stop":
        print("prometheus: " + ("stopped" if stop() else "was not running"))
    else:
        sys.exit("usage: python -m tools.monitor start | stop")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "")
