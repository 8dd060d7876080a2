"""The pytest plugin's fixtures."""

from __future__ import annotations

import json
import os

import requests

from airflow_provider_cellcast.emulator.server import CellcastEmulator


def test_connection_env_points_at_the_emulator(cellcast_connection_env: CellcastEmulator) -> None:
    conn = json.loads(os.environ["AIRFLOW_CONN_CELLCAST_DEFAULT"])
    assert conn == {"conn_type": "cellcast", "host": cellcast_connection_env.url, "password": "test-token"}
    response = requests.get(
        f"{conn['host']}/api/v1/user/token/verify", headers={"Authorization": f"Bearer {conn['password']}"}, timeout=5
    )
    assert response.json()["status"] is True


def test_each_test_gets_fresh_state(cellcast_emulator: CellcastEmulator) -> None:
    assert cellcast_emulator.running
    assert cellcast_emulator.messages() == []
    assert cellcast_emulator.requests_log() == []
    assert cellcast_emulator.faults() == []


def test_a_second_emulator_runs_beside_the_session_one(cellcast_emulator: CellcastEmulator) -> None:
    with CellcastEmulator(token="other-token") as other:
        assert other.port != cellcast_emulator.port
        assert "other-token" not in repr(other)
        verify = requests.get(
            f"{other.url}/api/v1/user/token/verify", headers={"Authorization": "Bearer other-token"}, timeout=5
        )
        assert verify.status_code == 200
    assert not other.running
