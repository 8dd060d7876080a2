"""Run ``cellcast-emulator`` as a separate process, e.g. for a demo or a test of a real deployment."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from airflow_provider_cellcast.emulator.client import EmulatorClient


@contextmanager
def emulator_process(
    token: str | None = None, *options: str, env: Mapping[str, str] | None = None
) -> Iterator[EmulatorClient]:
    """Start the emulator in its own process on a free loopback port; stop it on exit.

    Yields an :class:`EmulatorClient` for it (``.base_url``; ``token`` is its default token).
    The token goes to the process through ``CELLCAST_EMULATOR_TOKEN``, never its command line.
    ``options`` are further command-line options, e.g. ``"--rate-limit", "40"``; ``env`` replaces
    the process environment (default: this process's).

    .. code-block:: python

        with emulator_process() as emulator:
            [message_id] = emulator.schedule_campaign(contacts=["61400000001"])
    """
    token = token or secrets.token_urlsafe(24)
    # Our own interpreter and module, fixed arguments: nothing here comes from untrusted input.
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "airflow_provider_cellcast.emulator", "--port", "0", "--no-access-log", *options],
        env={**(os.environ if env is None else env), "CELLCAST_EMULATOR_TOKEN": token},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = ""
        for line in process.stdout:  # blocks until the emulator says where it listens
            if "listening on" in line:
                url = line.rsplit(" ", 1)[-1].strip()
                break
        if not url:
            raise RuntimeError(f"cellcast-emulator exited before listening (exit code {process.wait()})")
        # Keep reading its output, so that a chatty emulator never blocks on a full pipe.
        threading.Thread(target=process.stdout.read, daemon=True).start()
        client = EmulatorClient(url, token=token)
        try:
            yield client
        finally:
            client.close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
