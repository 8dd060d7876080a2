"""Shared fixtures for the emulator tests: every test talks to a real server over loopback HTTP."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest
from emulator_helpers import Api, start_cli

from airflow_provider_cellcast.emulator.server import CellcastEmulator


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.kill()
        process.communicate()


@pytest.fixture
def cli_process() -> Iterator[subprocess.Popen[str]]:
    """The emulator command, started for the test; killed after it if still running."""
    process = start_cli()
    try:
        yield process
    finally:
        _stop(process)


@pytest.fixture
def emulator(cellcast_emulator: CellcastEmulator) -> CellcastEmulator:
    """The plugin's emulator (fresh state per test)."""
    return cellcast_emulator


@pytest.fixture
def api(emulator: CellcastEmulator) -> Iterator[Api]:
    client = Api(emulator)
    yield client
    client.session.close()
