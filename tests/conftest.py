"""Test-wide setup: a throwaway AIRFLOW_HOME with a SQLite metadata database.

The environment is set before anything imports Airflow (pytest imports this file first), so
every test, and every ``dag.test()`` run, uses the temporary home and the repository's DAGs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

# The Cellcast emulator's fixtures (cellcast_emulator, cellcast_connection_env, ...): an opt-in plugin.
pytest_plugins = ["airflow_provider_cellcast.emulator.pytest_plugin"]

REPO = Path(__file__).resolve().parent.parent
_HOME = Path(tempfile.mkdtemp(prefix="cellcast-airflow-home-"))
os.environ["AIRFLOW_HOME"] = str(_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "dags")
# Two bundles: the example DAGs users get, and DAGs that exist only for the tests.
os.environ["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"] = json.dumps(
    [
        {
            "name": name,
            "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
            "kwargs": {"path": str(path), "refresh_interval": 0},
        }
        for name, path in (("examples", REPO / "dags"), ("tests", REPO / "tests" / "dags"))
    ]
)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_HOME / 'airflow.db'}"
os.environ.pop("AIRFLOW_CONN_CELLCAST_DEFAULT", None)


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Migrate the SQLite metadata database once per test session (needed by ``dag.test()``)."""
    done = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return _HOME
