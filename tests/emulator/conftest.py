"""Shared fixtures for the emulator tests: every test talks to a real server over loopback HTTP."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest
from emulator_helpers import Api, start_cli

from airflow_provider_cellcast.emulator.server import CellcastEmulator

_CLI_PROCESS = pytest.StashKey["subprocess.Popen[str]"]()


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.kill()
        process.communicate()


@pytest.hookimpl(trylast=True)  # after -k and -m deselected items
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The command takes seconds to start (it imports Airflow): start it now, so that its start
    # overlaps the tests that run before the CLI test instead of adding to the total.
    if any(item.path.name == "test_emulator_subprocess_cli.py" for item in items):
        config.stash[_CLI_PROCESS] = start_cli()


def pytest_unconfigure(config: pytest.Config) -> None:
    process = config.stash.get(_CLI_PROCESS, None)
    if process is not None:
        _stop(process)


@pytest.fixture
def cli_process(request: pytest.FixtureRequest) -> Iterator[subprocess.Popen[str]]:
    """The emulator command, started during collection; killed after the test if still running."""
    process = request.config.stash.get(_CLI_PROCESS, None) or start_cli()
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
