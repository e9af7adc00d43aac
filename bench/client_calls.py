"""CPU per call of an HTTP client under gevent, as the gateway relays: urllib3's pool against geventhttpclient's.

``python -m bench.client_calls serve PORT`` answers every request with a 2 kB JSON body (a
gevent pywsgi server, one process); ``python -m bench.client_calls call CLIENT URL CALLS``
makes CALLS keep-alive GETs from a gevent-patched process, 16 greenlets at once, and prints
its own CPU seconds per call. CLIENT is ``urllib3`` or ``geventhttpclient``, each library
called bare, or ``shop``: the project's ``ServiceClient.forward`` as the relay calls it, in a
request context with its id (run from another checkout to measure that checkout's client).
Run the server on its own (its CPU is not the client's) and time each client as a whole
process, in turn, to compare them (docs/performance.md).
"""

import sys
import time

from gevent import monkey

monkey.patch_all()

import gevent  # noqa: E402 (after the patches, as in a worker)
from gevent.pywsgi import WSGIServer  # noqa: E402

BODY = b'{"products": [' + b",".join([b'{"id": 1, "name": "Tee", "price": "1.50"}'] * 50) + b"]}"
AT_ONCE = 16


def serve(port):
    def answer(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))])
        return [BODY]

    WSGIServer(("127.0.0.1", port), answer, log=None).serve_forever()


def urllib3_caller(url):
    import urllib3

    pool = urllib3.connection_from_url(url, maxsize=AT_ONCE)

    def call():
        response = pool.urlopen("GET", "/api/products", headers={"X-Request-Id": "bench"}, preload_content=True)
        assert response.status == 200 and len(response.data) == len(BODY)

    return call


def geventhttpclient_caller(url):
    from geventhttpclient import HTTPClient

    client = HTTPClient.from_url(url, concurrency=AT_ONCE)

    def call():
        response = client.get("/api/products", headers={"X-Request-Id": "bench"})
        data = response.read()
        assert response.status_code == 200 and len(data) == len(BODY)

    return call


def shop_caller(url):
    from shop_common.http_client import ServiceClient

    client = ServiceClient("bench", url, 1, 5, record_metrics=False)

    def call():
        response = client.forward("GET", "/api/products", b"", {"Accept": "*/*", "X-Forwarded-For": "127.0.0.1"})
        assert response.status == 200 and len(response.data) == len(BODY)

    return call


CALLERS = {"urllib3": urllib3_caller, "geventhttpclient": geventhttpclient_caller, "shop": shop_caller}


def run_calls(client, url, calls):
    from flask import Flask, g

    app = Flask(__name__)
    call = CALLERS[client](url)
    call()  # the connection made, the modules loaded

    def greenlet():
        with app.test_request_context():
            g.request_id = "bench"
            for _ in range(calls // AT_ONCE):
                call()

    started = time.process_time()
    gevent.joinall([gevent.spawn(greenlet) for _ in range(AT_ONCE)], raise_error=True)
    spent = time.process_time() - started
    print(f"{client}: {spent / (calls // AT_ONCE * AT_ONCE) * 1e6:.1f} µs of CPU per call")


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(int(sys.argv[2]))
    else:
        run_calls(sys.argv[2], sys.argv[3], int(sys.argv[4]))
