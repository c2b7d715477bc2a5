"""A local HTTP file server for download tests: honours Range, logs requests, can misbehave."""

import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Served:
    files: dict[str, bytes]  # URL path -> body
    # (path, Range header or None) of every GET, in order.
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    # path -> bytes after which the next response to it is cut off (once).
    cut_after: dict[str, int] = field(default_factory=dict)
    honour_range: bool = True
    url: str = ""


def _handler(served: Served) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            rng = self.headers.get("Range")
            served.requests.append((self.path, rng))
            body = served.files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            start = 0
            m = re.fullmatch(r"bytes=(\d+)-", rng or "")
            if m and served.honour_range:
                start = int(m[1])
                if start >= len(body):
                    self.send_error(416)
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            else:
                self.send_response(200)
            self.send_header("Content-Length", str(len(body) - start))
            self.end_headers()
            cut = served.cut_after.pop(self.path, None)
            self.wfile.write(body[start:cut] if cut is not None else body[start:])
            if cut is not None:
                self.close_connection = True

        def log_message(self, *_args: object) -> None:
            pass

    return Handler


@contextmanager
def serve(files: dict[str, bytes]) -> Iterator[Served]:
    """Serve ``files`` on 127.0.0.1 at a free port (tests run in parallel, so no fixed one)."""
    served = Served(files)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(served))
    served.url = f"http://127.0.0.1:{server.server_address[1]}"
    # A short poll interval so that shutdown() returns at once.
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def closed_port_url() -> str:
    """A URL on which nothing listens: connections are refused, as when offline."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"
