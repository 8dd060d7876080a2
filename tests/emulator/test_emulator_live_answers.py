"""Answers as the live service gives them: token echo, decimal balances, the cast error, ``dead``,
the list's filters and modes, template errors."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from typing import Any

import pytest
import requests
from emulator_helpers import ACCOUNT, CANCEL, REPORT, SEND, TEMPLATE, VERIFY, Api, assert_app

from airflow_provider_cellcast.emulator.client import EmulatorClientError
from airflow_provider_cellcast.emulator.server import CellcastEmulator
from airflow_provider_cellcast.emulator.state import EmulatorConfig, EmulatorState


# ------------------------------------------------------------------------------------------ token verify
def test_token_verify_echoes_the_token_but_no_log_or_journal_shows_it(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    token = "echoed-secret-token-4711"
    with CellcastEmulator(token=token, access_log=True, log_level="debug") as emulator:
        response = requests.get(f"{emulator.url}{VERIFY}", headers={"Authorization": f"Bearer {token}"}, timeout=5)
        body = assert_app(response, True)
        assert body["message"] == "Token verified successfully!"
        assert body["data"] == {"token": token}
        journal = emulator.requests_log()
        config = requests.get(f"{emulator.url}/_emulator/config", timeout=5).text
    assert [(e["path"], e["status"], e["auth_valid"]) for e in journal] == [(VERIFY, 200, True)]
    records = [r for r in caplog.records if r.name.startswith(("airflow_provider_cellcast", "uvicorn"))]
    assert any(r.name == "uvicorn.access" for r in records), "the access log was not captured"
    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in records)
    for text in (json.dumps(journal), logged, config):
        assert token not in text


def test_a_wrong_token_is_not_echoed(emulator: CellcastEmulator) -> None:
    response = requests.get(f"{emulator.url}{VERIFY}", headers={"Authorization": "Bearer nope"}, timeout=5)
    assert response.status_code == 401 and "nope" not in response.text


# ------------------------------------------------------------------------------------------ balances
def test_balances_are_decimals_without_float_noise(api: Api, emulator: CellcastEmulator) -> None:
    emulator.configure(sms_balance=9972.2, mms_balance=0.3)
    assert api.get(ACCOUNT).json()["data"]["sms_balance"] == 9972.2
    ids = api.send_ids(["61400000001", "61400000002", "61400000003"], message="x" * 200, delay=60_000)  # 2 parts
    data = api.get(ACCOUNT).json()["data"]
    assert (data["sms_balance"], data["mms_balance"]) == (9966.2, 0.3)
    assert '"sms_balance": 9966.2' in json.dumps(data)
    assert api.cancel(ids[0]).json()["status"] is True
    assert api.get(ACCOUNT).json()["data"]["sms_balance"] == 9968.2
    # 0.1 + 0.2 in floats is 0.30000000000000004: the emulator counts in cents.
    emulator.configure(sms_balance=0.1)
    assert assert_app(api.send(["61400000001"]), False, 422)["message"] == (
        "Insufficient SMS balance: 1 credits needed, 0.1 left"
    )
    emulator.configure(sms_balance=1.2)
    api.send_ids(["61400000001"])
    assert api.get(ACCOUNT).json()["data"]["sms_balance"] == 0.2
    assert emulator.state.account.sms_balance * 10 == 2


def test_whole_balances_stay_whole_numbers(api: Api) -> None:
    text = api.get(ACCOUNT).text
    assert '"sms_balance":10000,' in text.replace(" ", "") and '"mms_balance":1000}' in text.replace(" ", "")


# ------------------------------------------------------------------------------------------ cast error
def test_cast_error_fault_targets_one_message_and_counts(api: Api, emulator: CellcastEmulator) -> None:
    target = emulator.seed_message(status="scheduled")["_id"]
    other = emulator.seed_message(status="scheduled")["_id"]
    fault = emulator.inject_fault("cast_error", message_id=target, count=2)
    assert fault["path"] == "/api/v2/report/message/*"
    for _ in range(2):
        body = assert_app(api.report(target), False)
        assert (body["message"], body["data"], body["error"]["name"]) == ("internal server error", {}, "CastError")
        assert body["error"]["value"] == target
        assert assert_app(api.report(other), True)["data"]["_id"] == other
    assert assert_app(api.report(target), True)["data"]["_id"] == target
    assert emulator.faults() == []


def test_cast_error_aims_at_reports_only_unless_told(api: Api, emulator: CellcastEmulator) -> None:
    target = emulator.seed_message(status="scheduled")["_id"]
    emulator.inject_fault("cast_error", message_id=target)
    assert api.cancel(target).json()["status"] is True  # the cancel path is not the report's
    emulator.inject_fault("cast_error", path=CANCEL, count=1)
    body = assert_app(api.cancel(target), False)
    assert body["error"]["name"] == "CastError"
    assert [e["fault"] for e in emulator.requests_log()] == [None, "cast_error"]


# ------------------------------------------------------------------------------------------ statuses
def test_a_message_can_end_dead(api: Api, emulator: CellcastEmulator) -> None:
    seeded = emulator.seed_message(status="dead")["_id"]
    [sent] = api.send_ids(["61400000001"])
    died = emulator.set_status(sent, "dead")
    assert died["status"] == "dead"
    emulator.advance_clock(86_400)  # a final status never moves on
    for message_id in (seeded, sent):
        assert api.report(message_id).json()["data"]["status"] == "dead"
        assert api.cancel(message_id).json()["status"] is False
    listed = api.get(REPORT, params={"status": "dead"}).json()["data"]["items"]
    assert {item["_id"] for item in listed} == {seeded, sent}


@pytest.mark.parametrize("status", ["aborted", "unknown", "pending", "expired", "rejected"])
def test_other_statuses_can_be_seeded_and_filtered(api: Api, emulator: CellcastEmulator, status: str) -> None:
    message_id = emulator.seed_message(status=status)["_id"]
    emulator.advance_clock(3600)
    assert api.report(message_id).json()["data"]["status"] == status
    assert [i["_id"] for i in api.get(REPORT, params={"status": status}).json()["data"]["items"]] == [message_id]


def test_set_status_can_schedule_again_and_freeze(api: Api, emulator: CellcastEmulator) -> None:
    message_id = emulator.seed_message(status="failed")["_id"]
    again = emulator.set_status(message_id, "scheduled", auto_advance=False)
    assert (again["status"], again["auto_advance"]) == ("scheduled", False)
    emulator.advance_clock(7200)
    assert emulator.message(message_id)["status"] == "scheduled"
    with pytest.raises(EmulatorClientError) as raised:
        emulator.set_status("f" * 24, "dead")
    assert raised.value.status_code == 404
    with pytest.raises(EmulatorClientError) as raised:
        emulator.set_status(message_id, "lost")
    assert raised.value.status_code == 400


# ------------------------------------------------------------------------------------------ the list
def _ids(api: Api, **params: Any) -> set[str]:
    return {item["_id"] for item in assert_app(api.get(REPORT, params=params), True)["data"]["items"]}


def test_list_items_carry_custom_string_status_and_schedule_at(api: Api, emulator: CellcastEmulator) -> None:
    emulator.seed_message(status="scheduled", schedule_at="2031-01-15 09:00:00", custom_string="ref-1")
    [item] = api.get(REPORT).json()["data"]["items"]
    assert (item["customString"], item["status"], item["scheduleAt"]) == (
        "ref-1",
        "scheduled",
        "2031-01-15T09:00:00.000Z",
    )


def test_list_may_ignore_the_custom_string_filter(api: Api, emulator: CellcastEmulator) -> None:
    mine = emulator.seed_message(custom_string="mine")["_id"]
    theirs = emulator.seed_message(custom_string="theirs")["_id"]
    assert _ids(api, customString="mine") == {mine}
    emulator.configure(list_filter_custom_string=False)
    assert _ids(api, customString="mine") == {mine, theirs}
    assert emulator.state.config.list_filter_custom_string is False


def test_date_filters_use_the_account_day_unless_told_utc(api: Api, emulator: CellcastEmulator) -> None:
    # 14:00 UTC on 15 January is 01:00 on 16 January in Sydney.
    late = emulator.seed_message(status="sent", created_at="2031-01-15T14:00:00Z")["_id"]
    early = emulator.seed_message(status="sent", created_at="2031-01-15T02:00:00Z")["_id"]
    assert _ids(api, fromDate="2031-01-16", toDate="2031-01-16") == {late}
    assert _ids(api, fromDate="2031-01-15", toDate="2031-01-15") == {early}
    emulator.configure(date_filter_zone="utc")
    assert _ids(api, fromDate="2031-01-15", toDate="2031-01-15") == {late, early}
    assert _ids(api, fromDate="2031-01-16") == set()


def test_an_empty_list_is_one_empty_page(api: Api) -> None:
    data = api.get(REPORT).json()["data"]
    assert (data["items"], data["total"], data["totalPages"], data["current"], data["pagingCounter"]) == (
        [],
        0,
        1,
        1,
        1,
    )
    assert (data["hasNextPage"], data["nextPage"], data["hasPrevPage"], data["prevPage"]) == (False, None, False, None)


# ------------------------------------------------------------------------------------------ templates
def test_template_creation_errors_are_http_203_with_status_false(api: Api) -> None:
    missing = api.session.post(api.url(TEMPLATE), data={"message": "Hello"}, timeout=5)
    assert assert_app(missing, False, 203)["message"] == "name is required"
    not_a_form = api.post(TEMPLATE, {"name": "x", "message": "y"})
    assert assert_app(not_a_form, False, 203)["message"] == "Request must be multipart/form-data"
    created = api.session.post(api.url(TEMPLATE), data={"name": "Promo", "message": "Sale today"}, timeout=5)
    data = assert_app(created, True)["data"]
    assert (data["name"], data["message"]) == ("Promo", "Sale today")
    [item] = assert_app(api.post(SEND, {"templateId": data["_id"], "contacts": ["61400000001"]}), True)["data"][
        "queueResponse"
    ]
    assert api.report(item["MessageId"]).json()["data"]["message"] == "Sale today"


# ------------------------------------------------------------------------------------------ state, without HTTP
def test_state_reads_schedule_and_balances_without_a_server() -> None:
    state = EmulatorState(EmulatorConfig(sms_balance=2.5), clock=lambda: datetime(2031, 1, 1, tzinfo=timezone.utc))
    [message] = state.send("sms", ["+61400000001"], "Hi", schedule_at=datetime(2031, 1, 2, tzinfo=timezone.utc))
    assert str(state.account.sms_balance) == "1.50"
    assert state.cancel(message.id, "sms") == (True, "Job removed successfully")
    assert state.cancel(message.id, "mms") == (False, "message not found")
    assert str(state.account.sms_balance) == "2.50"
