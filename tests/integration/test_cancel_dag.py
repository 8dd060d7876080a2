"""The cancel operator in real DAG runs (``dag.test()`` on SQLite) against the emulator process."""

from __future__ import annotations

import json

import pytest
from airflow_versions import without_dag_test_mask_echo
from conftest import REPO, load_dag, run_dag

from airflow_provider_cellcast.hooks.cellcast import SETTLED_EARLIER

pytestmark = pytest.mark.integration
CANCEL_PATH = "/api/v1/gateway/cancelScheduleQuickMessage"


@pytest.fixture(scope="module")
def example_dag(airflow_db):
    return load_dag("cellcast_cancel_campaign")


@pytest.fixture(scope="module")
def test_dag(airflow_db):
    return load_dag("cellcast_test_cancel", REPO / "tests" / "dags")


def cancel_requests(emulator) -> list[dict]:
    return [entry for entry in emulator.client.requests_log() if entry["path"] == CANCEL_PATH]


def test_cancel_by_id_from_dag_run_conf(example_dag, emulator):
    [message_id] = emulator.client.schedule_campaign(contacts=["61400000001"])
    result = run_dag(example_dag, {"message_id": f" {message_id.upper()} ", "message_type": "sms"})
    assert result.state == "success"
    returned = result.xcom[("cancel_campaign", "return_value")]
    assert returned["message_id"] == message_id and returned["outcome"] == "cancelled"
    assert returned["type"] == "sms" and returned["message"]
    assert result.xcom[("cancel_campaign", "results")] == [returned]
    assert emulator.client.message(message_id)["status"] == "canceled"


def test_cancel_ids_from_upstream_xcom(airflow_db, emulator):
    dag = load_dag("cellcast_schedule_and_cancel")
    result = run_dag(dag)
    assert result.task_states == {"schedule_campaign": "success", "cancel_campaign": "success"}
    scheduled = result.xcom[("schedule_campaign", "return_value")]
    assert len(scheduled) == 3
    outcomes = result.xcom[("cancel_campaign", "results")]
    assert [item["message_id"] for item in outcomes] == scheduled
    assert {item["outcome"] for item in outcomes} == {"cancelled"}
    assert {emulator.client.message(mid)["status"] for mid in scheduled} == {"canceled"}


def test_rerun_is_already_cancelled_and_succeeds(example_dag, emulator):
    [message_id] = emulator.client.schedule_campaign(contacts=["61400000001"])
    assert run_dag(example_dag, {"message_id": message_id}).state == "success"
    again = run_dag(example_dag, {"message_id": message_id})
    assert again.state == "success"
    assert again.xcom[("cancel_campaign", "return_value")]["outcome"] == "already_cancelled"


def test_status_false_for_unknown_id_fails_the_task(example_dag, emulator, capfd):
    unknown = "675161d8a000000000000000"
    result = run_dag(example_dag, {"message_id": unknown})
    assert result.state == "failed" and result.task_state("cancel_campaign") == "failed"
    [entry] = result.xcom[("cancel_campaign", "results")]
    assert entry["outcome"] == "failed" and f"no message {unknown}" in entry["error"]
    # Cellcast answered HTTP 200 with status false: the task still failed.
    [cancel] = cancel_requests(emulator)
    assert cancel["status"] == 200
    assert f"Cellcast has no message {unknown}" in capfd.readouterr().out


def test_wrong_token_fails_without_showing_any_token(example_dag, emulator, monkeypatch, capfd):
    wrong = "wrong-token-3b1f7c9a2d"
    monkeypatch.setenv(
        "AIRFLOW_CONN_CELLCAST_DEFAULT",
        json.dumps({"conn_type": "cellcast", "host": emulator.url, "password": wrong}),
    )
    [message_id] = emulator.client.schedule_campaign(contacts=["61400000001"])
    result = run_dag(example_dag, {"message_id": message_id})
    assert result.state == "failed"
    [entry] = result.xcom[("cancel_campaign", "results")]
    assert entry["status_code"] == 401 and "connection 'cellcast_default'" in entry["error"]
    output = capfd.readouterr()
    everything = (
        without_dag_test_mask_echo(output.out + output.err)
        + json.dumps(list(result.xcom.values()))
        + json.dumps(emulator.client.requests_log())
    )
    assert wrong not in everything and emulator.token not in everything
    assert "HTTP 401" in output.out
    assert emulator.client.message(message_id)["status"] == "scheduled"


@pytest.mark.parametrize(
    "conf,field",
    [
        ({"message_type": "fax"}, "message_type"),
        ({"message_id": "675161d8a00000000000000"}, "message_id"),
        ({"message_id": ["675161d8a000000000000000", "nope"]}, "message_id[1]"),
    ],
)
def test_bad_input_fails_before_any_request_and_without_retry(test_dag, emulator, capfd, conf, field):
    result = run_dag(test_dag, {"message_id": "675161d8a000000000000000", "message_type": "sms", **conf})
    assert result.state == "failed"
    assert result.try_numbers["cancel_campaign"] == 1, "bad input must not use Airflow's retries"
    assert emulator.client.requests_log() == []
    out = capfd.readouterr().out
    assert field in out and ("sms, mms" in out or "24 hexadecimal" in out)


def test_sent_message_fails_without_airflow_retry(test_dag, emulator):
    [message_id] = emulator.client.schedule_campaign(contacts=["61400000001"], delay_ms=0)
    result = run_dag(test_dag, {"message_id": message_id, "message_type": "sms"})
    assert result.state == "failed" and result.try_numbers["cancel_campaign"] == 1
    [entry] = result.xcom[("cancel_campaign", "results")]
    assert "already gone out" in entry["error"]


def test_bulk_with_unknown_id_cancels_all_others_and_reports_every_id(test_dag, emulator):
    ids = emulator.client.schedule_campaign(contacts=[f"614000000{i:02d}" for i in range(12)])
    unknown = "675161d8a000000000000000"
    batch = [*ids[:6], unknown, *ids[6:], ids[0]]
    result = run_dag(test_dag, {"message_id": batch, "message_type": "sms"})
    assert result.state == "failed"
    results = result.xcom[("cancel_campaign", "results")]
    assert [item["message_id"] for item in results] == [*ids[:6], unknown, *ids[6:]]
    outcomes = {item["message_id"]: item["outcome"] for item in results}
    assert outcomes.pop(unknown) == "failed"
    assert {emulator.client.message(mid)["status"] for mid in ids} == {"canceled"}
    # One failure that a retry might fix (unknown ID): Airflow retried; the retry skipped the IDs
    # the first try had settled (saved in the task instance's state) and asked only about the rest.
    assert result.try_numbers["cancel_campaign"] == 2
    others = [item for item in results if item["message_id"] != unknown]
    assert {item["outcome"] for item in others} == {"cancelled"}
    assert {item["message"] for item in others} == {SETTLED_EARLIER}
    journal = emulator.client.requests_log()
    cancels = [entry for entry in journal if entry["path"].endswith("cancelScheduleQuickMessage")]
    assert len(cancels) == len(ids) + 2  # every ID once, and the unknown one once per try


def test_dynamic_task_mapping_one_task_per_id(airflow_db, emulator):
    ids = emulator.client.schedule_campaign(contacts=["61400000001", "61400000002", "61400000003"])
    dag = load_dag("cellcast_test_cancel_mapped", REPO / "tests" / "dags")
    result = run_dag(dag, {"message_ids": ids})
    assert result.state == "success"
    assert {emulator.client.message(mid)["status"] for mid in ids} == {"canceled"}
    cancels = [entry for entry in emulator.client.requests_log() if entry["path"] == CANCEL_PATH]
    assert sorted(entry["message_id"] for entry in cancels) == sorted(ids)
