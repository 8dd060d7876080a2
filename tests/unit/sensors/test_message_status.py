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
from unit.scripted import error, refused

A, B, C = "675161d8a000000000000001", "675161d8a000000000000002", "675161d8a000000000000003"

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
    assert tuple(CellcastMessageStatusSensor.template_fields) == ("message_id", "custom_string")


def test_message_id_or_custom_string_exactly_one() -> None:
    for kwargs in ({"message_id": None}, {"message_id": A, "custom_string": "ref"}):
        with pytest.raises(CellcastInputError, match="exactly one"):
            CellcastMessageStatusSensor(task_id="watch", **kwargs)


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
    assert third.xcom_value == {A: "delivered", B: "delivered"}
    assert ti.xcoms["statuses"] == {A: "delivered", B: "delivered"}
    assert hook.transport.asked == [A, B, A, B, B]  # A was done after the second poke: not asked again
    assert hook.transport.closed == 3  # the hook is closed after every poke


def test_execute_in_poke_mode_returns_the_statuses() -> None:
    hook = scripted_hook({A: ["queued", "sent", "delivered"], B: ["delivered"]})
    assert sensor(hook).execute(ctx(FakeTI())) == {A: "delivered", B: "delivered"}
    assert hook.transport.asked == [A, B, A, A]


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
    assert ti.xcoms["statuses"] == {A: "failed", B: "canceled", C: "sent"}


@pytest.mark.parametrize("answer", [refused("Message not found"), (404, error(404, "Not found"))])
def test_an_unknown_id_fails_instead_of_waiting_for_the_timeout(answer: Any) -> None:
    hook = scripted_hook({A: ["delivered"], B: [answer]})
    with pytest.raises(AirflowFailException, match=f"{B}: not found on this account"):
        sensor(hook).poke(ctx(FakeTI()))


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


# -- campaign references, against the emulator ---------------------------------------------------------


def test_a_campaign_reference_names_its_messages_once_per_try(cellcast_connection_env) -> None:
    emulator = cellcast_connection_env
    ids = emulator.schedule_campaign(contacts=["+61400000001", "+61400000002"], custom_string="camp-7")
    emulator.schedule_campaign(contacts=["+61400000003"], custom_string="other")
    task = sensor(message_id=None, custom_string="camp-7", target_status="scheduled")
    ti = FakeTI()
    result = task.poke(ctx(ti))
    assert isinstance(result, PokeReturnValue) and result.is_done
    assert result.xcom_value == dict.fromkeys(ids, "scheduled")  # the other campaign is not watched
    assert ti.xcoms["statuses"] == dict.fromkeys(ids, "scheduled")
    emulator.clear_requests_log()
    task.poke(ctx(ti))
    assert all(entry["path"] != "/api/v2/report/message" for entry in emulator.requests_log())  # not listed again


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
