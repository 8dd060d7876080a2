"""pytest fixtures for testing against the Cellcast emulator: an opt-in plugin.

Installing the provider does not register it (no ``pytest11`` entry point: pytest runs of
projects that do not use it never load it). Load it either way:

* in the top-level ``conftest.py`` of your tests (pytest accepts ``pytest_plugins`` only there)::

      pytest_plugins = ["airflow_provider_cellcast.emulator.pytest_plugin"]

* or on the command line (or in ``addopts``)::

      pytest -p airflow_provider_cellcast.emulator.pytest_plugin

It imports nothing heavy: the server parts load inside the fixtures.

Fixtures:

``cellcast_emulator``
    A running :class:`~airflow_provider_cellcast.emulator.server.CellcastEmulator`, reset before
    (and after) each test. One server serves the whole session.
``cellcast_connection_env``
    The same emulator, with ``AIRFLOW_CONN_CELLCAST_DEFAULT`` pointing at it for the test.
``cellcast_emulator_session``
    The session-wide server itself, not reset (for session-scoped fixtures of your own).

Example::

    def test_cancel(cellcast_connection_env):
        emulator = cellcast_connection_env
        [message_id] = emulator.schedule_campaign(contacts=["61400000001"])
        CellcastHook().cancel_scheduled_message(message_id, "sms")
        assert emulator.message(message_id)["status"] == "canceled"
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from airflow_provider_cellcast.emulator.server import CellcastEmulator

#: The connection ID ``cellcast_connection_env`` defines.
CONNECTION_ID = "cellcast_default"
CONNECTION_ENV = f"AIRFLOW_CONN_{CONNECTION_ID.upper()}"


@pytest.fixture(scope="session")
def cellcast_emulator_session() -> Iterator[CellcastEmulator]:
    """One Cellcast emulator for the whole test session (token ``test-token``)."""
    from airflow_provider_cellcast.emulator.server import CellcastEmulator

    with CellcastEmulator() as emulator:
        yield emulator


@pytest.fixture
def cellcast_emulator(cellcast_emulator_session: CellcastEmulator) -> Iterator[CellcastEmulator]:
    """A running Cellcast emulator with fresh state (messages, faults, settings, clock)."""
    cellcast_emulator_session.reset()
    yield cellcast_emulator_session
    # Also ends any hang fault still holding a request of this test.
    cellcast_emulator_session.reset()


@pytest.fixture
def cellcast_connection_env(cellcast_emulator: CellcastEmulator, monkeypatch: pytest.MonkeyPatch) -> CellcastEmulator:
    """Point Airflow's ``cellcast_default`` connection at the emulator; return the emulator."""
    monkeypatch.setenv(
        CONNECTION_ENV,
        json.dumps({"conn_type": "cellcast", "host": cellcast_emulator.url, "password": cellcast_emulator.token}),
    )
    return cellcast_emulator
