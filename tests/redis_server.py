"""A throwaway ``redis-server`` on a free loopback port, for the shared rate-limit tests.

Import the fixtures into a test module (``from redis_server import redis_server, redis_url``).
A missing binary fails the test (not a skip): ``bash scripts/install-redis`` installs Debian's
``redis-server``, and ``scripts/test`` runs it first.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

BINARY = "redis-server"


@dataclass
class RedisServer:
    """One running server: ``url``, ``port``, and the process (to stop it early in a test)."""

    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def connection_json(self, **extra: object) -> str:
        """The Airflow connection (``AIRFLOW_CONN_<ID>``) of this server."""
        import json

        return json.dumps({"conn_type": "redis", "host": "127.0.0.1", "port": self.port, **extra})

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_redis(*options: str) -> Iterator[RedisServer]:
    """Start ``redis-server`` on a free loopback port without persistence; stop it on exit."""
    binary = shutil.which(BINARY)
    if binary is None:
        pytest.fail(
            "redis-server is not installed: the shared rate-limit tests need it. "
            "Run `bash scripts/install-redis` (Debian: apt-get install -y redis-server).",
            pytrace=False,
        )
    for _ in range(5):  # another process may take the free port before the server binds it
        port = free_port()
        process = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", *options],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        server = RedisServer(port, process)
        deadline = time.monotonic() + 10
        while process.poll() is None and time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                time.sleep(0.02)  # polling the server's start, not hiding a race
        else:
            server.stop()
            continue
        try:
            yield server
        finally:
            server.stop()
        return
    pytest.fail("redis-server did not start on a free loopback port in 5 tries", pytrace=False)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One redis-server for the test session."""
    with running_redis() as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """The session's Redis, emptied, as Airflow connection ``cellcast_redis``; returns its URL."""
    import redis

    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    monkeypatch.setenv("AIRFLOW_CONN_CELLCAST_REDIS", redis_server.connection_json())
    return redis_server.url
