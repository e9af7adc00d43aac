"""Pooled connections the other side closed are found out and replaced before a request uses them."""

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from flask import Flask

from shop_common.http_client import ServiceClient
from shop_common.sockets import still_open


def test_a_socket_is_open_until_its_peer_closes_it_or_sends_what_nobody_asked_for():
    ours, theirs = socket.socketpair()
    assert still_open(ours)
    theirs.send(b"x")
    assert not still_open(ours)
    ours.recv(1)
    theirs.close()
    assert not still_open(ours)
    assert not still_open(None)
    ours.close()


class ClosesAfterEachResponse(BaseHTTPRequestHandler):
    """Answers with keep-alive headers, then closes the connection: a service's idle limit, early."""

    protocol_version = "HTTP/1.1"
    connections = 0

    def setup(self):
        type(self).connections += 1
        super().setup()

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
        self.close_connection = True

    def log_message(self, *args):
        pass


def test_a_relay_over_a_connection_the_service_closed_goes_over_a_new_one():
    server = ThreadingHTTPServer(("127.0.0.1", 0), ClosesAfterEachResponse)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client = ServiceClient("probe", f"http://127.0.0.1:{server.server_port}", 1, 1, record_metrics=False)
    try:
        with Flask(__name__).test_request_context():
            assert client.forward("GET", "/", b"", {}).data == b"ok"
            time.sleep(0.05)  # the close reaches the pooled socket
            assert client.forward("GET", "/", b"", {}).data == b"ok"
    finally:
        server.shutdown()
    assert ClosesAfterEachResponse.connections == 2
