"""CellcastMessageStatusSensor: parse-time checks, the poke/reschedule/deferrable modes, resuming.

The decisions themselves are ``statuses.StatusRules`` (``tests/unit/test_statuses.py``), the
lookups ``check_statuses`` (``tests/unit/client/test_reports.py``), the deferred wait the trigger
(``tests/unit/triggers``). Here a real hook whose transport answers message reports from a status
script (``unit.fakes.scripted_hook``) stands in; campaign references run against the emulator.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException, PokeReturnValue
from airflow.sdk.exceptions import AirflowRescheduleException, TaskDeferred

from airflow_provider_cellcast.exceptions import (
    CellcastInputError,
    CellcastReferenceNotFoundError,
    CellcastServerError,
)
from airflow_provider_cellcast.sensors.message_status import CellcastMessageStatusSensor
from airflow_provider_cellcast.triggers.message_status import CellcastMessageStatusTrigger
from unit.fakes import FakeTI, Scripted, ctx, scripted_hook
from unit.scripted import REPORT_PATH, error, page, refused

A, B, C = "675161d8a000000000000001", "675161d8a000000000000002", "675161d8a000000000000003"
#: The ``statuses`` entry of a summary: where every ID's status is.
WHERE = "every ID's status is in the XCom 'statuses' of this task instance"
DEFAULT_FAILURES = ["aborted", "blocked", "dead", "expired", "failed", "rejected"]


def summary(statuses: dict[str, str], reference: str | None = None) -> dict[str, Any]:
    """The return value for a campaign (not one ID given as a string) that reached its target."""
    counts: dict[str, int] = {}
    for status in statuses.values():
        counts[status] = counts.get(status, 0) + 1
    return {"total": len(statuses), "statuses_count": counts, "reference": reference, "failed": [], "statuses": WHERE}

pytestmark = pytest.mark.usefixtures("allow_direct_execute", "scripted_connection")


def sensor(scripted: Scripted | None = None, **kwargs: Any) -> CellcastMessageStatusSensor:
    kwargs.setdefault("message_id", [A, B])
    kwargs.setdefault("poll_interval", 0)
    task = CellcastMessageStatusSensor(task_id="watch", **kwargs)
    if scripted is not None:
        # No constructor seam for the hook: the cached_property's slot is the narrowest one.
        task.__dict__["hook"] = scripted.hook
    return task


# -- parse time ------------------------------------------------------------------------------------


def test_unknown_statuses_are_refused_at_parse_time() -> None:
    with pytest.raises(CellcastInputError, match=r"unknown status.*'delivred'") as raised:
        sensor(target_status="delivred")
    assert raised.value.field == "target_status"
    with pytest.raises(CellcastInputError, match="failure_statuses"):
        sensor(failure_statuses=["failed", "oops"])


def test_rules_and_template_fields() -> None:
    task = sensor(target_status=["Cancelled", "delievered"], failure_statuses=[])
    assert task.target_status == ["canceled", "delivered"] and task.failure_statuses == []
    assert tuple(CellcastMessageStatusSensor.template_fields) == ("message_id", "custom_string", "cellcast_conn_id")
    assert sensor().failure_statuses == DEFAULT_FAILURES


def test_message_id_custom_string_or_both() -> None:
    with pytest.raises(CellcastInputError) as raised:
        CellcastMessageStatusSensor(task_id="watch")
    assert str(raised.value) == "watch: give message_id, custom_string, or both"
    assert raised.value.field == "message_id"
    both = CellcastMessageStatusSensor(task_id="both", message_id=[A], custom_string="camp-7")
    assert (both.message_id, both.custom_string) == ([A], "camp-7")
    assert CellcastMessageStatusSensor(task_id="ref", custom_string="camp-7").message_id is None


def test_deferrable_defaults_to_airflows_default_deferrable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", raising=False)
    assert sensor().deferrable is False
    monkeypatch.setenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", "true")
    assert sensor().deferrable is True
    assert sensor(deferrable=False).deferrable is False  # given: it wins
    monkeypatch.setenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", "false")
    assert sensor().deferrable is False and sensor(deferrable=True).deferrable is True


def test_misspelt_hook_param_is_a_parse_error() -> None:
    with pytest.raises(Exception, match="Unknown Cellcast setting 'timeout_s'"):
        sensor(hook_params={"timeout_s": 3})


def test_poll_interval_sets_poke_interval_unless_given() -> None:
    assert sensor(poll_interval=timedelta(seconds=7)).poke_interval == 7
    assert sensor(poll_interval=7, poke_interval=3).poke_interval == 3


# -- poke and reschedule modes ---------------------------------------------------------------------


def test_poke_returns_statuses_once_every_message_is_done_and_skips_done_ids() -> None:
    hook = scripted_hook({A: ["scheduled", "delivered"], B: ["sent", "sent", "delivered"]})
    task, ti = sensor(hook), FakeTI()
    first = task.poke(ctx(ti))
    second = task.poke(ctx(ti))
    third = task.poke(ctx(ti))
    assert not first and not second
    assert isinstance(third, PokeReturnValue) and third.is_done
    assert third.xcom_value == summary({A: "delivered", B: "delivered"})
    assert ti.xcoms["statuses"] == {A: "delivered", B: "delivered"} and ti.pushed == ["statuses"]
    assert hook.transport.asked == [A, B, A, B, B]  # A was done after the second poke: not asked again
    assert hook.transport.closed == 3  # the hook is closed after every poke


def test_execute_in_poke_mode_returns_the_statuses() -> None:
    hook = scripted_hook({A: ["queued", "sent", "delivered"], B: ["delivered"]})
    assert sensor(hook).execute(ctx(FakeTI())) == summary({A: "delivered", B: "delivered"})
    assert hook.transport.asked == [A, B, A, A]


def test_one_id_given_as_a_string_returns_its_statuses() -> None:
    hook = scripted_hook({A: ["delivered"]})
    assert sensor(hook, message_id=f" {A} ").execute(ctx(FakeTI())) == {A: "delivered"}
    hook = scripted_hook({A: ["delivered"]})
    assert sensor(hook, message_id=[A]).execute(ctx(FakeTI())) == summary({A: "delivered"})  # a list: a summary


def test_a_failure_status_fails_at_once_naming_ids_and_statuses() -> None:
    hook = scripted_hook({A: ["failed"], B: ["canceled"], C: ["sent"]})
    ti = FakeTI()
    with pytest.raises(AirflowFailException) as raised:
        sensor(hook, message_id=[A, B, C]).poke(ctx(ti))
    text = str(raised.value)
    assert "2 of 3 Cellcast message(s) will not reach 'delivered'" in text
    assert f"{A}: 'failed', a failure status" in text
    assert f"{B}: 'canceled', from which 'delivered' cannot be reached" in text
    assert C not in text
    assert ti.xcoms["statuses"] == {A: "failed", B: "canceled", C: "sent"} and ti.pushed == ["statuses"]


@pytest.mark.parametrize("status", ["dead", "aborted"])
def test_dead_and_aborted_fail_by_default(status: str) -> None:
    hook = scripted_hook({A: [status], B: ["delivered"]})
    with pytest.raises(AirflowFailException, match=f"{A}: '{status}', a failure status"):
        sensor(hook).poke(ctx(FakeTI()))


@pytest.mark.parametrize("status", ["pending", "unknown"])
def test_pending_and_unknown_keep_waiting(status: str) -> None:
    hook = scripted_hook({A: [status], B: ["delivered"]})
    assert not sensor(hook).poke(ctx(FakeTI()))


@pytest.mark.parametrize("answer", [refused("Message not found"), (404, error(404, "Not found"))])
def test_an_unknown_id_fails_instead_of_waiting_for_the_timeout(answer: Any) -> None:
    hook = scripted_hook({A: ["delivered"], B: [answer]}, backoff_seconds=4)
    with pytest.raises(AirflowFailException, match=f"{B}: not found on this account"):
        sensor(hook).poke(ctx(FakeTI()))
    assert hook.transport.asked == [A, B, B] and hook.waits == [4]  # not_found only when asked twice


def test_an_id_found_on_the_second_question_keeps_waiting() -> None:
    hook = scripted_hook({A: ["delivered"], B: [refused("Message not found"), "queued"]})
    assert not sensor(hook).poke(ctx(FakeTI()))
    assert hook.transport.asked == [A, B, B]


def test_other_cellcast_errors_propagate_for_airflow_retries() -> None:
    hook = scripted_hook({A: [(503, error(503, "Service Unavailable"))], B: ["sent"]}, max_attempts=3)
    with pytest.raises(CellcastServerError) as raised:
        sensor(hook).poke(ctx(FakeTI()))
    assert raised.value.status_code == 503 and not isinstance(raised.value, AirflowFailException)
    # The client's retries, then the error ends the round (a lookup already queued may still run).
    assert hook.transport.asked[:3] == [A, A, A] and set(hook.transport.asked[3:]) <= {B}
    assert len(hook.waits) == 2  # waits between attempts went to the recorder
    assert hook.transport.closed == 1


def test_reschedule_mode_frees_the_slot_while_waiting() -> None:
    hook = scripted_hook({A: ["scheduled"], B: ["scheduled"]})
    with pytest.raises(AirflowRescheduleException):
        sensor(hook, mode="reschedule", poll_interval=30).execute(ctx(FakeTI()))


def test_templated_message_id_may_be_a_rendered_list() -> None:
    hook = scripted_hook({A: ["delivered"], B: ["delivered"]})
    result = sensor(hook, message_id=str([A.upper(), B])).poke(ctx(FakeTI()))
    assert hook.transport.asked == [A, B]
    assert isinstance(result, PokeReturnValue)
    assert result.xcom_value == summary({A: "delivered", B: "delivered"})


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
        "failure_statuses": DEFAULT_FAILURES,
        "cellcast_conn_id": "cellcast_default",
        "hook_params": {"timeout": 5},
        "poll_interval": 15.0,
        "custom_string": None,
        "from_date": None,
    }
    assert CellcastMessageStatusTrigger(**kwargs).serialize() == (classpath, kwargs)


def test_deferrable_mode_by_default_deferrable_defers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", "true")
    with pytest.raises(TaskDeferred):
        sensor().execute(ctx(FakeTI()))


def test_execute_complete_success_returns_and_pushes_statuses() -> None:
    ti = FakeTI()
    event = {"status": "success", "statuses": {A: "canceled"}, "message": "done"}
    assert sensor(message_id=A).execute_complete(ctx(ti), event) == {A: "canceled"}
    assert ti.xcoms["statuses"] == {A: "canceled"} and ti.pushed == ["statuses"]
    ti = FakeTI()
    both = {"status": "success", "statuses": {A: "canceled", B: "canceled"}, "message": "done"}
    task = sensor(custom_string="camp-7", target_status="canceled")
    assert task.execute_complete(ctx(ti), both) == summary(both["statuses"], "camp-7")
    assert ti.xcoms["statuses"] == both["statuses"] and ti.pushed == ["statuses"]


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


# -- campaign references, against the emulator ---------------------------------------------------------


def test_a_campaign_reference_names_its_messages_once_per_try(cellcast_connection_env) -> None:
    emulator = cellcast_connection_env
    ids = emulator.schedule_campaign(contacts=["+61400000001", "+61400000002"], custom_string="camp-7")
    emulator.schedule_campaign(contacts=["+61400000003"], custom_string="other")
    task = sensor(message_id=None, custom_string="camp-7", target_status="scheduled")
    ti = FakeTI()
    emulator.clear_requests_log()
    result = task.poke(ctx(ti))
    assert isinstance(result, PokeReturnValue) and result.is_done
    # The other campaign is not watched.
    assert result.xcom_value == summary(dict.fromkeys(ids, "scheduled"), "camp-7")
    assert ti.xcoms["statuses"] == dict.fromkeys(ids, "scheduled")
    # One listing found the IDs and their statuses for the first round: no report per ID.
    assert [entry["path"] for entry in emulator.requests_log()] == [REPORT_PATH]
    emulator.clear_requests_log()
    task.poke(ctx(ti))
    assert emulator.requests_log() == []  # every ID done: neither listed again nor asked


def test_a_reference_that_names_nothing_fails_without_retries(cellcast_connection_env) -> None:
    with pytest.raises(CellcastReferenceNotFoundError, match="no-such-campaign") as raised:
        sensor(message_id=None, custom_string="no-such-campaign").poke(ctx(FakeTI()))
    assert isinstance(raised.value, AirflowFailException) and raised.value.reference == "no-such-campaign"


def test_poke_against_the_emulator(cellcast_connection_env) -> None:
    emulator = cellcast_connection_env
    delivered = emulator.seed_message(status="delivered")["_id"]
    failed = emulator.seed_message(status="failed")["_id"]
    assert sensor(message_id=delivered).execute(ctx(FakeTI())) == {delivered: "delivered"}
    with pytest.raises(AirflowFailException, match=f"{failed}: 'failed', a failure status"):
        sensor(message_id=[delivered, failed]).poke(ctx(FakeTI()))


# -- rounds by the page: the messages' reference -------------------------------------------------------


def listed(*items: tuple[str, str], reference: str = "camp-7") -> tuple[int, dict[str, Any]]:
    return page([{"_id": mid, "customString": reference, "status": status} for mid, status in items])


def test_ids_with_their_reference_are_listed_by_the_page() -> None:
    hook = scripted_hook({C: ["delivered"]}, {REPORT_PATH: [listed((A, "delivered"), (B, "sent"))]})
    task, ti = sensor(hook, message_id=[A, B, C], custom_string="camp-7"), FakeTI()
    assert not task.poke(ctx(ti))  # B is still sent
    assert hook.transport.paths == [REPORT_PATH, f"{REPORT_PATH}/{C}"]  # one listing; only C asked by ID
    assert hook.transport.requests[0].query["customString"] == "camp-7"
    assert "fromDate" not in hook.transport.requests[0].query  # the send day is not known here
    hook.transport.routes[REPORT_PATH] = [listed((B, "delivered"))]
    done = task.poke(ctx(ti))
    assert done and done.xcom_value == summary(dict.fromkeys([A, B, C], "delivered"), "camp-7")
    # Round two: one listing for B (A and C were done), no report at all.
    assert hook.transport.paths[2:] == [REPORT_PATH]


def upstream_sensor(hook: Scripted, **kwargs: Any) -> tuple[CellcastMessageStatusSensor, Any]:
    """A sensor on ``send.output`` of a send task, rendered (as Airflow renders XComArgs) to [A, B]."""
    from airflow.sdk import DAG

    from airflow_provider_cellcast.operators.send_sms import CellcastSendSmsOperator

    with DAG("campaign", schedule=None):
        send = CellcastSendSmsOperator(task_id="send", message="m", contacts=["+61400000001"])
        task = CellcastMessageStatusSensor(task_id="watch", message_id=send.output, poll_interval=0, **kwargs)
    task.message_id = [A, B]
    task.__dict__["hook"] = hook.hook
    return task, send


def test_ids_from_the_send_task_use_its_reference_and_send_day() -> None:
    hook = scripted_hook(routes={REPORT_PATH: [listed((A, "delivered"), (B, "delivered"), reference="af-c-s-1")]})
    task, _ = upstream_sensor(hook)
    ti = FakeTI()
    ti.upstream[("send", "send_result")] = {"reference": "af-c-s-1", "sent_on": "2026-11-30", "message_ids": [A, B]}
    done = task.poke(ctx(ti))
    assert done and done.xcom_value == summary({A: "delivered", B: "delivered"}, "af-c-s-1")
    [listing] = hook.transport.requests
    assert (listing.path, listing.query["customString"], listing.query["fromDate"]) == (
        REPORT_PATH, "af-c-s-1", "2026-11-30",
    )  # fmt: skip
    assert ti.pulled == [("send", "send_result")]
    task.poke(ctx(ti))
    assert ti.pulled == [("send", "send_result")]  # pulled once per worker run


@pytest.mark.parametrize("pulled", [None, "not a dict", RuntimeError("no such XCom")])
def test_without_the_send_result_the_ids_are_asked_one_by_one(pulled: Any) -> None:
    hook = scripted_hook({A: ["delivered"], B: ["delivered"]})
    task, _ = upstream_sensor(hook)

    class TI(FakeTI):
        def xcom_pull(self, task_ids: Any = None, key: str = "return_value") -> Any:
            if isinstance(pulled, Exception):
                raise pulled
            return pulled

    assert task.poke(ctx(TI()))
    assert hook.transport.asked == [A, B] and REPORT_PATH not in hook.transport.paths


def test_deferring_hands_the_reference_and_send_day_to_the_trigger() -> None:
    hook = scripted_hook()
    task, _ = upstream_sensor(hook, deferrable=True)
    ti = FakeTI()
    ti.upstream[("send", "send_result")] = {"reference": "af-c-s-1", "sent_on": "2026-11-30"}
    with pytest.raises(TaskDeferred) as raised:
        task.execute(ctx(ti))
    _, kwargs = raised.value.trigger.serialize()
    assert (kwargs["message_ids"], kwargs["custom_string"], kwargs["from_date"]) == ([A, B], "af-c-s-1", "2026-11-30")
    assert hook.transport.requests == []  # the worker asked nothing: the trigger checks


def test_deferring_a_reference_lists_it_once_then_hands_it_over() -> None:
    hook = scripted_hook(routes={REPORT_PATH: [listed((A, "scheduled"), (B, "scheduled"))]})
    task = sensor(hook, message_id=None, custom_string="camp-7", deferrable=True)
    with pytest.raises(TaskDeferred) as raised:
        task.execute(ctx(FakeTI()))
    _, kwargs = raised.value.trigger.serialize()
    assert (kwargs["message_ids"], kwargs["custom_string"], kwargs["from_date"]) == ([A, B], "camp-7", None)
    assert hook.transport.paths == [REPORT_PATH]
