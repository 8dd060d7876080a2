"""Every example DAG survives Airflow 3.3's DAG serialization, the way the DAG processor stores it.

The DAG processor parses dags/ (``DagBag``), serializes each DAG with
``airflow.serialization.serialized_objects.DagSerialization.to_dict`` (validated against
``airflow/serialization/schema.json``) into the metadata database as JSON; the scheduler and the
API server (UI, trigger form, rendered fields) only ever see ``DagSerialization.from_dict`` of that
JSON (a ``SerializedDAG``). What our operators define must come back intact: task type and module,
template fields and their renderers, UI colours, and the DAG params behind the trigger form.
No network and no metadata database needed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_cellcast.validation import MESSAGE_TYPES

REPO = Path(__file__).resolve().parents[2]
DAGS_FOLDER = REPO / "dags"
DAG_FILES = sorted(path.name for path in DAGS_FOLDER.glob("*.py") if not path.name.startswith("_"))
#: BaseOperator's colours: our operators must look different.
DEFAULT_COLOURS = {"#fff", "#ffffff", "#000", "#000000"}
PROVIDER_MODULE = "airflow_provider_cellcast."


@pytest.fixture(scope="module")
def dagbag() -> Any:
    """dags/ parsed the way the DAG processor parses it."""
    from airflow_versions import dag_bag

    return dag_bag(DAGS_FOLDER)


def roundtrip(dag: Any) -> Any:
    """``dag`` serialized to JSON text and back, as stored in and read from the metadata database."""
    from airflow_versions import dag_serialization

    DagSerialization = dag_serialization()
    encoded = DagSerialization.to_dict(dag)  # raises if the JSON schema is not met
    text = json.dumps(encoded)
    restored = json.loads(text)
    DagSerialization.validate_schema(restored)
    return DagSerialization.from_dict(restored)


def dags_in(dagbag: Any, file_name: str) -> list[Any]:
    return [dag for dag in dagbag.dags.values() if Path(dag.fileloc).name == file_name]


def test_dag_folder_imports_without_errors_or_warnings(dagbag: Any) -> None:
    assert dagbag.import_errors == {}
    assert dagbag.captured_warnings == {}, "DAG files should parse without (deprecation) warnings"
    files_with_dags = {Path(dag.fileloc).name for dag in dagbag.dags.values()}
    assert files_with_dags == set(DAG_FILES), "every file in dags/ should define a DAG"
    assert {"cellcast_cancel_campaign", "cellcast_schedule_and_cancel"} <= set(dagbag.dags)
    for dag in dagbag.dags.values():
        assert dag.tasks, f"{dag.dag_id} has no tasks"


@pytest.mark.parametrize("file_name", DAG_FILES)
def test_dag_survives_serialization(dagbag: Any, file_name: str) -> None:
    dags = dags_in(dagbag, file_name)
    assert dags, f"{file_name} defines no DAG (import errors: {dagbag.import_errors})"
    for dag in dags:
        restored = roundtrip(dag)
        assert restored.dag_id == dag.dag_id
        assert set(restored.task_dict) == set(dag.task_dict)
        assert restored.description == dag.description
        assert restored.doc_md == dag.doc_md
        assert_params_equal(dag, restored)
        for task_id, task in dag.task_dict.items():
            assert_task_equal(task, restored.get_task(task_id))


def assert_params_equal(dag: Any, restored: Any) -> None:
    """The trigger form is built from these: schema (type, pattern, enum, title), description, default."""
    assert set(restored.params) == set(dag.params), dag.dag_id
    for name in dag.params:
        original = dag.params.get_param(name)
        param = restored.params.get_param(name)
        assert param.schema == original.schema, f"{dag.dag_id}: param {name}"
        assert param.description == original.description, f"{dag.dag_id}: param {name}"
        expected_value = None if not original.has_value else original.value
        assert param.dump()["value"] == expected_value, f"{dag.dag_id}: param {name}"


def assert_task_equal(task: Any, restored: Any) -> None:
    where = f"{task.dag_id}.{task.task_id}"
    assert restored.task_type == type(task).__name__, where
    assert restored._task_module == type(task).__module__, where
    assert tuple(restored.template_fields) == tuple(task.template_fields), where
    assert dict(restored.template_fields_renderers) == dict(task.template_fields_renderers), where
    assert (restored.ui_color, restored.ui_fgcolor) == (task.ui_color, task.ui_fgcolor), where
    for field in task.template_fields:
        value = getattr(task, field)
        if isinstance(value, str | int | float | bool | type(None)):  # XComArgs become references
            assert getattr(restored, field) == value, f"{where}: template field {field}"
    if type(task).__module__.startswith(PROVIDER_MODULE):
        assert task.ui_color.lower() not in DEFAULT_COLOURS, f"{where}: no UI colour of its own"
        secretish = [name for name in task.template_fields if any(word in name for word in ("token", "password"))]
        assert not secretish, f"{where}: secrets must never be template fields (rendered in the UI)"


def test_cancel_campaign_dag_keeps_its_trigger_form_and_operator(dagbag: Any) -> None:
    restored = roundtrip(dagbag.dags["cellcast_cancel_campaign"])

    # Either a campaign reference or message IDs, both optional in the form; the task insists on one.
    reference = restored.params.get_param("custom_string")
    assert reference.schema["type"] == ["null", "string"]
    assert reference.schema["title"] == "Campaign reference"
    assert reference.dump()["value"] is None
    message_id = restored.params.get_param("message_id")
    assert message_id.schema["type"] == ["null", "string"]
    assert message_id.schema["format"] == "multiline"  # a text area in the 3.x trigger form
    assert message_id.schema["title"] == "Message IDs"
    assert "24-character IDs" in message_id.description
    assert message_id.dump()["value"] is None
    pattern = re.compile(message_id.schema["pattern"])
    first, second = "675161d8a000000000000000", "675161D8A000000000000001"
    for accepted in ("", first, f" {first}\n{second}\n", f"{first}, {second} {first}"):
        assert pattern.search(accepted), accepted
    for refused in ("x", first[:-1], first + second, f"{first}\nnot-an-id"):
        assert not pattern.search(refused), refused
    message_type = restored.params.get_param("message_type")
    assert message_type.schema["enum"] == list(MESSAGE_TYPES)  # rendered as a dropdown
    assert message_type.dump()["value"] == "sms"

    task = restored.get_task("cancel_campaign")
    assert task.task_type == "CellcastCancelCampaignOperator"
    assert tuple(task.template_fields) == ("message_id", "custom_string", "message_type", "cellcast_conn_id")
    assert task.template_fields_renderers == {"message_id": "py"}
    assert (task.message_id, task.custom_string, task.message_type) == (
        "{{ params.message_id or '' }}",
        "{{ params.custom_string or '' }}",
        "{{ params.message_type }}",
    )
    assert (task.ui_color, task.ui_fgcolor) == ("#FFE3C2", "#3D2200")


def test_provider_operators_have_distinct_colours() -> None:
    from airflow_provider_cellcast.operators.cancel_campaign import CellcastCancelCampaignOperator
    from airflow_provider_cellcast.operators.send_sms import CellcastSendSmsOperator
    from airflow_provider_cellcast.sensors.message_status import CellcastMessageStatusSensor

    classes = [CellcastCancelCampaignOperator, CellcastSendSmsOperator, CellcastMessageStatusSensor]
    colours = {cls.__name__: cls.ui_color.upper() for cls in classes}
    assert len(set(colours.values())) == len(classes), colours
    assert not {colour.lower() for colour in colours.values()} & DEFAULT_COLOURS, colours
