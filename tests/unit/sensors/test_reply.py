"""CellcastReplySensor without a network: parse-time checks, pokes, where the snapshot lives, faults.

The sensor's hook is given a real client whose transport is a scripted Cellcast (``unit.scripted_inbox``).
"""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_cellcast.exceptions import CellcastAuthenticationError, CellcastInputError, CellcastServerError
from airflow_provider_cellcast.sensors.reply import STATE_KEY, VARIABLE_PREFIX, CellcastReplySensor
from unit.fakes import FakeTI
from unit.scripted_inbox import ScriptedCellcast, scripted_client

YES = r"(?i)^\s*yes\b"


class Hook:
    def __init__(self, cellcast: ScriptedCellcast) -> None:
        self.client = scripted_client(cellcast)

    def close(self) -> None:
        pass


class TaskStateStore:
    """``context["task_state_store"]`` of Airflow 3.3 (get/set/delete), kept in a dict."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def set(self, key: str, value: Any) -> None:
        self.values[key] = value

    def delete(self, key: str) -> None:
        self.values.pop(key, None)


def sensor(cellcast: ScriptedCellcast, **kwargs: Any) -> CellcastReplySensor:
    built = CellcastReplySensor(task_id="wait", contacts=["0400 000 951"], pattern=YES, **kwargs)
    built.__dict__["hook"] = Hook(cellcast)
    return built


def inbox() -> ScriptedCellcast:
    cellcast = ScriptedCellcast()
    cellcast.add("61400000951", "YES", "2031-01-15 08:00:00")  # old: never counts
    return cellcast


def test_a_broken_pattern_or_contact_list_fails_at_parse_time_unless_templated() -> None:
    with pytest.raises(CellcastInputError, match="not a valid regular expression"):
        CellcastReplySensor(task_id="wait", contacts=["0400000951"], pattern="(yes")
    with pytest.raises(CellcastInputError, match="contacts is empty"):
        CellcastReplySensor(task_id="wait", contacts=[])
    templated = CellcastReplySensor(task_id="wait", contacts="{{ params.c }}", pattern="{{ params.p }}")
    assert templated.template_fields == ("contacts", "pattern", "cellcast_conn_id")
    assert templated.deferrable is False  # [operators] default_deferrable


def test_poke_mode_snapshots_first_then_returns_the_new_matching_reply_masked() -> None:
    cellcast = inbox()
    waiting = sensor(cellcast)
    context: Any = {"ti": FakeTI()}
    assert waiting.poke(context) is False  # the snapshot
    assert waiting.poke(context) is False
    cellcast.add("61400000777", "YES", "2031-01-15 09:00:01")
    cellcast.add("61400000951", "maybe", "2031-01-15 09:00:02")
    assert waiting.poke(context) is False
    cellcast.add("0400000951", "Yes!", "2031-01-15 09:00:03")
    done = waiting.poke(context)
    assert done.is_done  # type: ignore[union-attr]
    [reply] = done.xcom_value  # type: ignore[union-attr]
    assert (reply["from"], reply["body"], reply["contact_index"]) == ("********951", "Yes!", 0)
    assert cellcast.page_requests() == 4  # one request a check, the snapshot included


def test_reschedule_mode_keeps_the_snapshot_in_the_task_state_store_and_drops_it_at_the_end() -> None:
    cellcast = inbox()
    store = TaskStateStore()
    context: Any = {"ti": FakeTI(), "task_state_store": store}
    assert sensor(cellcast, mode="reschedule").poke(context) is False
    assert store.values[STATE_KEY]["v"] == 1
    cellcast.add("61400000951", "yes", "2031-01-15 09:00:00")
    fresh = sensor(cellcast, mode="reschedule")  # every reschedule poke is a new task run
    assert fresh.poke(context).is_done  # type: ignore[union-attr]
    fresh._drop(context)
    assert store.values == {}


def test_before_airflow_3_3_reschedule_mode_keeps_it_in_a_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    import airflow.providers.common.compat.sdk as compat

    variables: dict[str, Any] = {}

    class Variable:
        @staticmethod
        def get(key: str, default: Any = None, deserialize_json: bool = False) -> Any:
            return variables.get(key, default)

        @staticmethod
        def set(key: str, value: Any, description: str | None = None, serialize_json: bool = False) -> None:
            assert serialize_json and "deleted when the sensor ends" in (description or "")
            variables[key] = value

        @staticmethod
        def delete(key: str) -> None:
            variables.pop(key)

    monkeypatch.setattr(compat, "Variable", Variable, raising=False)
    cellcast = inbox()
    context: Any = {"ti": FakeTI(dag_id="d", task_id="wait", run_id="r1")}
    assert sensor(cellcast, mode="reschedule").poke(context) is False
    [key] = variables
    assert key.startswith(VARIABLE_PREFIX) and len(key) == len(VARIABLE_PREFIX) + 32
    assert "951" not in str(variables[key])  # fingerprints only
    cellcast.add("61400000951", "yes", "2031-01-15 09:00:00")
    fresh = sensor(cellcast, mode="reschedule")
    assert fresh.poke(context).is_done  # type: ignore[union-attr]
    fresh._drop(context)
    assert variables == {}


def test_a_transient_fault_waits_for_the_next_check_and_a_refused_token_fails() -> None:
    cellcast = inbox()
    waiting = sensor(cellcast)
    context: Any = {"ti": FakeTI()}
    assert waiting.poke(context) is False
    original = cellcast.send

    def failing(exception: Exception) -> Any:
        def send(request: Any, **kwargs: Any) -> Any:
            raise exception

        return send

    cellcast.send = failing(CellcastServerError("HTTP 500", status_code=500))  # type: ignore[method-assign]
    assert waiting.poke(context) is False
    cellcast.send = failing(CellcastAuthenticationError("HTTP 401", status_code=401))  # type: ignore[method-assign]
    with pytest.raises(CellcastAuthenticationError):
        waiting.poke(context)
    cellcast.send = original  # type: ignore[method-assign]
    cellcast.add("61400000951", "yes", "2031-01-15 09:00:00")
    assert waiting.poke(context).is_done  # type: ignore[union-attr]


def test_execute_complete_returns_the_replies_or_fails_like_poke_mode() -> None:
    from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException

    waiting = sensor(inbox())
    context: Any = {"ti": FakeTI()}
    replies = [{"from": "********951", "body": "yes", "received_at": "2031-01-15 09:00:00"}]
    assert waiting.execute_complete(context, {"status": "success", "replies": replies}) == replies
    with pytest.raises(AirflowFailException, match="refused"):
        waiting.execute_complete(context, {"status": "error", "message": "token refused", "permanent": True})
    with pytest.raises(AirflowException, match="Could not read"):
        waiting.execute_complete(context, {"status": "error", "message": "gone"})
