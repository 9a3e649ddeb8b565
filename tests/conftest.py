"""Fixtures shared by the unit tests: a throwaway HTTP server on 127.0.0.1."""
import http.server
import threading

import pytest


class _Handler(http.server.BaseHTTPRequestHandler):
    routes = {}   # path -> list of responses, served in turn (the last one repeats)
    hits = {}

    def do_GET(self):
        self.hits[self.path] = self.hits.get(self.path, 0) + 1
        responses = self.routes.get(self.path, [(404, b"not found")])
        status, body, *cut = responses[min(self.hits[self.path], len(responses)) - 1]
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        # `cut`: announce the whole body but send only part of it, then hang up
        self.wfile.write(body[:cut[0]] if cut else body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    """Serve canned responses: server.route('/a', (200, b'..')) then fetch server.url('/a')."""
    _Handler.routes, _Handler.hits = {}, {}
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()

    class Server:
        hits = _Handler.hits

        @staticmethod
        def route(path, *responses):
            _Handler.routes[path] = list(responses)

        @staticmethod
        def url(path):
            return f"http://127.0.0.1:{httpd.server_port}{path}"

    yield Server
    httpd.shutdown()
    httpd.server_close()
