"""Fixtures of the unit tests (the emulator's come from the plugin loaded by ``tests/conftest.py``)."""

from __future__ import annotations

import json

import pytest
from airflow.sdk.bases.operator import ExecutorSafeguard

from unit.fakes import SCRIPTED_CONN_ID
from unit.local_server import local_server, unanswered_port  # noqa: F401 - fixtures of the drivers' tests


@pytest.fixture
def allow_direct_execute(monkeypatch: pytest.MonkeyPatch) -> None:
    """Operators refuse ``execute()`` outside the task runner unless Airflow is in test mode."""
    monkeypatch.setattr(ExecutorSafeguard, "test_mode", True)


@pytest.fixture
def scripted_connection(monkeypatch: pytest.MonkeyPatch) -> str:
    """Define the connection ``scripted_hook`` uses (never contacted: its transport is scripted)."""
    conn = {"conn_type": "cellcast", "host": "https://cellcast.invalid", "password": "tok-scripted-0a1b2c"}
    monkeypatch.setenv(f"AIRFLOW_CONN_{SCRIPTED_CONN_ID.upper()}", json.dumps(conn))
    return SCRIPTED_CONN_ID
