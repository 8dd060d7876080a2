"""The emulator's Cellcast API over real HTTP: success and failure envelopes of every endpoint."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests
from documented import DOCUMENTED_CANCEL_400, DOCUMENTED_CANCEL_SUCCESS
from emulator_helpers import (
    ACCOUNT,
    CANCEL,
    CUSTOM_NUMBER,
    OPTOUTS,
    REPORT,
    RESPONSES,
    SEND,
    SEND_MMS,
    TEMPLATE,
    VERIFY,
    Api,
    assert_app,
    assert_error,
)

from airflow_provider_cellcast.emulator.envelopes import META_ENVELOPE_KEYS
from airflow_provider_cellcast.emulator.server import CellcastEmulator
from airflow_provider_cellcast.emulator.state import DEFAULT_TEMPLATE_ID, DEFAULT_TEMPLATE_TEXT
from airflow_provider_cellcast.validation import MESSAGE_ID_PATTERN

REPORT_KEYS = {
    "_id", "status", "message", "sender", "receiver", "scheduleAt", "send_time", "createdAt", "updatedAt",
    "customString", "smsDetail",
}  # fmt: skip
PAGE_KEYS = {
    "items", "total", "limit", "current", "pagingCounter", "totalPages", "hasPrevPage", "hasNextPage", "prevPage",
    "nextPage",
}  # fmt: skip
#: The documented cancel answer with the live wording: "Job removed successfully" (lower-case r).
LIVE_CANCEL_SUCCESS = {
    **DOCUMENTED_CANCEL_SUCCESS,
    "message": "Job removed successfully",
    "data": {"message": "Job removed successfully"},
}
SEND_DATA_KEYS = {
    "queueResponse", "invalidContacts", "unsubscribeContacts", "totalValidContact", "totalInvalidContact",
    "totalUnsubscribeContact",
}  # fmt: skip
ID_RE = re.compile(r"^[0-9a-f]{24}$")
#: The rules' refusal of a malformed ID, answered by the app's one RuleError handler.
INVALID_ID = "messageId is invalid: use 24 hexadecimal characters"


# ------------------------------------------------------------------------------------------ send SMS
def test_send_queues_accepted_numbers_and_lists_impossible_ones(api: Api) -> None:
    response = api.send(["+61400000001", "61400000002", "400000004", "+6140000", "614000000001"])
    data = assert_app(response, True)["data"]
    assert SEND_DATA_KEYS <= set(data)
    queue = data["queueResponse"]
    # Number: as submitted; Contact: the national number.
    assert [item["Number"] for item in queue] == ["+61400000001", "61400000002", "400000004"]
    assert [item["Contact"] for item in queue] == ["400000001", "400000002", "400000004"]
    for item in queue:
        assert set(item) == {"Contact", "MessageId", "Result", "Number"}
        assert ID_RE.match(item["MessageId"]) and re.match(MESSAGE_ID_PATTERN, item["MessageId"])
        assert item["Result"] == "Message added to queue."
    assert len({item["MessageId"] for item in queue}) == 3
    assert data["invalidContacts"] == [
        {"Contact": "+6140000", "Error": "Number is less than 9 digit", "ErrorType": "less_nine_digit"},
        {"Contact": "614000000001", "Error": "Number is more than 9 digit", "ErrorType": "more_nine_digit"},
    ]
    assert (data["totalValidContact"], data["totalInvalidContact"], data["totalUnsubscribeContact"]) == (3, 2, 0)


def test_immediate_send_is_sent_and_charged(api: Api, emulator: CellcastEmulator) -> None:
    emulator.register_sender("ACME")
    [message_id] = api.send_ids(["61400000001"], message="Hi there", sender="ACME", customString="run-1")
    report = assert_app(api.report(message_id), True)["data"]
    assert report["status"] == "sent"
    assert report["send_time"] is not None and report["scheduleAt"] is None
    assert (report["message"], report["sender"], report["receiver"], report["customString"]) == (
        "Hi there", "ACME", "400000001", "run-1",
    )  # fmt: skip
    assert emulator.state.account.sms_balance == emulator.state.config.sms_balance - 1


@pytest.mark.parametrize(
    ("schedule_at", "expected"),
    [
        # Without an offset: the account's local time (Sydney, AEST +10 in August), as live.
        ("2031-08-14 14:58:00", "2031-08-14T04:58:00.000Z"),
        ("2031-08-14T14:58:00.981Z", "2031-08-14T14:58:00.981Z"),
        ("2031-08-15T00:58:00.981+10:00", "2031-08-14T14:58:00.981Z"),
    ],
)
def test_schedule_at_accepts_both_documented_forms(api: Api, schedule_at: str, expected: str) -> None:
    [message_id] = api.send_ids(["61400000001"], scheduleAt=schedule_at)
    report = api.report(message_id).json()["data"]
    assert (report["status"], report["scheduleAt"], report["send_time"]) == ("scheduled", expected, None)


def test_delay_schedules_relative_to_emulator_time(api: Api, emulator: CellcastEmulator) -> None:
    [message_id] = api.send_ids(["61400000001"], delay=60_000)
    assert emulator.message(message_id)["status"] == "scheduled"
    emulator.advance_clock(61)
    assert emulator.message(message_id)["status"] == "sent"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"contacts": ["61400000001"]}, "message is required"),
        ({"message": "  ", "contacts": ["61400000001"]}, "message is required"),
        ({"message": 5, "contacts": ["61400000001"]}, "message must be a string"),
        ({"message": "x"}, "contacts is required"),
        ({"message": "x", "contacts": "61400000001"}, "contacts must be an array"),
        ({"message": "x", "contacts": []}, "contacts must contain at least one number"),
        ({"message": "x", "contacts": ["61400000001"] * 1001}, "contacts must contain at most 1000 numbers"),
        ({"message": "x", "contacts": ["61400000001"], "delay": 86_400_001}, None),
        ({"message": "x", "contacts": ["61400000001"], "delay": "soon"}, None),
        ({"message": "x", "contacts": ["61400000001"], "scheduleAt": "tomorrow"}, None),
        ({"message": "x", "contacts": ["61400000001"], "scheduleAt": "2031-02-30 10:00:00"}, None),
        (
            {"message": "x", "contacts": ["61400000001"], "scheduleAt": "2031-01-01 10:00:00", "delay": 5000},
            "Give either scheduleAt or delay, not both",
        ),
        ({"message": "x", "contacts": ["61400000001"], "countryCode": 44}, "countryCode must be 61"),
        ({"message": "x", "contacts": ["61400000001"], "sender": "Far too long sender"}, None),
        ({"templateId": "nope", "contacts": ["61400000001"]}, INVALID_ID.replace("messageId", "templateId")),
    ],
)
def test_send_refuses_bad_requests_with_400(api: Api, body: dict[str, Any], message: str | None) -> None:
    error = assert_error(api.post(SEND, body), 400, message)
    field = message.split()[0] if message else None
    assert field is None or field in error["stack"]
    assert api.emulator.messages() == []


def test_send_refuses_a_body_that_is_not_a_json_object(api: Api) -> None:
    assert_error(api.post(SEND, data="not json", headers={"Content-Type": "application/json"}), 400)
    assert_error(api.post(SEND, ["61400000001"]), 400, "Request body must be a JSON object")


def test_low_balance_answers_422_and_sends_nothing(api: Api, emulator: CellcastEmulator) -> None:
    emulator.configure(sms_balance=1)
    body = assert_app(api.send(["61400000001", "61400000002"]), False, 422)
    assert body["data"] == {}
    assert emulator.messages() == []
    assert emulator.state.account.sms_balance == 1


def test_no_valid_contact_is_a_failure_with_the_usual_data(api: Api) -> None:
    data = assert_app(api.send(["+6140000", "4000000001"]), False)["data"]
    assert data["queueResponse"] == [] and data["totalInvalidContact"] == 2


def test_unsubscribed_numbers_are_reported_not_sent(api: Api, emulator: CellcastEmulator) -> None:
    emulator.add_optouts(["+61400000009"])
    data = assert_app(api.send(["61400000009", "61400000001"]), True)["data"]
    assert data["unsubscribeContacts"] == ["400000009"]
    assert (data["totalValidContact"], data["totalUnsubscribeContact"]) == (1, 1)


def test_template_send_uses_the_template_text(api: Api, emulator: CellcastEmulator) -> None:
    response = api.post(SEND, {"templateId": DEFAULT_TEMPLATE_ID, "contacts": ["61400000001"]})
    [item] = assert_app(response, True)["data"]["queueResponse"]
    assert api.report(item["MessageId"]).json()["data"]["message"] == DEFAULT_TEMPLATE_TEXT
    custom = emulator.add_template("Custom template")
    response = api.post(SEND, {"templateId": custom, "contacts": ["61400000001"]})
    [item] = assert_app(response, True)["data"]["queueResponse"]
    assert api.report(item["MessageId"]).json()["data"]["message"] == "Custom template"
    unknown = api.post(SEND, {"templateId": "0" * 24, "contacts": ["61400000001"]})
    assert assert_app(unknown, False)["message"] == "Template not found"


# ------------------------------------------------------------------------------------------ cancel
def test_cancel_answers_the_documented_body_and_report_shows_canceled(api: Api, emulator: CellcastEmulator) -> None:
    [message_id] = api.send_ids(["61400000001"], delay=3_600_000)
    balance = emulator.state.account.sms_balance
    response = api.cancel(message_id)
    assert response.status_code == 200
    assert response.json() == LIVE_CANCEL_SUCCESS
    assert api.report(message_id).json()["data"]["status"] == "canceled"
    assert emulator.state.account.sms_balance == balance + 1
    # A cancelled message stays cancelled, whatever time it becomes.
    emulator.advance_clock(7200)
    assert api.report(message_id).json()["data"]["status"] == "canceled"


def test_cancel_twice_fails_the_second_time(api: Api) -> None:
    [message_id] = api.send_ids(["61400000001"], delay=3_600_000)
    assert_app(api.cancel(message_id), True)
    second = assert_app(api.cancel(message_id), False)
    assert second["data"] == {}
    assert second["error"] == {"error": second["message"]} and second["message"]


@pytest.mark.parametrize("status", ["sent", "delivered", "failed", "queued"])
def test_cancel_of_a_message_no_longer_scheduled_fails(api: Api, emulator: CellcastEmulator, status: str) -> None:
    message_id = emulator.seed_message(status=status)["_id"]
    body = assert_app(api.cancel(message_id), False)
    assert body["data"] == {}
    assert api.report(message_id).json()["data"]["status"] != "canceled"


def test_cancel_of_an_unknown_id_answers_the_live_not_found_shape(api: Api) -> None:
    body = assert_app(api.cancel("675161d8a000000000000000"), False)
    assert (body["message"], body["data"], body["error"]) == ("message not found", {}, {"error": "message not found"})


def test_cancel_accepts_a_seeded_documented_id(api: Api, emulator: CellcastEmulator) -> None:
    emulator.seed_message(message_id="675161d8a000000000000000", status="scheduled")
    assert api.cancel("675161d8a000000000000000").json() == LIVE_CANCEL_SUCCESS


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "messageId is required"),
        ({"type": "sms"}, "messageId is required"),
        ({"messageId": "", "type": "sms"}, "messageId is required"),
        ({"messageId": "675161d8a00000000000000", "type": "sms"}, INVALID_ID),
        ({"messageId": "6752b76d5e000000000000000", "type": "sms"}, INVALID_ID),
        ({"messageId": 12345, "type": "sms"}, INVALID_ID),
        ({"messageId": "675161d8a000000000000000"}, "type is required"),
        ({"messageId": "675161d8a000000000000000", "type": "email"}, "type must be one of sms, mms"),
    ],
)
def test_cancel_refuses_bad_bodies_with_400(api: Api, body: dict[str, Any], message: str) -> None:
    assert_error(api.post(CANCEL, body), 400, message)


def test_cancel_400_matches_the_documented_body(api: Api) -> None:
    assert api.post(CANCEL, {"type": "sms"}).json() == DOCUMENTED_CANCEL_400


# ------------------------------------------------------------------------------------------ reports
def test_report_of_one_message(api: Api, emulator: CellcastEmulator) -> None:
    seeded = emulator.seed_message(status="scheduled", schedule_at="2031-01-01 09:00:00", custom_string="abc")
    body = assert_app(api.report(seeded["_id"]), True)
    assert REPORT_KEYS <= set(body["data"])
    assert body["data"]["_id"] == seeded["_id"]
    assert body["data"]["scheduleAt"] == "2031-01-01T09:00:00.000Z"
    assert set(body["data"]["smsDetail"]) >= {"messagelength", "smscount", "deductibleCredit"}
    # Upper case IDs are the same IDs.
    assert assert_app(api.report(seeded["_id"].upper()), True)["data"]["_id"] == seeded["_id"]


def test_report_of_an_unknown_message_is_status_false(api: Api) -> None:
    body = assert_app(api.report("675161d8a000000000000000"), False)
    assert (body["message"], body["data"], body["error"]) == ("message not found", {}, {"error": "message not found"})


@pytest.mark.parametrize("bad_id", ["not-an-id", "675161d8a00000000000000", "6752b76d5e000000000000000"])
def test_report_of_a_malformed_id_is_the_live_cast_error_with_http_200(api: Api, bad_id: str) -> None:
    body = assert_app(api.report(bad_id), False)
    assert (body["message"], body["data"]) == ("internal server error", {})
    assert body["error"]["name"] == "CastError"
    assert (body["error"]["kind"], body["error"]["value"], body["error"]["path"]) == ("ObjectId", bad_id, "_id")
    assert body["error"]["message"].startswith(f'Cast to ObjectId failed for value "{bad_id}"')


def test_list_pages_newest_first(api: Api, emulator: CellcastEmulator) -> None:
    ids = [emulator.seed_message(status="sent", created_at=f"2031-01-0{day} 10:00:00")["_id"] for day in range(1, 6)]
    first = assert_app(api.get(REPORT, params={"page": 1, "limit": 2}), True)["data"]
    assert set(first) == PAGE_KEYS
    assert (first["current"], first["pagingCounter"]) == (1, 1)
    assert [item["_id"] for item in first["items"]] == [ids[4], ids[3]]
    assert (first["total"], first["totalPages"], first["hasNextPage"], first["nextPage"]) == (5, 3, True, 2)
    assert (first["hasPrevPage"], first["prevPage"]) == (False, None)
    second = api.get(REPORT, params={"page": 2, "limit": 2}).json()["data"]
    assert [item["_id"] for item in second["items"]] == [ids[2], ids[1]]
    assert (second["hasPrevPage"], second["prevPage"], second["nextPage"]) == (True, 1, 3)
    last = api.get(REPORT, params={"page": 3, "limit": 2}).json()["data"]
    assert ([item["_id"] for item in last["items"]], last["hasNextPage"], last["nextPage"]) == ([ids[0]], False, None)
    dated = api.get(REPORT, params={"fromDate": "2031-01-02", "toDate": "2031-01-03"}).json()["data"]
    assert {item["_id"] for item in dated["items"]} == {ids[1], ids[2]}


def test_list_filters(api: Api, emulator: CellcastEmulator) -> None:
    sms = emulator.seed_message(status="delivered", custom_string="batch-7")["_id"]
    mms = emulator.seed_message(status="scheduled", type="mms")["_id"]
    canceled = emulator.seed_message(status="canceled")["_id"]

    def ids(**params: Any) -> set[str]:
        return {item["_id"] for item in assert_app(api.get(REPORT, params=params), True)["data"]["items"]}

    assert ids(campType="mms") == {mms}
    assert ids(campType="sms") == {sms, canceled}
    assert ids(status="delievered") == ids(status="delivered") == {sms}
    assert ids(status="canceled") == {canceled}
    assert ids(customString="batch-7") == {sms}


@pytest.mark.parametrize(
    "params",
    [{"page": 0}, {"limit": "ten"}, {"campType": "fax"}, {"fromDate": "2031/01/01"}, {"status": "lost"}],
)
def test_list_refuses_bad_query_values(api: Api, params: dict[str, Any]) -> None:
    assert_error(api.get(REPORT, params=params), 400)


# ------------------------------------------------------------------------------------------ token, account
def test_verify_token(api: Api) -> None:
    assert assert_app(api.get(VERIFY), True)["message"] == "Token verified successfully!"


def test_account_uses_the_meta_envelope(api: Api, emulator: CellcastEmulator) -> None:
    response = api.get(ACCOUNT)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == META_ENVELOPE_KEYS
    assert body["meta"] == {"code": 200, "status": "SUCCESS"}
    assert body["error"] == {}
    assert set(body["data"]) == {"account_name", "account_email", "sms_balance", "mms_balance"}
    assert body["data"]["sms_balance"] == emulator.state.config.sms_balance


# ------------------------------------------------------------------------------------------ auth
ENDPOINTS = [
    ("POST", CANCEL),
    ("POST", SEND),
    ("POST", SEND_MMS),
    ("GET", f"{REPORT}/675161d8a000000000000000"),
    ("GET", REPORT),
    ("GET", VERIFY),
    ("GET", ACCOUNT),
    ("GET", CUSTOM_NUMBER),
    ("POST", TEMPLATE),
    ("GET", RESPONSES),
    ("GET", OPTOUTS),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@pytest.mark.parametrize(
    ("header", "message"),
    [(None, "Token is required"), ("Bearer wrong-token", "Invalid token"), ("Basic dGVzdC10b2tlbg==", "Invalid token")],
)
def test_every_endpoint_needs_the_token(
    emulator: CellcastEmulator, method: str, path: str, header: str | None, message: str
) -> None:
    headers = {"Authorization": header} if header else {}
    response = requests.request(method, f"{emulator.url}{path}", headers=headers, json={}, timeout=5)
    assert_error(response, 401, message)


def test_unknown_path_is_an_error_envelope(api: Api) -> None:
    assert_error(api.get("/api/v1/nothing-here"), 404)
