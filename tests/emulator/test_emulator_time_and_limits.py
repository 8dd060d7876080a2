"""Time transitions, rate limit, latency, the request journal and the control plane."""

from __future__ import annotations

import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
import requests
from emulator_helpers import CANCEL, SEND, VERIFY, Api

from airflow_provider_cellcast.emulator.client import EmulatorClientError
from airflow_provider_cellcast.emulator.server import CellcastEmulator


# ------------------------------------------------------------------------------------------ time
def test_scheduled_becomes_sent_then_delivered(api: Api, emulator: CellcastEmulator) -> None:
    [message_id] = api.send_ids(["61400000001"], delay=600_000)
    report = api.report(message_id).json()["data"]
    assert report["status"] == "scheduled"
    emulator.advance_clock(599)
    assert api.report(message_id).json()["data"]["status"] == "scheduled"
    emulator.advance_clock(1)
    report = api.report(message_id).json()["data"]
    assert report["status"] == "sent"
    assert report["send_time"] == report["scheduleAt"]
    emulator.advance_clock(2)
    report = api.report(message_id).json()["data"]
    assert report["status"] == "delivered"
    assert api.cancel(message_id).json()["status"] is False


def test_immediate_send_is_delivered_after_the_delivery_delay(api: Api, emulator: CellcastEmulator) -> None:
    emulator.configure(delivery_delay_seconds=30)
    [message_id] = api.send_ids(["61400000001"])
    emulator.advance_clock(29)
    assert emulator.message(message_id)["status"] == "sent"
    emulator.advance_clock(1)
    assert emulator.message(message_id)["status"] == "delivered"


def test_canceled_and_frozen_messages_never_change(emulator: CellcastEmulator) -> None:
    canceled = emulator.seed_message(status="canceled")["_id"]
    frozen = emulator.seed_message(status="scheduled", auto_advance=False)["_id"]
    queued = emulator.seed_message(status="queued", auto_advance=False)["_id"]
    emulator.advance_clock(86_400)
    assert [emulator.message(i)["status"] for i in (canceled, frozen, queued)] == ["canceled", "scheduled", "queued"]


def test_clock_control(emulator: CellcastEmulator) -> None:
    before = emulator.now()
    after = emulator.advance_clock(3600)
    assert timedelta(seconds=3599) < after - before < timedelta(seconds=3700)
    assert emulator.state.clock_offset_seconds == 3600
    target = datetime(2031, 5, 1, tzinfo=timezone.utc)
    answer = requests.post(f"{emulator.url}/_emulator/clock", json={"now": "2031-05-01 00:00:00"}, timeout=5).json()
    assert abs(datetime.fromisoformat(answer["now"].replace("Z", "+00:00")) - target) < timedelta(seconds=5)
    emulator.reset()
    assert emulator.state.clock_offset_seconds == 0


def test_schedule_campaign_helper(emulator: CellcastEmulator) -> None:
    ids = emulator.schedule_campaign(contacts=["61400000001", "61400000002"], message="Sale", custom_string="c-9")
    assert len(ids) == 2
    stored = [emulator.message(i) for i in ids]
    assert {m["status"] for m in stored} == {"scheduled"}
    assert {m["customString"] for m in stored} == {"c-9"}
    at = emulator.now() + timedelta(days=2)
    [one] = emulator.schedule_campaign(contacts=["61400000003"], schedule_at=at)
    assert emulator.message(one)["scheduleAt"].startswith(at.strftime("%Y-%m-%dT%H:%M:%S"))
    with pytest.raises(EmulatorClientError):
        emulator.schedule_campaign("wrong-token", ["61400000001"], "x")


def test_seed_refuses_duplicates_and_bad_fields(emulator: CellcastEmulator) -> None:
    emulator.seed_message(message_id="675161d8a000000000000000")
    with pytest.raises(EmulatorClientError) as raised:
        emulator.seed_message(message_id="675161d8a000000000000000")
    assert raised.value.status_code == 409
    for bad in ({"status": "lost"}, {"type": "fax"}, {"receiver": "123"}, {"schedule_at": "soon"}):
        with pytest.raises(EmulatorClientError):
            emulator.seed_message(**bad)  # type: ignore[arg-type]
    with pytest.raises(EmulatorClientError) as raised:
        emulator.message("ffffffffffffffffffffffff")
    assert raised.value.status_code == 404


# ------------------------------------------------------------------------------------------ rate limit, latency
def test_rate_limit_answers_429_without_retry_after_by_default(api: Api, emulator: CellcastEmulator) -> None:
    emulator.configure(rate_limit_per_second=3)
    statuses = [api.get(VERIFY) for _ in range(10)]
    limited = [r for r in statuses if r.status_code == 429]
    assert limited, [r.status_code for r in statuses]
    assert limited[0].json() == {"code": 429, "message": "Too many requests", "stack": "APIError: Too many requests."}
    assert "Retry-After" not in limited[0].headers


def test_rate_limit_with_retry_after(api: Api, emulator: CellcastEmulator) -> None:
    emulator.configure(rate_limit_per_second=2, retry_after_on_429=True)
    responses = [api.get(VERIFY) for _ in range(10)]
    limited = [r for r in responses if r.status_code == 429]
    assert limited
    assert limited[0].headers["Retry-After"] == "1"
    emulator.configure(rate_limit_per_second=None)
    assert api.get(VERIFY).status_code == 200


def test_latency_setting_does_not_serialise_requests(emulator: CellcastEmulator) -> None:
    emulator.configure(latency_ms=300)
    headers = {"Authorization": f"Bearer {emulator.token}"}

    def call(_: int) -> int:
        return requests.get(f"{emulator.url}{VERIFY}", headers=headers, timeout=5).status_code

    emulator.clear_stats()
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(call, range(6)))
    assert statuses == [200] * 6
    assert time.perf_counter() - started >= 0.3, "the latency was applied"
    # Sent at once and each held 300 ms: a server that serialised them would handle one at a time.
    assert emulator.stats()["peak_in_flight"] >= 3


def test_config_refuses_bad_settings(emulator: CellcastEmulator) -> None:
    for bad in ({"latency_ms": -1}, {"rate_limit_per_second": 0}, {"sms_balance": -1.5}, {"contacts_mode": "loose"}):
        with pytest.raises(EmulatorClientError):
            emulator.configure(**bad)
    response = requests.post(f"{emulator.url}/_emulator/config", json={"token": "x"}, timeout=5)
    assert response.status_code == 400
    config = requests.get(f"{emulator.url}/_emulator/config", timeout=5).json()
    assert "token" not in config


# ------------------------------------------------------------------------------------------ journal and logs
def test_journal_records_requests_without_token_or_full_numbers(
    api: Api, emulator: CellcastEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="airflow_provider_cellcast.emulator")
    api.send(["+61412345678", "61498765432"], message="Call me on 0411 222 333", delay=60_000)
    requests.get(f"{emulator.url}{VERIFY}", headers={"Authorization": "Bearer wrong-secret-value"}, timeout=5)
    api.post(CANCEL, {"messageId": "675161d8a000000000000000", "type": "sms"})
    journal = emulator.requests_log()
    assert [(e["method"], e["path"], e["status"], e["auth_valid"]) for e in journal] == [
        ("POST", SEND, 200, True),
        ("GET", VERIFY, 401, False),
        ("POST", CANCEL, 200, True),
    ]
    assert journal[0]["body"]["contacts"] == ["+********678", "********432"]
    assert journal[2]["message_id"] == "675161d8a000000000000000"
    dumped = json.dumps(journal)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for text in (dumped, logged):
        for secret in (emulator.token, "wrong-secret-value", "412345678", "498765432", "0411 222 333", "411222333"):
            assert secret not in text
    assert "rejected GET" in logged


def test_access_log_never_shows_the_token(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    with CellcastEmulator(token="very-secret-token", access_log=True, log_level="info") as emulator:
        for token in ("very-secret-token", "wrong-token-given"):
            requests.get(f"{emulator.url}{VERIFY}", headers={"Authorization": f"Bearer {token}"}, timeout=5)
    access = [r.getMessage() for r in caplog.records if r.name == "uvicorn.access"]
    assert len(access) == 2
    assert all("very-secret-token" not in line and "wrong-token-given" not in line for line in access)


def test_reset_forgets_everything(api: Api, emulator: CellcastEmulator) -> None:
    api.send_ids(["61400000001"])
    emulator.inject_fault("status", status=500, path="/nowhere")
    emulator.configure(latency_ms=5, sms_balance=3)
    emulator.reset()
    assert emulator.messages() == [] and emulator.faults() == [] and emulator.requests_log() == []
    assert emulator.state.config.latency_ms == 0
    assert emulator.state.account.sms_balance == emulator.state.config.sms_balance
