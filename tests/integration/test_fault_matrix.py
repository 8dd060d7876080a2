"""Every fault Cellcast (or the network) can produce, through real DAG runs against the emulator.

Each case injects one fault on the cancel endpoint, runs ``cellcast_test_cancel`` (one Airflow
retry, no retry delay) with ``dag.test()``, and checks the task's final state, how many cancel
requests reached the emulator, how many task tries Airflow made, what the log says, and that no
token appears anywhere in the captured output. The figures go to ``.artifacts/fault-matrix.json``
(the README's fault table is drawn from it).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import pytest
from airflow_versions import without_dag_test_mask_echo
from conftest import REPO, load_dag, run_dag

pytestmark = pytest.mark.integration
CANCEL_PATH = "/api/v1/gateway/cancelScheduleQuickMessage"
# Fast settings from the connection's extras, the way a user tunes them.
EXTRAS = {"timeout": 1, "connect_timeout": 1, "max_attempts": 3, "backoff_seconds": 0.05, "max_backoff_seconds": 2}
RECORD: list[dict[str, Any]] = []


@dataclass
class Case:
    name: str
    fault: dict[str, Any]
    state: str
    cancel_requests: int
    tries: int
    says: str
    outcome: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def http_date(seconds: int) -> str:
    return format_datetime(datetime.now(timezone.utc) + timedelta(seconds=seconds), usegmt=True)


CASES = [
    Case(
        "429 twice, then success",
        {"kind": "status", "status": 429, "count": 2},
        "success",
        3,
        1,
        "HTTP 429",
        "cancelled",
    ),
    Case(
        "429 with Retry-After (HTTP date)",
        {"kind": "status", "status": 429, "retry_after": "DATE"},
        "success",
        2,
        1,
        "retrying in",
        "cancelled",
    ),
    Case("502 HTML page from a proxy", {"kind": "html", "status": 502}, "success", 2, 1, "text/html", "cancelled"),
    Case(
        "503 with Retry-After 1",
        {"kind": "status", "status": 503, "retry_after": 1},
        "success",
        2,
        1,
        "retrying in 1.0 s",
        "cancelled",
    ),
    Case("504 empty body", {"kind": "empty", "status": 504}, "success", 2, 1, "an empty body", "cancelled"),
    Case(
        "503 on every request",
        {"kind": "status", "status": 503, "count": None},
        "failed",
        6,
        2,
        "attempt 2 of 3 failed",
        "failed",
    ),
    Case(
        "500 on every request", {"kind": "status", "status": 500, "count": None}, "failed", 2, 2, "HTTP 500", "failed"
    ),
    Case(
        "400 bad request",
        {"kind": "status", "status": 400, "count": None, "message": "messageId is required"},
        "failed",
        1,
        1,
        "messageId is required",
        "failed",
    ),
    Case(
        "401 token expired",
        {"kind": "status", "status": 401, "count": None, "message": "Token expired"},
        "failed",
        2,
        2,
        "password field of Airflow connection 'cellcast_default'",
        "failed",
    ),
    Case("403 forbidden", {"kind": "status", "status": 403, "count": None}, "failed", 2, 2, "HTTP 403", "failed"),
    Case("malformed JSON once", {"kind": "malformed"}, "success", 2, 2, "not Cellcast JSON", "cancelled"),
    Case(
        "unexpected JSON shape always",
        {"kind": "unexpected_json", "count": None},
        "failed",
        2,
        2,
        "JSON of an unexpected shape",
        "failed",
    ),
    Case(
        "status false, message still scheduled",
        {"kind": "app_status_false"},
        "success",
        2,
        2,
        "still scheduled",
        "cancelled",
    ),
    Case(
        "latency under the timeout", {"kind": "latency", "latency_ms": 300}, "success", 1, 1, "cancelled", "cancelled"
    ),
    Case(
        "hang once (attempt deadline)",
        {"kind": "hang", "hang_seconds": 4},
        "success",
        2,
        1,
        "within the attempt deadline of 1 s",
        "cancelled",
    ),
    # The call's budget (call_timeout, by default twice timeout) ends a hung call after two
    # attempts of 1 s, whatever max_attempts allows: 2 requests in each of the 2 tries.
    Case(
        "hang on every request",
        {"kind": "hang", "hang_seconds": 4, "count": None},
        "failed",
        4,
        2,
        "within the attempt deadline of 1 s",
        "failed",
    ),
    Case(
        "connection dropped after the cancel was applied",
        {"kind": "drop", "when": "after"},
        "success",
        2,
        1,
        "no complete answer",
        "already_cancelled",
    ),
]


@pytest.fixture(scope="module")
def test_dag(airflow_db):
    return load_dag("cellcast_test_cancel", REPO / "tests" / "dags")


@pytest.fixture(scope="module", autouse=True)
def write_record():
    yield
    out = REPO / ".artifacts" / "fault-matrix.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(RECORD, indent=1))


def connect(monkeypatch, emulator, host: str | None = None) -> None:
    conn = {"conn_type": "cellcast", "host": host or emulator.url, "password": emulator.token, "extra": EXTRAS}
    monkeypatch.setenv("AIRFLOW_CONN_CELLCAST_DEFAULT", json.dumps(conn))


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_fault(case: Case, test_dag, emulator, monkeypatch, capfd):
    connect(monkeypatch, emulator)
    [message_id] = emulator.client.schedule_campaign(contacts=["61400000001"])
    fault = dict(case.fault)
    if fault.get("retry_after") == "DATE":
        fault["retry_after"] = http_date(1)
    fault.setdefault("count", 1)
    emulator.client.inject_fault(fault.pop("kind"), path=CANCEL_PATH, **fault)

    started = time.monotonic()
    result = run_dag(test_dag, {"message_id": message_id, "message_type": "sms"})
    elapsed = time.monotonic() - started

    output = capfd.readouterr()
    text = without_dag_test_mask_echo(output.out + output.err)
    cancels = [entry for entry in emulator.client.requests_log() if entry["path"] == CANCEL_PATH]
    [entry] = result.xcom[("cancel_campaign", "results")]
    token_hits = (text + json.dumps(list(result.xcom.values()))).count(emulator.token)
    RECORD.append(
        {
            "fault": case.name,
            "state": result.state,
            "cancel_requests": len(cancels),
            "task_tries": result.try_numbers["cancel_campaign"],
            "outcome": entry["outcome"],
            "error": entry["error"],
            "seconds": round(elapsed, 2),
            "token_occurrences": token_hits,
            "log_bytes": len(text),
        }
    )
    assert result.state == case.state
    assert len(cancels) == case.cancel_requests
    assert result.try_numbers["cancel_campaign"] == case.tries
    assert case.says in text
    assert entry["outcome"] == case.outcome
    assert token_hits == 0
    final = emulator.client.message(message_id)["status"]
    assert final == ("canceled" if case.state == "success" else "scheduled")


def test_unreachable_server_fails_with_a_clear_message(test_dag, emulator, monkeypatch, capfd):
    connect(monkeypatch, emulator, host="http://127.0.0.1:9")  # discard port: connection refused
    result = run_dag(test_dag, {"message_id": "675161d8a000000000000000", "message_type": "sms"})
    text = without_dag_test_mask_echo(capfd.readouterr().out)
    assert result.state == "failed" and result.try_numbers["cancel_campaign"] == 2
    [entry] = result.xcom[("cancel_campaign", "results")]
    assert "could not connect" in entry["error"] and "127.0.0.1:9" in entry["error"]
    assert emulator.token not in text
    RECORD.append(
        {
            "fault": "connection refused",
            "state": result.state,
            "cancel_requests": 0,
            "task_tries": 2,
            "outcome": entry["outcome"],
            "error": entry["error"],
            "token_occurrences": text.count(emulator.token),
        }
    )
