"""A small HTTP server on loopback (standard library, one thread per request) for the drivers' tests.

Each path is a behaviour a real server or proxy can have; every request is recorded (method,
path, headers, body). The server only ever listens on 127.0.0.1 and stops with its fixture.
"""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

#: How long the slow behaviours drip before giving up (a test's deadline is far shorter).
_DRIP_SECONDS = 5.0


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _record(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.received.append(
            Received(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        )

    def _answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in {"Content-Length": str(len(body)), **(headers or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _drip(self, first_wait: float = 0.0) -> None:
        """Headers at once (after ``first_wait``), then one byte of a long body every 50 ms."""
        self.server.stopping.wait(first_wait)
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        ends = time.monotonic() + _DRIP_SECONDS
        try:
            while time.monotonic() < ends and not self.server.stopping.is_set():
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.05)
        except OSError:
            pass  # the client gave up: what the deadline is for
        self.close_connection = True

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        self._record()
        path = self.path.split("?")[0]
        document = json.dumps({"status": True, "message": "ok", "data": {"path": path}}).encode()
        if path == "/slow-body":
            self._drip()
        elif path == "/slow-headers":
            self._drip(first_wait=_DRIP_SECONDS)
        elif path == "/redirect":
            self._answer(302, b"", {"Location": f"http://127.0.0.1:{self.server.server_port}/elsewhere"})
        elif path == "/big":
            self._answer(200, b"x" * 100_000, {"Content-Type": "application/json"})
        elif path == "/chunked-big":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"y" * 65536
            try:
                for _ in range(32):
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")
            except OSError:
                pass
            self.close_connection = True
        elif path == "/gzip":
            self._answer(200, gzip.compress(document), {"Content-Encoding": "gzip", "Content-Type": "application/json"})
        elif path == "/gzip-bomb":
            self._answer(200, gzip.compress(b" " * 20_000_000), {"Content-Encoding": "gzip"})
        elif path == "/brotli":
            self._answer(200, b"\x0b\x02\x80", {"Content-Encoding": "br"})
        elif path == "/close":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        else:
            self._answer(200, document, {"Content-Type": "application/json", "X-Answer": "Yes"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[Received] = []
        self.stopping = threading.Event()


@dataclass
class LocalServer:
    server: _Server

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    @property
    def received(self) -> list[Received]:
        return self.server.received


@pytest.fixture
def local_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalServer]:
    """A loopback HTTP server with behaviours by path; no proxy from the environment applies."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    server = _Server()
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), name="local-http", daemon=True)
    thread.start()
    try:
        yield LocalServer(server)
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()


def unused_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def unanswered_port() -> Iterator[int]:
    """A loopback port whose listener never accepts and whose queue is full: connecting hangs.

    Linux drops the SYN of a connection to a listener whose accept queue is full, so a client's
    connect neither succeeds nor fails until its own timeout: a server that cannot be reached in
    time, on 127.0.0.1 only.
    """
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = int(listener.getsockname()[1])
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        try:
            filler.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(filler)
    try:
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()
