"""Helpers shared by the browser tests' fixtures (conftest.py) and tests (test_ui.py)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from airflow_provider_cellcast.emulator import EmulatorClient

REPO = Path(__file__).resolve().parents[2]
#: The virtual environment's ``bin``: ``airflow standalone`` starts ``airflow`` subprocesses from PATH.
BIN = Path(sys.executable).parent
CHROMIUM = Path(os.environ.get("CELLCAST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
#: Where the documentation screenshots go (override with CELLCAST_SCREENSHOT_DIR).
SCREENSHOTS = Path(os.environ.get("CELLCAST_SCREENSHOT_DIR", REPO / "docs" / "screenshots"))
#: Where a failing test leaves a screenshot of the page (git-ignored).
FAILURE_ARTIFACTS = REPO / ".artifacts" / "e2e"

AIRFLOW_START_TIMEOUT = float(os.environ.get("CELLCAST_E2E_START_TIMEOUT", "180"))
EMULATOR_START_TIMEOUT = 30.0
STOP_GRACE_SECONDS = 10.0


def wait_until(
    check: Callable[[], Any], *, timeout: float, interval: float = 0.5, what: str, on_timeout: Callable[[], str] = str
) -> Any:
    """Call ``check`` until it returns something truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            result = check()
        except (requests.RequestException, OSError, ValueError, KeyError) as error:
            result, last_error = None, error
        if result:
            return result
        if time.monotonic() > deadline:
            detail = f" (last error: {last_error!r})" if last_error else ""
            pytest.fail(f"Timed out after {timeout:.0f} s waiting for {what}{detail}\n{on_timeout()}")
        time.sleep(interval)


def free_port() -> int:
    """A TCP port that is free on loopback right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _live_members(pgid: int) -> list[int]:
    """PIDs in process group ``pgid`` that are still running (zombies left to init do not count)."""
    proc = Path("/proc")
    if not proc.is_dir():  # pragma: no cover - not Linux: ask the kernel about the whole group
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return []
        return [pgid]
    members = []
    for stat in proc.glob("[0-9]*/stat"):
        try:
            # pid (comm) state ppid pgrp ...; comm may contain spaces and parentheses.
            after_comm = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(after_comm[2]) == pgid and after_comm[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def stop_process_group(process: subprocess.Popen[Any]) -> None:
    """SIGTERM the process's whole group, wait for it, then SIGKILL whatever is left of it.

    The process was started with ``start_new_session=True``, so its group ID is its PID and
    holds every process it started (Airflow's components, their workers and task processes).
    """
    pgid = process.pid
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    while time.monotonic() < deadline:
        process.poll()
        if not _live_members(pgid):
            break
        time.sleep(0.2)
    else:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL cannot be ignored
        pass


def tail(path: Path, lines: int = 60) -> str:
    """The end of a log file, for failure messages."""
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return f"(no log at {path})"
    return f"--- last {lines} lines of {path} ---\n" + "\n".join(text[-lines:])


@dataclass
class Emulator:
    url: str
    host: str
    port: int
    token: str
    client: EmulatorClient
    log: Path


@dataclass
class Airflow:
    url: str
    home: Path
    log: Path
    session: requests.Session = field(default_factory=requests.Session)

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call the public REST API (all users are admins, no token needed); return the JSON."""
        response = self.session.request(method, f"{self.url}/api/v2{path}", timeout=30, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def log_tail(self, lines: int = 80) -> str:
        return tail(self.log, lines)
