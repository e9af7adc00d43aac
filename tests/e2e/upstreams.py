"""Stand-ins for a service behind a gateway of a test's own: one that records, one that hangs."""

import gzip
import socketserver
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.support import send_answer


@dataclass
class Received:
    method: str
    target: str
    headers: object
    body: bytes
    client_port: int


class RecordingService(ThreadingHTTPServer):
    """Stands in for a service: records each request as it arrived and gives one odd answer."""

    daemon_threads = True
    ANSWER_STATUS = 207
    ANSWER_HEADERS = (
        ("Content-Type", "text/plain; charset=utf-8"),
        ("X-Upstream", "recorder"),
        ("ETag", '"v1"'),
        ("Set-Cookie", "session=for-one-client-only; Path=/"),
        ("Set-Cookie", "theme=dark; Path=/"),
    )
    ANSWER_BODY = "not JSON, kept as sent: ☕ {".encode()
    # GET of this path is answered gzipped, as a service that compresses would.
    GZIPPED_PATH = "/api/products/gzipped"
    GZIPPED_BODY = gzip.compress(b'{"compressed": "by the service"}')

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _RecordingHandler)
        self.received = []
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_port}"

    def close(self):
        self.shutdown()
        self.server_close()

    def __exit__(self, *exception):
        self.close()


def answer_header_values(name):
    return [value for header, value in RecordingService.ANSWER_HEADERS if header == name]


class _RecordingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the services speak

    def record_and_answer(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.received.append(Received(self.command, self.path, self.headers, body, self.client_address[1]))
        if self.path == self.server.GZIPPED_PATH:
            headers = (("Content-Type", "application/json"), ("Content-Encoding", "gzip"))
            send_answer(self, 200, self.server.GZIPPED_BODY, headers)
        else:
            send_answer(self, self.server.ANSWER_STATUS, self.server.ANSWER_BODY, self.server.ANSWER_HEADERS)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = record_and_answer

    def log_message(self, format, *args):
        """Quiet: the assertions say what matters."""


class HungService(socketserver.ThreadingTCPServer):
    """Accepts connections and never answers, like a service stuck on a lock."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _SilentHandler)
        self.closing = threading.Event()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"

    def close(self):
        self.closing.set()
        self.shutdown()
        self.server_close()

    def __exit__(self, *exception):
        self.close()


class _SilentHandler(socketserver.BaseRequestHandler):
    def handle(self):
        self.server.closing.wait()
