"""Campaigns named by their reference (Cellcast's ``customString``), in real ``dag.test()`` runs.

* A 250-contact campaign is cancelled by its reference from a run of the example cancel DAG
  triggered with conf: all 250 cancelled, one ``results`` entry each, another campaign untouched;
  a reference that matches nothing fails the task with a clear message, unless
  ``allow_nothing_to_cancel=True``.
* A send that Cellcast applies but answers with 502, with ``retries=2``: one send request only,
  and the retry adopts the queued IDs.
* The status sensor watches a campaign by reference until it is ``delivered``.

``dag.test()`` on Airflow 3.3 runs Airflow's retries in the same call: a task that fails with a
retryable error and ``retry_delay=0`` is queued again and run with ``try_number`` 2 (see
``cellcast_test_cancel``, whose tests count two tries), so the retry here is Airflow's own.
"""

from __future__ import annotations

import re
import threading
import time

import pytest
from conftest import REPO, load_dag, run_dag

pytestmark = pytest.mark.integration

SEND_PATH = "/api/v1/gateway"
LIST_PATH = "/api/v2/report/message"
CANCEL_PATH = "/api/v1/gateway/cancelScheduleQuickMessage"
TEST_DAGS = REPO / "tests" / "dags"


def contacts(count: int, start: int = 0) -> list[str]:
    return [f"+614{index:08d}" for index in range(start, start + count)]


@pytest.fixture(scope="module")
def cancel_dag(airflow_db):
    return load_dag("cellcast_cancel_campaign")


def test_a_250_contact_campaign_is_cancelled_by_its_reference(cancel_dag, emulator, capfd):
    client = emulator.client
    campaign = client.schedule_campaign(contacts=contacts(250), custom_string="spring-sale-2026-12-01")
    other = client.schedule_campaign(contacts=contacts(5, start=500), custom_string="spring-sale-2026-12-02")
    assert len(campaign) == 250 and len(set(campaign)) == 250

    result = run_dag(cancel_dag, {"custom_string": "spring-sale-2026-12-01", "message_type": "sms"})

    assert result.state == "success", capfd.readouterr().out[-3000:]
    results = result.xcom[("cancel_campaign", "results")]
    assert sorted(entry["message_id"] for entry in results) == sorted(campaign)  # one entry each
    assert {entry["outcome"] for entry in results} == {"cancelled"}
    summary = result.xcom[("cancel_campaign", "return_value")]  # a summary; the results pushed once
    assert summary["total"] == 250 and summary["reference"] == "spring-sale-2026-12-01"
    assert summary["outcomes"] == {"cancelled": 250, "already_cancelled": 0, "failed": 0}
    assert {client.message(message_id)["status"] for message_id in campaign} == {"canceled"}
    assert {client.message(message_id)["status"] for message_id in other} == {"scheduled"}
    # Only the campaign's messages were asked to be cancelled, each once; the list was read in pages.
    assert client.request_count(CANCEL_PATH) == 250
    assert client.request_count(LIST_PATH) >= 2
    out = capfd.readouterr().out
    assert "Found 250 scheduled sms message(s) with reference 'spring-sale-2026-12-01'" in out


def test_a_reference_that_matches_nothing_fails_with_a_clear_message(cancel_dag, emulator, capfd):
    kept = emulator.client.schedule_campaign(contacts=contacts(2), custom_string="kept")

    result = run_dag(cancel_dag, {"custom_string": "no-such-campaign", "message_type": "sms"})

    assert result.state == "failed" and result.task_state("cancel_campaign") == "failed"
    assert result.try_numbers["cancel_campaign"] == 1
    out = capfd.readouterr().out
    assert "CellcastReferenceNotFoundError" in out
    assert "No scheduled sms message carries reference 'no-such-campaign': nothing to cancel" in out
    assert "allow_nothing_to_cancel=True" in out
    assert emulator.client.request_count(CANCEL_PATH) == 0
    assert {emulator.client.message(message_id)["status"] for message_id in kept} == {"scheduled"}


def test_nothing_to_cancel_may_count_as_success(airflow_db, emulator):
    dag = load_dag("cellcast_test_nothing_to_cancel", TEST_DAGS)

    result = run_dag(dag, {"custom_string": "no-such-campaign"})

    assert result.state == "success"
    assert result.xcom[("cancel_campaign", "results")] == []
    assert emulator.client.request_count(CANCEL_PATH) == 0


def test_neither_or_both_fields_fail_the_task_before_any_request(cancel_dag, emulator, capfd):
    neither = run_dag(cancel_dag, {"custom_string": None, "message_id": None, "message_type": "sms"})
    both = run_dag(
        cancel_dag, {"custom_string": "spring-sale", "message_id": "675161d8a000000000000000", "message_type": "sms"}
    )

    for result in (neither, both):
        assert result.state == "failed" and result.try_numbers["cancel_campaign"] == 1
    assert capfd.readouterr().out.count("exactly one of them") >= 2
    assert emulator.client.requests_log() == []


def test_pasted_ids_one_per_line_or_comma_separated_are_all_cancelled(cancel_dag, emulator):
    ids = emulator.client.schedule_campaign(contacts=contacts(4))
    pasted = f"{ids[0]}\n{ids[1].upper()}\r\n  {ids[2]}, {ids[3]}\n"

    result = run_dag(cancel_dag, {"message_id": pasted, "custom_string": None, "message_type": "sms"})

    assert result.state == "success"
    assert [entry["message_id"] for entry in result.xcom[("cancel_campaign", "results")]] == ids
    assert {emulator.client.message(message_id)["status"] for message_id in ids} == {"canceled"}


def test_a_send_answered_502_after_it_was_queued_is_adopted_on_retry(airflow_db, emulator, capfd):
    client = emulator.client
    # Cellcast applies the send (the messages are queued), then the answer is a 502.
    client.inject_fault("status", status=502, path=SEND_PATH, method="POST", when="after", count=1)
    dag = load_dag("cellcast_test_send_retried", TEST_DAGS)

    result = run_dag(dag, {"contacts": contacts(3)})

    assert result.state == "success", capfd.readouterr().out[-3000:]
    assert result.try_numbers["send"] == 2  # try 1 failed with the retryable error, try 2 adopted
    assert client.request_count(SEND_PATH) == 1, "exactly one send request reached Cellcast"
    [send] = [entry for entry in client.requests_log() if entry["path"] == SEND_PATH]
    assert (send["status"], send["fault"]) == (502, "status")
    queued = [message["_id"] for message in client.messages()]
    assert len(queued) == 3
    send_result = result.xcom[("send", "send_result")]
    assert send_result["adopted"] is True
    assert re.fullmatch(r"af-cellcast-test-send-r-send-[0-9a-f]{16}", send_result["reference"])
    assert sorted(send_result["message_ids"]) == sorted(queued)
    assert sorted(result.xcom[("send", "return_value")]) == sorted(queued)
    assert {message["customString"] for message in client.messages()} == {send_result["reference"]}
    out = capfd.readouterr().out
    assert "CellcastSendRecoverableError" in out
    assert "Adopted 3 message(s) an earlier try queued with reference" in out


def result_run_id(dag) -> str:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        [run] = session.query(DagRun).filter(DagRun.dag_id == dag.dag_id).order_by(DagRun.id.desc()).limit(1)
        return str(run.run_id)


def test_the_sensor_watches_a_campaign_by_reference_until_delivered(airflow_db, emulator):
    client = emulator.client
    campaign = client.schedule_campaign(contacts=contacts(3), custom_string="watched-campaign")
    client.schedule_campaign(contacts=contacts(2, start=100), custom_string="another-campaign")
    report_prefix = "/api/v2/report/message/"

    def advance_after_first_check() -> None:
        # Once the sensor's first poke has listed the campaign (every message still scheduled), the
        # emulator's clock passes the schedule and the delivery delay: the next poke finds them
        # delivered.
        give_up = time.monotonic() + 60
        while time.monotonic() < give_up:
            if client.request_count(LIST_PATH) >= 1:
                client.advance_clock(3 * 3600)
                return
            stop.wait(0.05)

    stop = threading.Event()
    advancer = threading.Thread(target=advance_after_first_check, daemon=True)
    advancer.start()
    dag = load_dag("cellcast_test_watch_reference", TEST_DAGS)
    result = run_dag(dag, {"custom_string": "watched-campaign"})
    stop.set()
    advancer.join(timeout=5)

    assert result.state == "success"
    statuses = result.xcom[("watch_campaign", "statuses")]
    assert statuses == dict.fromkeys(campaign, "delivered")  # the other campaign is not watched
    # The first poke found them scheduled (the sensor waited), a later one delivered: both by the
    # page (the campaign's list), never one report per message.
    assert client.request_count(LIST_PATH) >= 2
    lookups = [count for path, count in client.stats()["by_path"].items() if path.startswith(report_prefix)]
    assert sum(lookups) == 0
