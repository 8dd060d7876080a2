"""Campaign scale through real DAG runs: small XComs, bounded logs, status rounds by the page.

A cancel over 20,000 IDs pushes every ID's outcome once (``results``) and returns a summary; its
log names no ID when all went well, and every failed ID in a few grouped lines when some did not.
A sensor watching a 1,000-message campaign by its reference reads the statuses from the list,
100 a page. (Memory of a 100,000-ID cancel is a benchmark figure: ``benchmarks/scale.py``.)
"""

from __future__ import annotations

import json
import re

import pytest
from conftest import REPO, load_dag, run_dag

pytestmark = pytest.mark.integration
TEST_DAGS = REPO / "tests" / "dags"
MESSAGE_ID = re.compile(r"\b[0-9a-f]{24}\b")
REPORT_ONE = "/api/v2/report/message/{messageId}"
REPORT_LIST = "/api/v2/report/message"


@pytest.fixture(scope="module")
def cancel_dag(airflow_db):
    return load_dag("cellcast_test_cancel", TEST_DAGS)


@pytest.fixture
def unpaced(emulator, monkeypatch):
    """The connection without a pace (the emulator sets no rate limit): 20,000 cancels in seconds."""
    conn = {
        "conn_type": "cellcast",
        "host": emulator.url,
        "password": emulator.token,
        "extra": {"requests_per_second": 0, "max_concurrency": 16},
    }
    monkeypatch.setenv("AIRFLOW_CONN_CELLCAST_DEFAULT", json.dumps(conn))
    return emulator


def schedule(client, count: int, *, start: int = 0, custom_string: str | None = None) -> list[str]:
    ids: list[str] = []
    while len(ids) < count:
        batch = min(1000, count - len(ids))
        numbers = [f"614{start + len(ids) + i:08d}" for i in range(batch)]
        ids.extend(client.schedule_campaign(contacts=numbers, custom_string=custom_string))
    return ids


def lines_naming_an_id(text: str) -> list[str]:
    return [line for line in text.splitlines() if MESSAGE_ID.search(line)]


def test_a_20000_id_cancel_returns_a_summary_pushes_results_once_and_logs_no_id(unpaced, cancel_dag, capfd):
    client = unpaced.client
    client.configure(sms_balance=100_000)
    ids = schedule(client, 20_000)
    capfd.readouterr()

    result = run_dag(cancel_dag, {"message_id": ids, "message_type": "sms"})

    out = capfd.readouterr()
    assert result.state == "success"
    results = result.xcom[("cancel_campaign", "results")]
    assert [entry["message_id"] for entry in results] == ids
    assert {entry["outcome"] for entry in results} == {"cancelled"}
    summary = result.xcom[("cancel_campaign", "return_value")]
    assert summary["total"] == 20_000 and summary["outcomes"] == {
        "cancelled": 20_000,
        "already_cancelled": 0,
        "failed": 0,
    }
    sizes = {key: len(json.dumps(value)) for (task, key), value in result.xcom.items() if task == "cancel_campaign"}
    assert sizes["return_value"] <= 64 * 1024
    assert sum(sizes.values()) <= 1.3 * max(sizes.values())  # the results are pushed once
    assert len(lines_naming_an_id(out.out + out.err)) <= 200
    assert {message["status"] for message in client.messages()} == {"canceled"}


def test_a_2000_id_cancel_with_10_unknown_ids_names_all_ten_in_a_bounded_log(unpaced, cancel_dag, capfd):
    client = unpaced.client
    ids = schedule(client, 1_990)
    unknown = [f"675161d8a0000000000000{index:02x}" for index in range(10)]
    capfd.readouterr()

    result = run_dag(cancel_dag, {"message_id": ids[:1000] + unknown + ids[1000:], "message_type": "sms"})

    out = capfd.readouterr()
    text = out.out + out.err
    assert result.state == "failed"
    results = result.xcom[("cancel_campaign", "results")]
    assert len(results) == 2_000
    assert sorted(entry["message_id"] for entry in results if entry["outcome"] == "failed") == sorted(unknown)
    naming = lines_naming_an_id(text)
    assert len(naming) <= 200
    for message_id in unknown:
        assert any(message_id in line for line in naming), f"{message_id} is not named in the log"
    # The error itself names every one of the ten too (what the UI shows as the failure).
    error_lines = [line for line in naming if "could not be cancelled" in line]
    assert error_lines and all(message_id in error_lines[-1] for message_id in unknown)


def test_a_sensor_round_over_a_1000_message_campaign_reads_the_list_by_the_page(emulator, airflow_db):
    client = emulator.client
    dag = load_dag("cellcast_test_watch_reference", TEST_DAGS)
    ids = schedule(client, 1_000, custom_string="spring-sale-1000")
    for message_id in ids:
        client.set_status(message_id, "delivered", auto_advance=False)
    client.clear_stats()

    result = run_dag(dag, {"custom_string": "spring-sale-1000"})

    assert result.state == "success"
    assert result.xcom[("watch_campaign", "statuses")] == dict.fromkeys(ids, "delivered")
    by_path = client.stats()["by_path"]
    reports = by_path.get(REPORT_ONE, 0) + by_path.get(REPORT_LIST, 0)
    # One pass over the reference's 10 pages finds the IDs and gives their statuses: no report per ID.
    assert by_path.get(REPORT_ONE, 0) == 0
    assert reports <= 15
