"""CellcastMessageStatusSensor and its trigger: the status rules, the three modes, the events.

The hook is replaced by a stand-in that answers statuses from a script; the trigger against a
real emulator is in ``tests/integration/test_lifecycle.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

import pytest
from airflow.sdk import PokeReturnValue
from airflow.sdk.bases.operator import ExecutorSafeguard
from airflow.sdk.exceptions import (
    AirflowException,
    AirflowFailException,
    AirflowRescheduleException,
    TaskDeferred,
)

from airflow_provider_cellcast.exceptions import (
    CellcastAuthenticationError,
    CellcastBadRequestError,
    CellcastInputError,
    CellcastMessageNotFoundError,
    CellcastServerError,
)
from airflow_provider_cellcast.hooks import cellcast as hook_module
from airflow_provider_cellcast.sensors.message_status import CellcastMessageStatusSensor
from airflow_provider_cellcast.sensors.status_rules import StatusRules
from airflow_provider_cellcast.triggers.message_status import CellcastMessageStatusTrigger

if TYPE_CHECKING:
    from airflow.sdk import Context

A, B, C = "675161d8a000000000000001", "675161d8a000000000000002", "675161d8a000000000000003"


@pytest.fixture(autouse=True)
def _allow_direct_execute(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ExecutorSafeguard, "test_mode", True)


class FakeTI:
    def __init__(self) -> None:
        self.xcoms: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value

    def get_first_reschedule_date(self, context: Any) -> None:
        return None


def ctx(ti: FakeTI) -> Context:
    """A task context holding only ``ti`` (all the code under test reads)."""
    return cast("Context", {"ti": ti})


class ScriptedHook:
    """``get_message`` answers the next status scripted for the ID (the last one repeats).

    A script entry may be an exception instance, raised instead.
    """

    def __init__(self, script: dict[str, list[Any]], *args: Any, **kwargs: Any) -> None:
        self.script = {key: list(value) for key, value in script.items()}
        self.asked: list[str] = []
        self.closed = 0

    def get_message(self, message_id: str) -> dict[str, Any]:
        self.asked.append(message_id)
        answers = self.script[message_id]
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, Exception):
            raise answer
        return {"_id": message_id, "status": answer}

    def close(self) -> None:
        self.closed += 1


def not_found(message_id: str) -> CellcastMessageNotFoundError:
    return CellcastMessageNotFoundError(f"Cellcast has no message {message_id}", message_id=message_id)


def sensor(hook: ScriptedHook | None = None, **kwargs: Any) -> CellcastMessageStatusSensor:
    kwargs.setdefault("message_id", [A, B])
    kwargs.setdefault("poll_interval", 0)
    task = CellcastMessageStatusSensor(task_id="watch", **kwargs)
    if hook is not None:
        task.__dict__["hook"] = hook
    return task


# -- the rules -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("targets", "status", "verdict"),
    [
        ({"delivered"}, "delivered", "done"),
        ({"delivered"}, "sent", "waiting"),
        ({"delivered"}, "scheduled", "waiting"),
        ({"delivered"}, "failed", "failed"),
        ({"delivered"}, "blocked", "failed"),
        ({"delivered"}, "canceled", "failed"),  # can never be delivered now
        ({"delivered"}, "not_found", "failed"),
        ({"delivered"}, "some_new_status", "waiting"),  # unknown: wait for the timeout, never guess
        ({"sent"}, "delivered", "done"),  # delivered messages were sent
        ({"queued"}, "sent", "done"),
        ({"scheduled"}, "scheduled", "done"),
        ({"scheduled"}, "sent", "failed"),  # gone out already: cannot be scheduled again
        ({"canceled"}, "scheduled", "waiting"),
        ({"canceled"}, "sent", "failed"),
        ({"canceled"}, "delivered", "failed"),
        ({"failed"}, "failed", "done"),  # a target wins over a failure status
        ({"delivered", "canceled"}, "canceled", "done"),
    ],
)
def test_verdicts(targets: set[str], status: str, verdict: str) -> None:
    assert StatusRules.build(targets, None).verdict(status) == verdict


def test_spellings_are_normalised_and_unknown_statuses_refused_at_parse_time() -> None:
    rules = StatusRules.build("Cancelled", ["FAILED", "delievered"])
    assert rules.targets == {"canceled"}
    assert rules.failures == {"failed", "delivered"}
    with pytest.raises(CellcastInputError, match=r"unknown status.*'delivred'") as raised:
        sensor(target_status="delivred")
    assert raised.value.field == "target_status"
    with pytest.raises(CellcastInputError, match="failure_statuses"):
        sensor(failure_statuses=["failed", "oops"])


def test_empty_failure_statuses_only_fail_on_unreachable_targets() -> None:
    rules = StatusRules.build("delivered", [])
    assert rules.verdict("rejected") == "failed"  # still unreachable
    assert StatusRules.build("rejected", []).verdict("rejected") == "done"


def test_poll_interval_sets_poke_interval_unless_given() -> None:
    assert sensor(poll_interval=timedelta(seconds=7)).poke_interval == 7
    assert sensor(poll_interval=7, poke_interval=3).poke_interval == 3


# -- poke and reschedule modes ---------------------------------------------------------------------


def test_poke_returns_statuses_once_every_message_is_done_and_skips_done_ids() -> None:
    hook = ScriptedHook({A: ["scheduled", "delivered"], B: ["sent", "sent", "delivered"]})
    task, ti = sensor(hook), FakeTI()
    first = task.poke(ctx(ti))
    second = task.poke(ctx(ti))
    third = task.poke(ctx(ti))
    assert not first and not second
    assert isinstance(third, PokeReturnValue) and third.is_done
    assert third.xcom_value == {A: "delivered", B: "delivered"}
    assert ti.xcoms["statuses"] == {A: "delivered", B: "delivered"}
    assert hook.asked == [A, B, A, B, B]  # A was done after the second poke: not asked again
    assert hook.closed == 3


def test_execute_in_poke_mode_returns_the_statuses() -> None:
    hook = ScriptedHook({A: ["queued", "sent", "delivered"], B: ["delivered"]})
    assert sensor(hook).execute(ctx(FakeTI())) == {A: "delivered", B: "delivered"}


def test_a_failure_status_fails_at_once_naming_ids_and_statuses() -> None:
    hook = ScriptedHook({A: ["failed"], B: ["canceled"], C: ["sent"]})
    ti = FakeTI()
    with pytest.raises(AirflowFailException) as raised:
        sensor(hook, message_id=[A, B, C]).poke(ctx(ti))
    text = str(raised.value)
    assert "2 of 3 Cellcast message(s) will not reach 'delivered'" in text
    assert f"{A}: 'failed', a failure status" in text
    assert f"{B}: 'canceled', from which 'delivered' cannot be reached" in text
    assert C not in text
    assert ti.xcoms["statuses"] == {A: "failed", B: "canceled", C: "sent"}


def test_an_unknown_id_fails_instead_of_waiting_for_the_timeout() -> None:
    hook = ScriptedHook({A: ["delivered"], B: [not_found(B)]})
    with pytest.raises(AirflowFailException, match=f"{B}: not found on this account"):
        sensor(hook).poke(ctx(FakeTI()))


def test_other_cellcast_errors_propagate_for_airflow_retries() -> None:
    error = CellcastServerError("HTTP 503", status_code=503)
    hook = ScriptedHook({A: [error], B: ["sent"]})
    with pytest.raises(CellcastServerError):
        sensor(hook).poke(ctx(FakeTI()))
    assert hook.closed == 1


def test_reschedule_mode_frees_the_slot_while_waiting() -> None:
    hook = ScriptedHook({A: ["scheduled"], B: ["scheduled"]})
    with pytest.raises(AirflowRescheduleException):
        sensor(hook, mode="reschedule", poll_interval=30).execute(ctx(FakeTI()))


def test_templated_message_id_may_be_a_rendered_list() -> None:
    hook = ScriptedHook({A: ["delivered"], B: ["delivered"]})
    result = sensor(hook, message_id=str([A.upper(), B])).poke(ctx(FakeTI()))
    assert isinstance(result, PokeReturnValue)
    assert result.xcom_value == {A: "delivered", B: "delivered"}


# -- deferrable mode -------------------------------------------------------------------------------


def test_deferrable_mode_defers_at_once_to_the_trigger() -> None:
    task = sensor(
        message_id=[A, B, A], target_status="canceled", deferrable=True, poll_interval=15, timeout=600,
        hook_params={"timeout": 5},
    )  # fmt: skip
    with pytest.raises(TaskDeferred) as raised:
        task.execute(ctx(FakeTI()))
    deferred = raised.value
    assert deferred.method_name == "execute_complete"
    assert deferred.timeout == timedelta(seconds=600)
    classpath, kwargs = deferred.trigger.serialize()
    assert classpath == "airflow_provider_cellcast.triggers.message_status.CellcastMessageStatusTrigger"
    assert kwargs == {
        "message_ids": [A, B],
        "target_statuses": ["canceled"],
        "failure_statuses": ["blocked", "expired", "failed", "rejected"],
        "cellcast_conn_id": "cellcast_default",
        "hook_params": {"timeout": 5},
        "poll_interval": 15.0,
    }
    assert CellcastMessageStatusTrigger(**kwargs).serialize() == (classpath, kwargs)


def test_a_hand_built_trigger_normalises_and_checks_statuses() -> None:
    built = CellcastMessageStatusTrigger(message_ids=[A], target_statuses=["Cancelled"], failure_statuses=[])
    assert (built.target_statuses, built.failure_statuses) == (["canceled"], [])
    assert CellcastMessageStatusTrigger(message_ids=[A], target_statuses=["sent"]).failure_statuses == [
        "blocked", "expired", "failed", "rejected",
    ]  # fmt: skip
    with pytest.raises(CellcastInputError):
        CellcastMessageStatusTrigger(message_ids=[A], target_statuses=["gone"])


def test_execute_complete_success_returns_and_pushes_statuses() -> None:
    ti = FakeTI()
    event = {"status": "success", "statuses": {A: "canceled"}, "message": "done"}
    assert sensor().execute_complete(ctx(ti), event) == {A: "canceled"}
    assert ti.xcoms["statuses"] == {A: "canceled"}


@pytest.mark.parametrize(
    ("event", "fail_fast"),
    [
        ({"status": "failed", "statuses": {A: "sent"}, "message": "1 of 1 will not reach"}, True),
        ({"status": "error", "statuses": {}, "message": "token refused", "permanent": True}, True),
        ({"status": "error", "statuses": {}, "message": "HTTP 503", "permanent": False}, False),
    ],
)
def test_execute_complete_failures(event: dict[str, Any], fail_fast: bool) -> None:
    with pytest.raises(AirflowException) as raised:
        sensor().execute_complete(ctx(FakeTI()), event)
    assert isinstance(raised.value, AirflowFailException) is fail_fast
    assert event["message"] in str(raised.value)


# -- the trigger -----------------------------------------------------------------------------------


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Make the trigger build a ScriptedHook from ``box["script"]``; ``box["hook"]`` is the one made."""
    box: dict[str, Any] = {}

    def factory(*args: Any, **kwargs: Any) -> ScriptedHook:
        box["hook"] = ScriptedHook(box["script"])
        box["args"] = (args, kwargs)
        return box["hook"]

    monkeypatch.setattr(hook_module, "CellcastHook", factory)
    yield box


def collect(trigger: CellcastMessageStatusTrigger) -> list[dict[str, Any]]:
    async def run() -> list[dict[str, Any]]:
        return [event.payload async for event in trigger.run()]

    return asyncio.run(run())


def trigger(**kwargs: Any) -> CellcastMessageStatusTrigger:
    kwargs.setdefault("message_ids", [A, B])
    kwargs.setdefault("target_statuses", ["canceled"])
    kwargs.setdefault("poll_interval", 0)
    return CellcastMessageStatusTrigger(**kwargs)


def test_trigger_polls_until_every_message_is_done(scripted: dict[str, Any]) -> None:
    scripted["script"] = {A: ["scheduled", "scheduled", "canceled"], B: ["canceled"]}
    events = collect(trigger(cellcast_conn_id="cc", hook_params={"timeout": 3}))
    assert len(events) == 1
    assert events[0]["status"] == "success"
    assert events[0]["statuses"] == {A: "canceled", B: "canceled"}
    assert "after 3 polling round(s)" in events[0]["message"]
    assert scripted["hook"].asked == [A, B, A, A]  # B was done in round one
    assert scripted["hook"].closed == 1
    assert scripted["args"] == (("cc",), {"timeout": 3})


def test_trigger_fires_failed_when_a_target_becomes_unreachable(scripted: dict[str, Any]) -> None:
    scripted["script"] = {A: ["scheduled", "sent"], B: ["canceled"]}
    [event] = collect(trigger())
    assert event["status"] == "failed"
    assert event["statuses"] == {A: "sent", B: "canceled"}
    assert f"{A}: 'sent', from which 'canceled' cannot be reached" in event["message"]


@pytest.mark.parametrize(
    ("error", "permanent"),
    [
        (CellcastServerError("HTTP 503 after retries", status_code=503), False),
        (CellcastAuthenticationError("token refused", status_code=401), False),
        (CellcastBadRequestError("HTTP 400", status_code=400), True),
    ],
)
def test_trigger_reports_errors_with_their_permanence(
    scripted: dict[str, Any], error: Exception, permanent: bool
) -> None:
    scripted["script"] = {A: [error], B: ["canceled"]}
    [event] = collect(trigger())
    assert event == {"status": "error", "statuses": {}, "message": str(error), "permanent": permanent}
    assert scripted["hook"].closed == 1
