"""A real HTTP server that answers like a hostile or broken "ClickHouse", and counts requests.

Server clusters make Curvehouse connect to a URL a project owner typed; these stand in for
what could be at such a URL: an internal service whose page holds a secret, a server that
redirects elsewhere, one that refuses the login.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET = "INTERNAL-SECRET-7f3e9a"
BODY = f"<script>alert('{SECRET}')</script> Code: 999. DB::Exception: {SECRET}".encode()


class HostileServer:
    """``behaviour``: ``"500"``, ``"500-clickhouse"`` (with ClickHouse's exception header),
    ``"401"``, ``"200-garbage"``, or ``"redirect:<url>"``. ``requests`` counts what arrived."""

    def __init__(self, behaviour: str, host: str = "127.0.0.1") -> None:
        self.behaviour, self.host = behaviour, host
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                server.requests += 1
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                kind = server.behaviour
                if kind.startswith("redirect:"):
                    self.send_response(302)
                    self.send_header("Location", kind.split(":", 1)[1])
                    self.send_header("Content-Length", str(len(BODY)))
                    self.end_headers()
                    self.wfile.write(BODY)
                    return
                status = {"500": 500, "500-clickhouse": 500, "401": 401}.get(kind, 200)
                self.send_response(status)
                if kind == "500-clickhouse":
                    self.send_header("X-ClickHouse-Exception-Code", "999")
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(BODY)))
                self.end_headers()
                self.wfile.write(BODY)

            do_GET = do_POST = _answer

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, user: str = "admin", password: str = "pw") -> str:
        return f"http://{user}:{password}@{self.host}:{self.port}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
