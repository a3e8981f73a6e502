"""Real HTTP servers on 127.0.0.1 for the tests: LLM endpoints and webhooks that
answer as each test scripts them."""

import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that does not log, with one way to answer."""

    def reply(self, status, data=b"", headers=()):
        self.send_response(status)
        for key, value in dict(headers).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass                  # the client gave up waiting, as it may

    def log_message(self, *args):
        pass


@contextmanager
def serving(handler, **attributes):
    """A threaded server for `handler` on a free loopback port; `attributes` are set on
    the server (handlers reach them as self.server.X); `server.url` is its base URL."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    for key, value in attributes.items():
        setattr(httpd, key, value)
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
