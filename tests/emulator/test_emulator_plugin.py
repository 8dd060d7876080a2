"""The pytest plugin's fixtures, and that the plugin is opt-in (``-p`` or ``pytest_plugins``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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


# ------------------------------------------------------------------------------------------ opt-in
PLUGIN = "airflow_provider_cellcast.emulator.pytest_plugin"
USER_TEST = """
def test_user_cancel(cellcast_connection_env):
    emulator = cellcast_connection_env
    [message_id] = emulator.schedule_campaign(contacts=["61400000001"], custom_string="user-ref")
    emulator.state.cancel(message_id, "sms")
    assert emulator.message(message_id)["status"] == "canceled"
"""


def _pytest_in(directory: Path, *options: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *options, str(directory)],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_plugin_is_not_loaded_unless_asked(tmp_path: Path) -> None:
    (tmp_path / "test_user.py").write_text(USER_TEST)
    done = _pytest_in(tmp_path)
    assert done.returncode == 1, done.stdout
    assert "fixture 'cellcast_connection_env' not found" in done.stdout


def test_plugin_loads_with_dash_p(tmp_path: Path) -> None:
    (tmp_path / "test_user.py").write_text(USER_TEST)
    done = _pytest_in(tmp_path, "-p", PLUGIN)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


def test_plugin_loads_from_a_conftest(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(f"pytest_plugins = [{PLUGIN!r}]\n")
    (tmp_path / "test_user.py").write_text(USER_TEST)
    done = _pytest_in(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
