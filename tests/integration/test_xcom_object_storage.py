"""Our operators under Airflow's object-storage XCom backend (``apache-airflow-providers-common-io``).

Large campaigns should keep their per-ID XComs out of the metadata database: with
``XComObjectStorageBackend`` and a threshold, ``results`` (and the send's IDs) land in object
storage (a ``file://`` path here) while the database keeps a reference, and the chain send ->
sensor -> cancel -> a downstream task reads them back unchanged.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from airflow_versions import without_dag_test_mask_echo
from conftest import REPO

pytestmark = pytest.mark.integration
pytest.importorskip("airflow.providers.common.io.xcom.backend", reason="needs apache-airflow-providers-common-io")


def test_a_campaign_chain_runs_with_its_xcoms_in_object_storage(emulator, airflow_db, tmp_path: Path):
    store = tmp_path / "xcom"
    store.mkdir()
    contacts = [f"614{number:08d}" for number in range(300)]
    env = {
        **os.environ,
        "AIRFLOW__CORE__XCOM_BACKEND": "airflow.providers.common.io.xcom.backend.XComObjectStorageBackend",
        "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_PATH": f"file://{store}",
        "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_THRESHOLD": "2048",
        "PYTHONPATH": os.pathsep.join([str(REPO / "tests"), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, str(REPO / "tests" / "integration" / "xcom_object_storage_run.py"), json.dumps(contacts)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(lines[-1][len("RESULT ") :])
    assert result["state"] == "success", done.stdout[-3000:]
    assert result["send_ids"] == 300 and result["results"] == 300
    assert result["outcomes"] == {"cancelled": 300}
    assert result["summary"]["outcomes"]["cancelled"] == 300
    # The large XComs are object-storage paths in the database; the small summary is inline.
    assert str(store) in result["stored"]["cancel/results"]
    assert str(store) in result["stored"]["send/return_value"]
    assert str(store) not in result["stored"]["cancel/return_value"]
    files = [path for path in store.rglob("*") if path.is_file()]
    assert len(files) >= 3  # send's IDs, its send_result, the cancel's results (and the sensor's statuses)
    # Airflow 3.0's dag.test() echoes what it registers for masking (its own lines, set aside).
    assert emulator.token not in without_dag_test_mask_echo(done.stdout + done.stderr)
