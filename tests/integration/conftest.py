"""Integration fixtures: the emulator as a separate process, and real ``dag.test()`` runs."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_cellcast.emulator import EmulatorClient
from airflow_provider_cellcast.emulator import emulator_process as running_emulator

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@dataclass
class EmulatorProcess:
    url: str
    token: str
    client: EmulatorClient


@pytest.fixture(autouse=True)
def unwrapped_task_tracebacks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Airflow 3.0's ``dag.test()`` prints task exceptions as rich tracebacks wrapped at the terminal
    width (80 columns without a terminal), splitting messages the tests look for: widen it there."""
    from airflow_versions import AIRFLOW_VERSION, Version

    if Version("3.0") <= AIRFLOW_VERSION < Version("3.1"):
        monkeypatch.setenv("COLUMNS", "1000")


@pytest.fixture(scope="session")
def emulator_process() -> Iterator[EmulatorProcess]:
    """``cellcast-emulator`` started as its own process on a free loopback port."""
    with running_emulator() as client:
        yield EmulatorProcess(url=client.base_url, token=str(client.token), client=client)


@pytest.fixture
def emulator(emulator_process: EmulatorProcess, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorProcess]:
    """The emulator with fresh state, and ``cellcast_default`` pointing at it."""
    emulator_process.client.reset()
    monkeypatch.setenv(
        "AIRFLOW_CONN_CELLCAST_DEFAULT",
        json.dumps({"conn_type": "cellcast", "host": emulator_process.url, "password": emulator_process.token}),
    )
    yield emulator_process
    emulator_process.client.reset()


def load_dag(dag_id: str, folder: Path = REPO / "dags") -> Any:
    """Parse a DAG folder the way the DAG processor does and return one of its DAGs."""
    from airflow_versions import dag_bag

    bag = dag_bag(folder)
    assert not bag.import_errors, bag.import_errors
    return bag.dags[dag_id]


@dataclass
class DagRunResult:
    state: str
    task_states: dict[str, str]
    try_numbers: dict[str, int]
    xcom: dict[tuple[str, str], Any]
    run_id: str = ""

    def task_state(self, task_id: str) -> str:
        return self.task_states[task_id]


def run_dag(dag: Any, conf: dict[str, Any] | None = None) -> DagRunResult:
    """``dag.test()`` on the SQLite database; return the states and every XCom of the run.

    Give every param in ``conf``: a DAG object reused across runs keeps params of earlier runs.
    """
    from airflow.utils.session import create_session
    from airflow_versions import run_xcoms

    dag_run = dag.test(run_conf=conf)
    xcom = run_xcoms(dag.dag_id, dag_run.run_id)
    with create_session() as session:
        instances = dag_run.get_task_instances(session=session)
        return DagRunResult(
            state=str(dag_run.state),
            task_states={ti.task_id: str(ti.state) for ti in instances},
            try_numbers={ti.task_id: ti.try_number for ti in instances},
            xcom=xcom,
            run_id=dag_run.run_id,
        )
