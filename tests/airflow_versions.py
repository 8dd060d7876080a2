"""Where the Airflow internals that the DAG-level tests read live, on every supported release.

The provider imports moved names from ``airflow.providers.common.compat``; the tests also read
Airflow's own machinery (the DAG bag, the XCom table, DAG serialization), which common-compat does
not cover and which moved between 2.11 and 3.3. This module names them once, so that every test
runs unchanged on each row of ``scripts/test-matrix``.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from airflow import __version__ as _airflow_version
from packaging.version import Version

AIRFLOW_VERSION = Version(Version(_airflow_version).base_version)
AIRFLOW_3 = AIRFLOW_VERSION >= Version("3.0")


def dag_bag(folder: Path | str) -> Any:
    """A DAG folder parsed the way the DAG processor (2.x: the scheduler) parses it."""
    try:
        from airflow.dag_processing.dagbag import DagBag  # 3.2+
    except ImportError:
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef,attr-defined]  # 2.11-3.1
    # 3.3 dropped ``include_examples`` (examples follow [core] load_examples, off in the tests).
    if "include_examples" in inspect.signature(DagBag.__init__).parameters:
        return DagBag(dag_folder=str(folder), include_examples=False)
    return DagBag(dag_folder=str(folder))


def xcom_model() -> Any:
    """The XCom table's ORM class: ``XComModel`` in 3.x, ``XCom`` in 2.x."""
    from airflow.models import xcom

    return getattr(xcom, "XComModel", None) or xcom.XCom


def run_xcoms(dag_id: str, run_id: str) -> dict[tuple[str, str], Any]:
    """Every XCom of one DAG run, deserialized: ``{(task_id, key): value}``."""
    from airflow.utils.session import create_session

    model = xcom_model()
    with create_session() as session:
        # Plain rows (columns, not ORM objects): deserialize_value only reads ``.value``.
        columns = (model.task_id, model.key, model.value)
        rows = session.query(*columns).filter(model.dag_id == dag_id, model.run_id == run_id).all()
        return {(row.task_id, row.key): model.deserialize_value(row) for row in rows}


def read_xcom(dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
    """One XCom of a DAG run (first map index), or ``None`` when there is none."""
    return run_xcoms(dag_id, run_id).get((task_id, key))


def dag_serialization() -> Any:
    """What the DAG processor uses to store DAGs: ``DagSerialization`` (3.2+), else ``SerializedDAG``."""
    from airflow.serialization import serialized_objects

    return getattr(serialized_objects, "DagSerialization", None) or serialized_objects.SerializedDAG


def reschedule_count(dag_id: str, run_id: str, task_id: str) -> int:
    """How often a sensor in reschedule mode gave its slot back (rows of ``task_reschedule``).

    2.x keys the rows by dag, run and task; 3.x by the task instance's id.
    """
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.taskreschedule import TaskReschedule
    from airflow.utils.session import create_session

    with create_session() as session:
        query = session.query(TaskReschedule)
        if hasattr(TaskReschedule, "ti_id"):
            query = query.join(TaskInstance, TaskInstance.id == TaskReschedule.ti_id)
            key = TaskInstance
        else:
            key = TaskReschedule  # type: ignore[assignment]
        return int(query.filter(key.dag_id == dag_id, key.run_id == run_id, key.task_id == task_id).count())


def without_dag_test_mask_echo(text: str) -> str:
    """``text`` without what Airflow 3.0's ``dag.test()`` prints of values it does not mask.

    Only on 3.0.x, where ``dag.test()`` (not the workers, and not 3.1+):

    * logs every request of the task to its in-process supervisor at debug level
      (``InProcessSupervisorComms.send``), ``MaskSecret(value=...)`` included, before the value is
      registered with the masker: Airflow prints the connection's password there whenever it
      fetches a connection;
    * prints task exceptions as rich tracebacks with the local variables of every frame (the
      console renderer's defaults), unmasked: urllib3's frames hold the request headers.

    Those lines of Airflow's own (the debug echo, the traceback panels drawn in box characters) are
    dropped; everything else, the exception's own message line included, is still searched.
    """
    if not Version("3.0") <= AIRFLOW_VERSION < Version("3.1"):
        return text
    return "\n".join(
        line
        for line in text.splitlines()
        if not ("Sending request" in line and "MaskSecret(" in line) and not line.startswith(("│", "╭", "╰"))
    )
