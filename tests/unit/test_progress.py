"""Where a bulk cancel keeps its progress (progress.py): bitmaps, the two stores, which store a task gets.

The Airflow objects (the task state store of Airflow 3.3, ``Variable`` before it, the task
instance) are simple stand-ins here; the stores are used for real by the integration tests.
"""

from __future__ import annotations

import base64
import json
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.providers.common.compat import sdk

from airflow_provider_cellcast.progress import (
    PROGRESS_KEY,
    CancelProgress,
    TaskStateProgressStore,
    VariableProgressStore,
    progress_store_for,
)

IDS = [f"{i:024x}" for i in range(1, 21)]

# -- the record ---------------------------------------------------------------------------------------


def test_settled_ids_round_trip_through_a_json_record() -> None:
    progress = CancelProgress(IDS, "sms")
    progress.mark(IDS[0], "cancelled")
    progress.mark(IDS[9], "already_cancelled")
    progress.mark(IDS[19], "cancelled")
    progress.mark(IDS[5], "failed")  # not settled: tried again
    record = json.loads(json.dumps(progress.to_record()))
    again = CancelProgress(IDS, "sms")
    assert again.restore(record) is True
    assert again.settled() == {IDS[0]: "cancelled", IDS[9]: "already_cancelled", IDS[19]: "cancelled"}


def test_ids_are_marked_by_their_position() -> None:
    progress = CancelProgress(IDS, "sms")
    progress.mark_index(0, "cancelled")
    progress.mark_index(9, "already_cancelled")
    progress.mark_index(19, "cancelled")
    progress.mark_index(5, "failed")  # not settled: tried again
    progress.mark_index(7, "cancelled")
    assert progress.settled_indexes() == {0: "cancelled", 7: "cancelled", 19: "cancelled", 9: "already_cancelled"}
    assert progress.settled() == {IDS[0]: "cancelled", IDS[7]: "cancelled", IDS[9]: "already_cancelled",
                                  IDS[19]: "cancelled"}  # fmt: skip
    by_id = CancelProgress(IDS, "sms")
    for index, outcome in progress.settled_indexes().items():
        by_id.mark(IDS[index], outcome)
    assert by_id.to_record() == progress.to_record()  # the same bitmaps, by position or by ID
    again = CancelProgress(IDS, "sms")
    assert again.restore(progress.to_record()) and again.settled_indexes() == progress.settled_indexes()


def test_settled_indexes_of_every_bit_of_a_byte() -> None:
    ids = [f"{i:024x}" for i in range(17)]  # three bytes, the last one partly used
    progress = CancelProgress(ids, "mms")
    for index in range(17):
        progress.mark_index(index, "already_cancelled" if index % 2 else "cancelled")
    assert progress.settled_indexes() == {i: "already_cancelled" if i % 2 else "cancelled" for i in range(17)}


def test_the_record_is_small_bitmaps_and_a_digest() -> None:
    ids = [f"{i:024x}" for i in range(100_000)]
    progress = CancelProgress(ids, "sms")
    for message_id in ids[::3]:
        progress.mark(message_id, "cancelled")
    record = progress.to_record()
    assert set(record) == {"layout", "digest", "cancelled", "already_cancelled"} and record["layout"] == 1
    assert len(base64.b64decode(record["cancelled"])) == 12_500  # one bit per ID
    assert len(json.dumps(record)) < 40_000  # under the task state store's 64 KB advisory limit
    assert len(CancelProgress(ids, "sms").restore(record) and progress.settled()) == 33_334


def test_nothing_settled_restores_nothing() -> None:
    progress = CancelProgress(IDS, "mms")
    assert progress.settled() == {}
    assert CancelProgress(IDS, "mms").restore(progress.to_record()) is True


@pytest.mark.parametrize(
    ("ids", "message_type"),
    [(IDS[:-1], "sms"), ([*IDS, "f" * 24], "sms"), (list(reversed(IDS)), "sms"), (IDS, "mms")],
    ids=["fewer-ids", "more-ids", "other-order", "other-type"],
)
def test_a_record_of_another_cancel_is_ignored(ids: list[str], message_type: str) -> None:
    progress = CancelProgress(IDS, "sms")
    for message_id in IDS:
        progress.mark(message_id, "cancelled")
    other = CancelProgress(ids, message_type)
    assert other.restore(progress.to_record()) is False
    assert other.settled() == {}


@pytest.mark.parametrize(
    "change",
    [
        {"layout": 2},
        {"layout": None},
        {"cancelled": "!!! not base64 !!!"},
        {"cancelled": base64.b64encode(b"\xff").decode()},  # a bitmap of another length
        {"already_cancelled": None},  # str(None) would decode to a bitmap of the right length
        {"cancelled": 1234},
    ],
)
def test_a_record_of_another_layout_or_damaged_is_ignored(change: dict[str, Any]) -> None:
    progress = CancelProgress(IDS, "sms")
    progress.mark(IDS[0], "cancelled")
    record = {**progress.to_record(), **change}
    fresh = CancelProgress(IDS, "sms")
    assert fresh.restore(record) is False and fresh.settled() == {}


def test_a_record_without_a_bitmap_or_nothing_at_all_is_ignored() -> None:
    record = CancelProgress(IDS, "sms").to_record()
    del record["already_cancelled"]
    assert CancelProgress(IDS, "sms").restore(record) is False
    assert CancelProgress(IDS, "sms").restore(None) is False and CancelProgress(IDS, "sms").restore({}) is False


# -- the stores -----------------------------------------------------------------------------------------


class FakeTaskStateStore:
    """Airflow 3.3's ``context["task_state_store"]``: get, set, delete by key."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, key: str) -> Any:
        return self.values.get(key)

    def set(self, key: str, value: Any) -> None:
        self.values[key] = json.loads(json.dumps(value))

    def delete(self, key: str) -> None:
        self.values.pop(key, None)


def test_the_task_state_store_keeps_the_record_under_its_key() -> None:
    backing = FakeTaskStateStore()
    store = TaskStateProgressStore(backing)
    assert store.load() is None
    record = CancelProgress(IDS, "sms").to_record()
    store.save(record)
    assert backing.values == {PROGRESS_KEY: record} and store.load() == record
    backing.values[PROGRESS_KEY] = "not a record"
    assert store.load() is None  # something else under the key is not a record
    store.clear()
    assert backing.values == {}


class FakeVariable:
    """``Variable`` with its ``get``/``set``/``delete`` signatures; JSON as Airflow stores it."""

    stored: dict[str, str] = {}  # noqa: RUF012 - reset by the fixture
    calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []  # noqa: RUF012

    @classmethod
    def get(cls, key: str, default: Any = None, *, deserialize_json: bool = False) -> Any:
        cls.calls.append(("get", (key, default), {"deserialize_json": deserialize_json}))
        if key not in cls.stored:
            return default
        return json.loads(cls.stored[key]) if deserialize_json else cls.stored[key]

    @classmethod
    def set(cls, key: str, value: Any, *, serialize_json: bool = False, description: str | None = None) -> None:
        cls.calls.append(("set", (key,), {"serialize_json": serialize_json, "description": description}))
        cls.stored[key] = json.dumps(value) if serialize_json else str(value)

    @classmethod
    def delete(cls, key: str) -> None:
        cls.calls.append(("delete", (key,), {}))
        cls.stored.pop(key, None)


@pytest.fixture
def variables(monkeypatch: pytest.MonkeyPatch) -> type[FakeVariable]:
    FakeVariable.stored, FakeVariable.calls = {}, []
    monkeypatch.setattr(sdk, "Variable", FakeVariable, raising=False)
    return FakeVariable


def test_the_variable_store_keeps_the_record_as_json(variables: type[FakeVariable]) -> None:
    store = VariableProgressStore("cellcast_cancel_progress__abc")
    assert store.load() is None
    record = CancelProgress(IDS, "sms").to_record()
    store.save(record)
    assert json.loads(variables.stored["cellcast_cancel_progress__abc"]) == record
    assert store.load() == record
    store.clear()
    assert variables.stored == {}
    assert variables.calls[0] == ("get", ("cellcast_cancel_progress__abc", None), {"deserialize_json": True})
    assert variables.calls[1][2] == {"serialize_json": True, "description": "Progress of a Cellcast bulk cancel"}


def test_a_variable_that_is_not_a_record_is_ignored(variables: type[FakeVariable]) -> None:
    variables.stored["k"] = json.dumps([1, 2])
    assert VariableProgressStore("k").load() is None


# -- which store a task gets --------------------------------------------------------------------------------


def ti(**fields: Any) -> SimpleNamespace:
    values = {"dag_id": "dag", "run_id": "manual__1", "task_id": "cancel", "map_index": -1, **fields}
    return SimpleNamespace(**values)


def test_the_task_state_store_when_airflow_has_one() -> None:
    backing = FakeTaskStateStore()
    store = progress_store_for({"task_state_store": backing, "ti": ti()})
    assert isinstance(store, TaskStateProgressStore)
    store.save({"layout": 1})
    assert backing.values == {PROGRESS_KEY: {"layout": 1}}


def test_a_variable_named_after_the_task_instance_otherwise(variables: type[FakeVariable]) -> None:
    store = progress_store_for({"ti": ti()})
    assert isinstance(store, VariableProgressStore)
    store.save({"layout": 1})
    [key] = variables.stored
    assert key.startswith(f"{PROGRESS_KEY}__") and len(key) == len(PROGRESS_KEY) + 2 + 32
    assert "dag" not in key.removeprefix(PROGRESS_KEY)  # a digest, whatever the IDs' characters
    # The same task instance (any try) finds it again; another run, task or map index does not.
    again = progress_store_for({"ti": ti()})
    assert again is not None and again.load() == {"layout": 1}
    for other in (ti(run_id="manual__2"), ti(task_id="other"), ti(map_index=3), ti(dag_id="dag2")):
        store_ = progress_store_for({"ti": other})
        assert store_ is not None and store_.load() is None


def test_no_store_outside_a_task_run() -> None:
    assert progress_store_for({}) is None
    assert progress_store_for({"ti": SimpleNamespace(dag_id="dag", task_id="t")}) is None  # no run_id
