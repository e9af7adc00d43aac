"""HAProxy (Debian's package) in front of the replicas, as a Kubernetes Service would be.

One frontend per service on a free loopback port, balancing round-robin over its
replicas. A replica is in rotation while ``/health/ready`` answers 200 (checked
every 300 ms, 2 s allowed for an answer under load; two failures take it out, two
successes put it back). A connection
refused is retried on the other replica; a request that reached a replica is not
(it may not be idempotent). HAProxy's own error answers are the API's JSON errors.
"""

import json
import socket
import subprocess
import time
from pathlib import Path

ERRORS = {
    502: ("Bad Gateway", "bad_gateway", "The service closed the connection without an answer."),
    503: ("Service Unavailable", "service_unavailable", "No replica of the service is available."),
    504: ("Gateway Timeout", "gateway_timeout", "The service did not answer in time."),
}

GLOBAL = """\
global
    maxconn 4096
    stats socket {run_dir}/haproxy.sock mode 600 level admin

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 10s
    timeout check 2s
    retries 3
    option redispatch 1
    option httpchk
    http-check send meth GET uri /health/ready
    http-check expect status 200
    default-server check inter 300ms fall 2 rise 2
{errorfiles}
"""

PROXY = """
frontend {name}
    bind 127.0.0.1:{port}
    default_backend {name}

backend {name}
    balance roundrobin
{servers}
"""


def error_file(run_dir, status):
    reason, code, message = ERRORS[status]
    body = json.dumps({"error": code, "message": message})
    path = Path(run_dir) / f"{status}.http"
    path.write_bytes(
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n{body}".encode()
    )
    return path


def write_config(run_dir, frontends, replicas):
    """``frontends``: {service: port}; ``replicas``: {service: [port, ...]}. Returns the file."""
    errorfiles = "\n".join(f"    errorfile {status} {error_file(run_dir, status)}" for status in ERRORS)
    text = GLOBAL.format(run_dir=run_dir, errorfiles=errorfiles)
    for service, port in frontends.items():
        servers = "\n".join(
            f"    server {service}-{n} 127.0.0.1:{replica}" for n, replica in enumerate(replicas[service], start=1)
        )
        text += PROXY.format(name=service, port=port, servers=servers)
    path = Path(run_dir) / "haproxy.cfg"
    path.write_text(text)
    return path


def start(config, log):
    subprocess.run(["haproxy", "-c", "-q", "-f", config], check=True)
    return subprocess.Popen(
        ["haproxy", "-db", "-f", config], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
    )


def server_states(run_dir):
    """``{server name: "UP" | "DOWN" | ...}`` from HAProxy's stats socket."""
    with socket.socket(socket.AF_UNIX) as stats:
        stats.connect(str(Path(run_dir) / "haproxy.sock"))
        stats.sendall(b"show stat\n")
        text = b""
        while chunk := stats.recv(65536):
            text += chunk
    rows = [line.split(",") for line in text.decode().splitlines() if line and not line.startswith("#")]
    return {row[1]: row[17] for row in rows if row[1] not in ("FRONTEND", "BACKEND")}


def wait_for_states(run_dir, wanted, timeout=30):
    """Wait until each server in ``wanted`` ({name: state}) is in that state."""
    deadline = time.monotonic() + timeout
    while True:
        states = server_states(run_dir)
        if all(states.get(name, "").startswith(state) for name, state in wanted.items()):
            return states
        if time.monotonic() > deadline:
            raise AssertionError(f"HAProxy servers {states}, wanted {wanted}")
        time.sleep(0.1)
