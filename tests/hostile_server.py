"""A loopback HTTP server that misbehaves on purpose, built on stdlib sockets (no framework to be kind).

Each path answers with one behaviour: drip the headers or the body a byte at a time, redirect,
send a huge body or a gzip bomb, answer odd JSON. Every request is recorded (method, path,
headers, body), so a test can tell what reached the server, and what did not.
"""

from __future__ import annotations

import gzip
import io
import json
import socket
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


Behaviour = Callable[[socket.socket, Request], None]


def _send(sock: socket.socket, data: bytes) -> None:
    try:
        sock.sendall(data)
    except OSError:
        pass


def head(status: int = 200, headers: dict[str, str] | None = None, length: int | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status} X"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def answer(document: Any, status: int = 200, headers: dict[str, str] | None = None) -> Behaviour:
    """Answer ``document`` (JSON, or raw bytes) at once."""
    body = document if isinstance(document, bytes) else json.dumps(document).encode()

    def behave(sock: socket.socket, request: Request) -> None:
        _send(sock, head(status, {"Content-Type": "application/json", **(headers or {})}, len(body)) + body)

    return behave


def drip_body(document: Any, every: float = 1.0, total_seconds: float = 30.0) -> Behaviour:
    """Headers at once, then the body one byte every ``every`` seconds (a socket read never times out)."""
    body = json.dumps(document).encode()

    def behave(sock: socket.socket, request: Request) -> None:
        _send(sock, head(200, {"Content-Type": "application/json"}, len(body)))
        end = time.monotonic() + total_seconds
        for byte in body:
            if time.monotonic() > end:
                return
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                return
            time.sleep(every)

    return behave


def drip_headers(every: float = 1.0, total_seconds: float = 30.0) -> Behaviour:
    """The status line and headers one byte every ``every`` seconds."""

    def behave(sock: socket.socket, request: Request) -> None:
        end = time.monotonic() + total_seconds
        for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000:
            if time.monotonic() > end:
                return
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                return
            time.sleep(every)

    return behave


def redirect(status: int, location: str) -> Behaviour:
    def behave(sock: socket.socket, request: Request) -> None:
        _send(sock, head(status, {"Location": location}, 0))

    return behave


def huge(size: int) -> Behaviour:
    """A JSON-looking body of ``size`` bytes, streamed (the server never holds it whole)."""

    def behave(sock: socket.socket, request: Request) -> None:
        _send(sock, head(200, {"Content-Type": "application/json"}, size))
        chunk = b" " * 65536
        sent = 0
        while sent < size:
            piece = chunk[: min(len(chunk), size - sent)]
            try:
                sock.sendall(piece)
            except OSError:
                return
            sent += len(piece)

    return behave


@cache
def gzip_bomb_body(inflated: int = 1 << 30) -> bytes:
    """About 1 MB of gzip that inflates to ``inflated`` bytes of spaces (computed once)."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9) as compressed:
        block = b" " * (1 << 20)
        for _ in range(inflated // len(block)):
            compressed.write(block)
    return out.getvalue()


def gzip_bomb(inflated: int = 1 << 30) -> Behaviour:
    body = gzip_bomb_body(inflated)

    def behave(sock: socket.socket, request: Request) -> None:
        headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
        _send(sock, head(200, headers, len(body)) + body)

    return behave


def deflate_body(document: Any) -> bytes:
    return zlib.compress(json.dumps(document).encode())


def nested(depth: int = 10_000) -> bytes:
    """An app envelope whose ``data`` is a list nested ``depth`` deep."""
    return b'{"status": true, "message": "ok", "data": ' + b"[" * depth + b"]" * depth + b"}"


@dataclass
class HostileServer:
    """A threaded loopback server; ``routes`` maps a path to a behaviour (exact path, then prefix)."""

    routes: dict[str, Behaviour] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True, name=f"hostile-{self.port}")
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            try:
                request = self._read(conn)
            except (OSError, ValueError):
                return
            self.requests.append(request)
            behaviour = self.routes.get(request.path.split("?")[0])
            if behaviour is None:
                behaviour = next(
                    (b for prefix, b in self.routes.items() if request.path.startswith(prefix)),
                    answer({"code": 404, "message": "no such path"}, 404),
                )
            behaviour(conn, request)

    @staticmethod
    def _read(conn: socket.socket) -> Request:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                raise ValueError("closed")
            data += chunk
        header_blob, _, rest = data.partition(b"\r\n\r\n")
        lines = header_blob.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or 0)
        while len(rest) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            rest += chunk
        return Request(method, path, headers, rest[:length])

    def close(self) -> None:
        self._stop.set()
        self._sock.close()
        self._thread.join(2)

    def __enter__(self) -> HostileServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
