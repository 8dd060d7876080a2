"""The provider against the emulator in its strict modes: what the live Cellcast service does.

Cellcast's pages say less than its live answers (``../shared/cellcast-api.md``, "What the live
service does"): a ``customString`` outside letters, digits and dashes is refused or stripped,
contacts outside two forms fail the whole request, a UTC ``scheduleAt`` was read as Australian
local time, a report answers "internal server error" now and then, ``dead`` is a final failure.
Each test runs a real DAG with ``dag.test()`` against the emulator set to behave that way.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from conftest import REPO, load_dag, run_dag

pytestmark = pytest.mark.integration
TEST_DAGS = REPO / "tests" / "dags"
SEND = "/api/v1/gateway"
CANCEL = "/api/v1/gateway/cancelScheduleQuickMessage"
REPORT = "/api/v2/report/message/"


@pytest.fixture(scope="module")
def send_dag(airflow_db):
    return load_dag("cellcast_test_live_send", TEST_DAGS)


@pytest.fixture(scope="module")
def watch_dag(airflow_db):
    return load_dag("cellcast_test_watch_ids", TEST_DAGS)


def sends(client) -> list[dict]:
    return [entry for entry in client.requests_log() if entry["path"] == SEND and entry["method"] == "POST"]


def test_a_scheduled_send_normalises_contacts_reports_the_impossible_and_keeps_a_clean_reference(emulator, send_dag):
    client = emulator.client
    result = run_dag(
        send_dag, {"contacts": ["0400000801", "400000802", "+61 400 000 803", "+6140000"], "custom_string": ""}
    )

    assert result.state == "success"
    send_result = result.xcom[("send", "send_result")]
    assert len(send_result["message_ids"]) == 3
    [refused] = send_result["invalid_contacts"]
    assert refused == {
        "contact": "+****000",
        "error": "Number is less than 9 digit",
        "error_type": "less_nine_digit",
        "rejected_by": "provider",
    }
    [request] = sends(client)
    # The journal masks numbers: the last three digits and the form are what it shows.
    assert [number[-3:] for number in request["body"]["contacts"]] == ["801", "802", "803"]
    assert all(len(number) == 11 for number in request["body"]["contacts"])  # 61XXXXXXXXX
    assert request["body"]["replyStopToOptOut"] is True
    reference = send_result["reference"]
    assert re.fullmatch(r"af-cellcast-test-live-s-send-[0-9a-f]{16}", reference)
    stored = [client.message(message_id) for message_id in send_result["message_ids"]]
    assert {message["customString"] for message in stored} == {reference}
    assert {message["status"] for message in stored} == {"scheduled"}
    assert {message["receiver_e164"] for message in stored} == {"+61400000801", "+61400000802", "+61400000803"}


@pytest.mark.parametrize("mode", ["refuse", "strip"])
def test_a_lost_answer_is_recovered_with_one_send_in_both_custom_string_modes(emulator, send_dag, mode):
    client = emulator.client
    client.configure(custom_string_mode=mode)
    client.inject_fault("status", status=502, path=SEND, method="POST", when="after", count=1)

    result = run_dag(send_dag, {"contacts": ["0400000811", "0400000812"], "custom_string": ""})

    assert result.state == "success" and result.try_numbers["send"] == 2
    assert len(sends(client)) == 1, "exactly one send request reached Cellcast"
    send_result = result.xcom[("send", "send_result")]
    assert send_result["adopted"] is True and len(send_result["message_ids"]) == 2
    assert sorted(send_result["message_ids"]) == sorted(message["_id"] for message in client.messages())


def test_a_reference_cellcast_would_not_keep_fails_before_any_request(emulator, send_dag, capfd):
    result = run_dag(send_dag, {"contacts": ["0400000821"], "custom_string": "spring sale/2026"})

    assert result.state == "failed" and result.try_numbers["send"] == 1  # refused for good: no retry
    assert emulator.client.requests_log() == []
    out = capfd.readouterr().out
    assert "custom_string 'spring sale/2026' has characters Cellcast does not keep" in out
    assert "letters, digits and dashes" in out


def test_a_schedule_cellcast_misreads_is_cancelled_and_fails_naming_both_times(emulator, send_dag, capfd):
    client = emulator.client
    client.configure(schedule_at_mode="all-local")  # even the ISO form with Z read as Sydney wall time

    result = run_dag(send_dag, {"contacts": ["0400000831", "0400000832", "0400000833"], "custom_string": ""})

    assert result.state == "failed" and result.try_numbers["send"] == 1
    messages = client.messages()
    assert len(messages) == 3 and {message["status"] for message in messages} == {"canceled"}
    [request] = sends(client)
    asked = request["body"]["scheduleAt"]
    understood = messages[0]["scheduleAt"]
    offset = datetime.fromisoformat(asked.replace("Z", "+00:00")) - datetime.fromisoformat(
        understood.replace("Z", "+00:00")
    )
    assert timedelta(hours=9) <= offset <= timedelta(hours=11)  # AEST/AEDT
    out = capfd.readouterr().out
    assert f"scheduleAt {asked} as '{understood}'" in out
    assert "CellcastScheduleMismatchError" in out
    assert len([entry for entry in client.requests_log() if entry["path"] == CANCEL]) == 3


def test_a_sensor_survives_a_report_that_answers_internal_server_error(emulator, watch_dag):
    client = emulator.client
    message_id = client.seed_message(status="delivered", auto_advance=False)["_id"]
    client.inject_fault("cast_error", message_id=message_id, count=1)

    result = run_dag(watch_dag, {"message_ids": [message_id]})

    assert result.state == "success" and result.try_numbers["watch"] == 1
    assert result.xcom[("watch", "statuses")] == {message_id: "delivered"}
    reports = [entry for entry in client.requests_log() if entry["path"].startswith(REPORT)]
    assert [entry["fault"] for entry in reports] == ["cast_error", None]  # retried within the call


def test_a_sensor_on_a_dead_message_fails_at_once(emulator, watch_dag, capfd):
    client = emulator.client
    message_id = client.seed_message(status="dead", auto_advance=False)["_id"]

    result = run_dag(watch_dag, {"message_ids": [message_id]})

    assert result.state == "failed" and result.try_numbers["watch"] == 1  # AirflowFailException: no retry
    assert result.xcom[("watch", "statuses")] == {message_id: "dead"}
    assert f"{message_id}: 'dead', a failure status" in capfd.readouterr().out
