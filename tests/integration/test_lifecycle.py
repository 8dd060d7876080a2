"""The campaign lifecycle against the Cellcast emulator: real ``dag.test()`` runs, real HTTP.

* The lifecycle DAG passes: schedule, see scheduled (poke sensor), cancel, confirm canceled
  (deferrable sensor, its trigger run inline by ``dag.test()``).
* A send whose answer is lost after Cellcast accepted it is not sent twice, and the task says
  the messages may have been queued.
* The trigger, run on its own against the emulator, notices a status change between rounds and
  reports an unreachable target.

The first ``dag.test()`` of a session pays Airflow's one-time start of its in-process execution
API (10-30 s on these machines); later runs take about 3 s.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider_cellcast.triggers.message_status import CellcastMessageStatusTrigger

if TYPE_CHECKING:
    from airflow.models.dagrun import DagRun
    from airflow.sdk import DAG
    from airflow.triggers.base import TriggerEvent

    from airflow_provider_cellcast.emulator.server import CellcastEmulator

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
DAG_FILE = REPO / "dags" / "cellcast_campaign_lifecycle.py"
DAG_ID = "cellcast_campaign_lifecycle"
CAMPAIGN_TEXT = "Your appointment is tomorrow at 9:00. Reply STOP to opt out."
CONTACTS = ["+61400000001", "+61400000002", "+61400000003"]
SEND_PATH = "/api/v1/gateway"
REPORT_PREFIX = "/api/v2/report/message/"


@pytest.fixture
def emulator_env(cellcast_emulator: CellcastEmulator, monkeypatch: pytest.MonkeyPatch) -> CellcastEmulator:
    """The emulator, with ``cellcast_default`` pointing at it for this test."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_CELLCAST_DEFAULT",
        json.dumps({"conn_type": "cellcast", "host": cellcast_emulator.url, "password": cellcast_emulator.token}),
    )
    return cellcast_emulator


@pytest.fixture
def lifecycle_dag(airflow_db: Path) -> DAG:
    """The example DAG, parsed afresh for each test (notifiers render their templates in place)."""
    from airflow_versions import dag_bag

    bag = dag_bag(DAG_FILE)
    assert not bag.import_errors, bag.import_errors
    return bag.dags[DAG_ID]


@pytest.fixture
def trigger_events(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """Payloads of every event the status trigger fires (it still runs unchanged)."""
    events: list[dict[str, Any]] = []
    original = CellcastMessageStatusTrigger.run

    async def recording_run(self: CellcastMessageStatusTrigger) -> AsyncIterator[TriggerEvent]:
        async for event in original(self):
            events.append(event.payload)
            yield event

    monkeypatch.setattr(CellcastMessageStatusTrigger, "run", recording_run)
    yield events


def task_states(run: DagRun) -> dict[str, tuple[str | None, int]]:
    return {ti.task_id: (ti.state, ti.try_number) for ti in run.get_task_instances()}


def xcom(run: DagRun, task_id: str, key: str = "return_value") -> Any:
    from airflow_versions import read_xcom

    return read_xcom(run.dag_id, run.run_id, task_id, key)


def sends(emulator: CellcastEmulator, text: str) -> list[dict[str, Any]]:
    """Journal entries of send requests carrying ``text``."""
    return [
        entry
        for entry in emulator.requests_log()
        if entry["method"] == "POST" and entry["path"] == SEND_PATH and (entry["body"] or {}).get("message") == text
    ]


def test_lifecycle_dag_schedules_checks_cancels_and_confirms(
    emulator_env: CellcastEmulator, lifecycle_dag: DAG, trigger_events: list[dict[str, Any]]
) -> None:
    run = lifecycle_dag.test()

    assert task_states(run) == {
        "schedule_campaign": ("success", 1),
        "wait_scheduled": ("success", 1),
        "cancel_campaign": ("success", 1),
        "confirm_canceled": ("success", 1),
    }
    assert run.state == "success"

    message_ids = xcom(run, "schedule_campaign")
    assert len(message_ids) == 3
    send_result = xcom(run, "schedule_campaign", "send_result")
    assert send_result["message_ids"] == message_ids
    masked = [entry["contact"] for entry in send_result["queued"]]
    assert [contact[-3:] for contact in masked] == ["001", "002", "003"] and all("*****" in c for c in masked)
    assert not any(number in json.dumps(send_result) for number in CONTACTS)

    # The sensors and the cancel return summaries; every ID's status or outcome is pushed once.
    assert xcom(run, "wait_scheduled", "statuses") == dict.fromkeys(message_ids, "scheduled")
    assert xcom(run, "wait_scheduled")["statuses_count"] == {"scheduled": 3}
    assert xcom(run, "wait_scheduled")["reference"] == send_result["reference"]
    assert [result["outcome"] for result in xcom(run, "cancel_campaign", "results")] == ["cancelled"] * 3
    assert xcom(run, "cancel_campaign")["outcomes"] == {"cancelled": 3, "already_cancelled": 0, "failed": 0}
    assert xcom(run, "confirm_canceled")["statuses_count"] == {"canceled": 3}
    assert xcom(run, "confirm_canceled", "statuses") == dict.fromkeys(message_ids, "canceled")

    # The deferrable sensor finished through its trigger, which fired exactly one success event.
    assert [event["status"] for event in trigger_events] == ["success"]
    assert trigger_events[0]["statuses"] == dict.fromkeys(message_ids, "canceled")

    # What Cellcast (the emulator_env) saw: one send, scheduled about an hour ahead, every message canceled.
    [send] = sends(emulator_env, CAMPAIGN_TEXT)
    now = emulator_env.now()
    scheduled_for = datetime.fromisoformat(send["body"]["scheduleAt"].replace("Z", "+00:00"))
    assert timedelta(minutes=55) < scheduled_for - now <= timedelta(hours=1)
    for message_id in message_ids:
        stored = emulator_env.message(message_id)
        assert stored["status"] == "canceled"
        assert stored["message"] == CAMPAIGN_TEXT
    # One report read back by the send (the scheduleAt Cellcast understood); the sensors and the
    # trigger read the statuses from the campaign's list (their IDs came from the send, whose
    # send_result names the reference), and the cancel found the IDs there: no report per message.
    journal = emulator_env.requests_log()
    lookups = [entry for entry in journal if entry["path"].startswith(REPORT_PREFIX)]
    listings = [entry for entry in journal if entry["path"] == REPORT_PREFIX.rstrip("/")]
    assert len(lookups) == 1
    assert len(listings) == 3  # the poke sensor, the cancel by reference, the trigger


def test_a_send_whose_answer_is_lost_is_not_sent_twice(
    emulator_env: CellcastEmulator, lifecycle_dag: DAG, capsys: pytest.CaptureFixture[str]
) -> None:
    # Cellcast accepts and queues the campaign, then the connection breaks before the answer is read.
    emulator_env.inject_fault("drop", path=SEND_PATH, method="POST", count=1, when="after")

    run = lifecycle_dag.test()

    assert task_states(run) == {
        "schedule_campaign": ("failed", 1),  # one try: no retry inside the hook, none by Airflow
        "wait_scheduled": ("upstream_failed", 0),
        "cancel_campaign": ("upstream_failed", 0),
        "confirm_canceled": ("upstream_failed", 0),
    }
    assert run.state == "failed"
    assert xcom(run, "schedule_campaign") is None
    assert xcom(run, "schedule_campaign", "send_result") is None

    # Exactly one send request reached the emulator_env, and it did queue the messages.
    [send] = sends(emulator_env, CAMPAIGN_TEXT)
    assert send["fault"] == "drop"
    queued = [message for message in emulator_env.messages() if message["message"] == CAMPAIGN_TEXT]
    assert len(queued) == 3

    # The failure says what happened and what to do.
    # The send operator tags the send with a reference unique to the task instance, so the lost
    # answer is the retryable CellcastSendRecoverableError (a retry would adopt what was queued);
    # this DAG keeps the send's retries at 0, so the run fails after one try. A send without such a
    # reference (the hook called directly) still raises the never-retried CellcastSendConnectionLostError.
    log = capsys.readouterr().out
    assert "CellcastSendRecoverableError" in log
    assert "CellcastSendConnectionLostError" not in log
    assert "the messages may have been queued" in log
    assert "looks up reference 'af-cellcast-campaign-li-schedule-campaign-" in log

    # The DAG's on_failure_callback alerted by SMS (a separate, immediate send).
    journal = emulator_env.requests_log()
    [alert] = [entry for entry in journal if entry["method"] == "POST" and entry["id"] != send["id"]]
    assert alert["path"] == SEND_PATH
    assert alert["body"]["message"].startswith(f"Airflow: {DAG_ID}.schedule_campaign failed")
    assert [contact[-3:] for contact in alert["body"]["contacts"]] == ["009"]  # the alert_contacts param
    assert "scheduleAt" not in alert["body"]


def run_trigger(trigger: CellcastMessageStatusTrigger) -> dict[str, Any]:
    async def first_event() -> dict[str, Any]:
        async for event in trigger.run():
            return event.payload
        raise AssertionError("the trigger ended without an event")

    return asyncio.run(first_event())


def test_trigger_notices_a_change_between_rounds(emulator_env: CellcastEmulator) -> None:
    emulator_env.configure(delivery_delay_seconds=24 * 3600)  # once sent, it stays "sent"
    message = emulator_env.seed_message(status="scheduled", schedule_at=emulator_env.now() + timedelta(hours=1))
    message_id = message["_id"]
    trigger = CellcastMessageStatusTrigger(message_ids=[message_id], target_statuses=["sent"], poll_interval=0.05)

    async def send_time_comes_after_first_look() -> None:
        # Move the emulator's clock past scheduleAt only once the trigger has seen "scheduled".
        while not any(
            entry["path"] == REPORT_PREFIX + message_id for entry in await asyncio.to_thread(emulator_env.requests_log)
        ):
            await asyncio.sleep(0.02)
        await asyncio.to_thread(emulator_env.advance_clock, 2 * 3600)

    async def both() -> dict[str, Any]:
        mover = asyncio.create_task(send_time_comes_after_first_look())
        async for event in trigger.run():
            await mover
            return event.payload
        raise AssertionError("the trigger ended without an event")

    event = asyncio.run(both())
    assert event["status"] == "success"
    assert event["statuses"] == {message_id: "sent"}
    lookups = [entry for entry in emulator_env.requests_log() if entry["path"] == REPORT_PREFIX + message_id]
    assert len(lookups) >= 2


def test_trigger_fails_on_unreachable_target_and_unknown_id(emulator_env: CellcastEmulator) -> None:
    sent = emulator_env.seed_message(status="sent", auto_advance=False)["_id"]
    unknown = "675161d8a0000000000000ff"
    event = run_trigger(
        CellcastMessageStatusTrigger(message_ids=[sent, unknown], target_statuses=["canceled"], poll_interval=0.05)
    )
    assert event["status"] == "failed"
    assert event["statuses"] == {sent: "sent", unknown: "not_found"}
    assert f"{sent}: 'sent', from which 'canceled' cannot be reached" in event["message"]
    assert f"{unknown}: not found on this account" in event["message"]
