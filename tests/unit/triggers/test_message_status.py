"""CellcastMessageStatusTrigger: serialisation, polling rounds and the one event it fires.

The trigger builds its hook from the connection ID and ``hook_params`` when it runs (``await
CellcastHook(conn_id, **hook_params).get_async_client()``) and polls with the async client, so
its seam is the connection: it polls the Cellcast emulator, whose faults script the answers of
single lookups (``unexpected_json`` with a report body for "still scheduled", ``status`` for
503/401/400). Nothing of the trigger or the hook is replaced.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from airflow_provider_cellcast.emulator.envelopes import app_envelope
from airflow_provider_cellcast.exceptions import CellcastInputError
from airflow_provider_cellcast.triggers.message_status import CellcastMessageStatusTrigger

A, B = "675161d8a000000000000001", "675161d8a000000000000002"
REPORT = "/api/v2/report/message"
#: No pacing and no backoff: the tests never wait for real.
FAST = {"requests_per_second": 0, "backoff_seconds": 0, "max_concurrency": 1}


def test_a_hand_built_trigger_normalises_and_checks_statuses() -> None:
    built = CellcastMessageStatusTrigger(message_ids=[A], target_statuses=["Cancelled"], failure_statuses=[])
    assert (built.target_statuses, built.failure_statuses) == (["canceled"], [])
    assert CellcastMessageStatusTrigger(message_ids=[A], target_statuses=["sent"]).failure_statuses == [
        "aborted", "blocked", "dead", "expired", "failed", "rejected",
    ]  # fmt: skip
    with pytest.raises(CellcastInputError):
        CellcastMessageStatusTrigger(message_ids=[A], target_statuses=["gone"])


def test_serialize_round_trips() -> None:
    trigger = CellcastMessageStatusTrigger(
        message_ids=[A, B], target_statuses=["delivered"], cellcast_conn_id="cc", hook_params={"timeout": 5},
        poll_interval=15,
    )  # fmt: skip
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_cellcast.triggers.message_status.CellcastMessageStatusTrigger"
    assert kwargs == {
        "message_ids": [A, B],
        "target_statuses": ["delivered"],
        "failure_statuses": ["aborted", "blocked", "dead", "expired", "failed", "rejected"],
        "cellcast_conn_id": "cc",
        "hook_params": {"timeout": 5},
        "poll_interval": 15.0,
        "custom_string": None,
        "from_date": None,
    }
    assert CellcastMessageStatusTrigger(**kwargs).serialize() == (classpath, kwargs)


def test_the_reference_and_send_day_are_serialized() -> None:
    trigger = CellcastMessageStatusTrigger(
        message_ids=[A], target_statuses=["sent"], custom_string="camp-7", from_date="2026-11-30"
    )
    classpath, kwargs = trigger.serialize()
    assert (kwargs["custom_string"], kwargs["from_date"]) == ("camp-7", "2026-11-30")
    assert CellcastMessageStatusTrigger(**kwargs).serialize() == (classpath, kwargs)


# -- polling the emulator ---------------------------------------------------------------------------


def collect(trigger: CellcastMessageStatusTrigger) -> list[dict[str, Any]]:
    async def run() -> list[dict[str, Any]]:
        return [event.payload async for event in trigger.run()]

    return asyncio.run(run())


def trigger(**kwargs: Any) -> CellcastMessageStatusTrigger:
    kwargs.setdefault("message_ids", [A, B])
    kwargs.setdefault("target_statuses", ["canceled"])
    kwargs.setdefault("poll_interval", 0)
    kwargs.setdefault("hook_params", FAST)
    return CellcastMessageStatusTrigger(**kwargs)


def still(emulator: Any, message_id: str, status: str, count: int) -> None:
    """The next ``count`` lookups of ``message_id`` answer ``status`` (then the emulator's own state)."""
    body = app_envelope(True, "ok", {"_id": message_id, "status": status})
    emulator.inject_fault("unexpected_json", message_id=message_id, count=count, body=body)


def lookups(emulator: Any) -> list[str]:
    return [entry["path"].rsplit("/", 1)[-1] for entry in emulator.requests_log() if entry["path"].startswith(REPORT)]


def test_trigger_polls_until_every_message_is_done(cellcast_emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    emulator = cellcast_emulator
    conn = {"conn_type": "cellcast", "host": emulator.url, "password": emulator.token}
    monkeypatch.setenv("AIRFLOW_CONN_CC", json.dumps(conn))
    for message_id in (A, B):
        emulator.seed_message(message_id=message_id, status="canceled")
    still(emulator, A, "scheduled", count=2)
    events = collect(trigger(cellcast_conn_id="cc"))
    assert len(events) == 1
    assert events[0]["status"] == "success"
    assert events[0]["statuses"] == {A: "canceled", B: "canceled"}
    assert "after 3 polling round(s)" in events[0]["message"]
    assert lookups(emulator) == [A, B, A, A]  # B was done in round one: not asked again


def test_trigger_fires_failed_when_a_target_becomes_unreachable(cellcast_connection_env) -> None:
    emulator = cellcast_connection_env
    emulator.seed_message(message_id=A, status="sent", auto_advance=False)
    emulator.seed_message(message_id=B, status="canceled")
    still(emulator, A, "scheduled", count=1)
    [event] = collect(trigger())
    assert event["status"] == "failed"
    assert event["statuses"] == {A: "sent", B: "canceled"}
    assert f"{A}: 'sent', from which 'canceled' cannot be reached" in event["message"]
    assert lookups(emulator) == [A, B, A]


@pytest.mark.parametrize(
    ("status", "error_text", "permanent"),
    [(503, "server error", False), (401, "refused the API token", False), (400, "rejected", True)],
)
def test_trigger_reports_errors_with_their_permanence(
    cellcast_connection_env, status: int, error_text: str, permanent: bool
) -> None:
    emulator = cellcast_connection_env
    emulator.seed_message(message_id=A, status="scheduled")
    emulator.seed_message(message_id=B, status="canceled")
    emulator.inject_fault("status", status=status, message_id=A, count=None)
    [event] = collect(trigger(hook_params={**FAST, "max_attempts": 2}))
    assert set(event) == {"status", "statuses", "message", "permanent"}
    assert (event["status"], event["statuses"], event["permanent"]) == ("error", {}, permanent)
    assert error_text in event["message"] and f"HTTP {status}" in event["message"]
    assert emulator.token not in event["message"]
    # A 503 is retried by the client (max_attempts=2) before the trigger gives up; 401 and 400 are not.
    assert lookups(emulator).count(A) == (2 if status == 503 else 1)


def test_hook_params_reach_the_client(cellcast_connection_env) -> None:
    emulator = cellcast_connection_env
    emulator.seed_message(message_id=A, status="canceled")
    emulator.inject_fault("status", status=503, message_id=A, count=2)
    [patient] = collect(trigger(message_ids=[A], hook_params={**FAST, "max_attempts": 3}))
    assert patient["status"] == "success"
    emulator.inject_fault("status", status=503, message_id=A, count=2)
    [hasty] = collect(trigger(message_ids=[A], hook_params={**FAST, "max_attempts": 1}))
    assert hasty["status"] == "error" and hasty["permanent"] is False


def test_an_unusable_connection_is_a_permanent_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_NO_TOKEN", json.dumps({"conn_type": "cellcast", "host": "https://api.cellcast.com"})
    )
    [event] = collect(trigger(cellcast_conn_id="no_token"))
    assert event["status"] == "error" and event["permanent"] is True and "no API token" in event["message"]


def test_trigger_polls_the_emulator(cellcast_connection_env) -> None:
    emulator = cellcast_connection_env
    canceled = emulator.seed_message(status="canceled")["_id"]
    delivered = emulator.seed_message(status="delivered")["_id"]
    [event] = collect(trigger(message_ids=[canceled, delivered], target_statuses=["canceled"]))
    assert event["status"] == "failed" and event["statuses"] == {canceled: "canceled", delivered: "delivered"}
    [event] = collect(trigger(message_ids=[canceled], target_statuses=["canceled"]))
    assert event["status"] == "success"


def test_with_a_reference_a_round_lists_it_and_asks_only_for_ids_not_listed(cellcast_connection_env) -> None:
    emulator = cellcast_connection_env
    emulator.seed_message(message_id=A, status="canceled", custom_string="camp-7")
    emulator.seed_message(message_id=B, status="canceled")  # not under the reference
    emulator.seed_message(status="scheduled", custom_string="camp-7")  # listed, not watched
    day = emulator.now().date().isoformat()
    emulator.clear_requests_log()
    [event] = collect(trigger(custom_string="camp-7", from_date=day))
    assert (event["status"], event["statuses"]) == ("success", {A: "canceled", B: "canceled"})
    journal = [entry for entry in emulator.requests_log() if entry["path"].startswith(REPORT)]
    assert [entry["path"] for entry in journal] == [REPORT, f"{REPORT}/{B}"]
    assert {key: journal[0]["query"][key] for key in ("customString", "fromDate", "page")} == {
        "customString": "camp-7", "fromDate": day, "page": "1",
    }  # fmt: skip
