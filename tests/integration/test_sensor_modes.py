"""The status sensor in reschedule mode, in a real ``dag.test()`` run against the emulator process.

Poke mode and deferrable mode (its trigger run by ``dag.test()`` the way each release runs
triggers) are covered by the lifecycle DAG (``test_lifecycle.py``). Here the first poke finds the
message still scheduled, the task gives its slot back, and a later poke finds it sent.
"""

from __future__ import annotations

import threading
import time

import pytest
from airflow_versions import reschedule_count
from conftest import REPO, load_dag, run_dag

pytestmark = pytest.mark.integration
REPORT_PREFIX = "/api/v2/report/message/"


def advance_clock_after_first_answer(emulator, message_id: str, done: threading.Event) -> None:
    """Once the emulator has answered the first status lookup, move its clock past the send time."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not done.is_set():
        journal = emulator.client.requests_log()
        if any(entry["path"] == REPORT_PREFIX + message_id and entry.get("status") for entry in journal):
            emulator.client.advance_clock(2 * 3600)
            return
        done.wait(0.05)


def test_sensor_in_reschedule_mode_gives_its_slot_back_then_succeeds(airflow_db, emulator):
    emulator.client.configure(delivery_delay_seconds=24 * 3600)  # once sent, it stays "sent"
    [message_id] = emulator.client.schedule_campaign(contacts=["61400000001"])
    dag = load_dag("cellcast_test_sensor_reschedule", REPO / "tests" / "dags")
    done = threading.Event()
    mover = threading.Thread(target=advance_clock_after_first_answer, args=(emulator, message_id, done))
    mover.start()
    try:
        result = run_dag(dag, {"message_id": message_id})
    finally:
        done.set()
        mover.join()

    assert result.state == "success" and result.task_state("wait_sent") == "success"
    assert result.xcom[("wait_sent", "return_value")] == {message_id: "sent"}
    lookups = [entry for entry in emulator.client.requests_log() if entry["path"] == REPORT_PREFIX + message_id]
    assert len(lookups) >= 2
    # The first poke did not finish the task: it was rescheduled, not kept poking in its slot.
    assert reschedule_count(dag.dag_id, result.run_id, "wait_sent") >= 1
