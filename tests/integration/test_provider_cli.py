"""Registration with Airflow: provider info, `airflow providers list`, `airflow connections test`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_cellcast import get_provider_info

pytestmark = pytest.mark.integration
AIRFLOW = str(Path(sys.executable).parent / "airflow")


def test_provider_info_validates_against_airflows_schema():
    import airflow
    import jsonschema

    schema_path = Path(airflow.__file__).parent / "provider_info.schema.json"
    jsonschema.validate(get_provider_info(), json.loads(schema_path.read_text()))
    info = get_provider_info()
    [connection] = info["connection-types"]
    assert connection["connection-type"] == "cellcast"
    assert connection["hook-class-name"] == "airflow_provider_cellcast.hooks.cellcast.CellcastHook"


def test_hook_class_matches_the_registration():
    from airflow_provider_cellcast.hooks.cellcast import CellcastHook

    assert (CellcastHook.conn_type, CellcastHook.conn_name_attr, CellcastHook.default_conn_name) == (
        "cellcast",
        "cellcast_conn_id",
        "cellcast_default",
    )
    # Connection.get_hook() builds the hook with the conn_name_attr keyword.
    assert CellcastHook(cellcast_conn_id="x").cellcast_conn_id == "x"


def airflow_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [AIRFLOW, *args], capture_output=True, text=True, timeout=180, env={**os.environ, **(env or {})}
    )


def json_output(stdout: str) -> Any:
    """The JSON document a ``-o json`` command printed: Airflow 3.0 prints log lines before it."""
    try:
        return json.loads(stdout)
    except json.JSONDecodeError:
        [document] = [line for line in stdout.splitlines() if line.startswith(("[{", "[]"))][-1:]
        return json.loads(document)


def test_providers_list_shows_the_package(airflow_db):
    done = airflow_cli("providers", "list", "-o", "json")
    assert done.returncode == 0, done.stderr[-2000:]
    packages = {item["package_name"]: item for item in json_output(done.stdout)}
    assert "airflow-provider-cellcast" in packages


def test_connections_test_uses_get_and_tells_good_from_bad_token(airflow_db, emulator):
    def test_with(token: str) -> subprocess.CompletedProcess[str]:
        conn = json.dumps({"conn_type": "cellcast", "host": emulator.url, "password": token})
        return airflow_cli(
            "connections",
            "test",
            "cellcast_default",
            env={"AIRFLOW_CONN_CELLCAST_DEFAULT": conn, "AIRFLOW__CORE__TEST_CONNECTION": "Enabled"},
        )

    good = test_with(emulator.token)
    assert "Connection success!" in good.stdout, good.stdout[-2000:] + good.stderr[-2000:]

    bad = test_with("not-the-token-91c3")
    assert "Connection success!" not in bad.stdout
    assert "HTTP 401" in bad.stdout + bad.stderr
    assert "not-the-token-91c3" not in bad.stdout + bad.stderr

    journal = emulator.client.requests_log()
    assert [(entry["method"], entry["path"]) for entry in journal] == [("GET", "/api/v1/user/token/verify")] * 2
    assert [entry["auth_valid"] for entry in journal] == [True, False]
