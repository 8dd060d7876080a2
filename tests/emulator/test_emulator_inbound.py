"""Inbound replies and opt-outs: injecting replies, STOP unsubscribing, ``getResponses`` and
``getOptout`` pages, their modes, and masked numbers in logs."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests
from emulator_helpers import OPTOUTS, RESPONSES, Api, assert_app, assert_error

from airflow_provider_cellcast.emulator.client import EmulatorClientError
from airflow_provider_cellcast.emulator.envelopes import META_ENVELOPE_KEYS
from airflow_provider_cellcast.emulator.inbound_routes import REPLIES_PAGE_SIZE
from airflow_provider_cellcast.emulator.pages import PAGE_KEYS
from airflow_provider_cellcast.emulator.server import CellcastEmulator
from airflow_provider_cellcast.emulator.state import EmulatorConfig, EmulatorState

#: 12:00 UTC on 15 January is 23:00 the same day in Sydney (AEDT, UTC+11).
T0 = datetime(2031, 1, 15, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def fixed() -> Iterator[CellcastEmulator]:
    """An emulator whose clock reads T0 until moved."""
    with CellcastEmulator(clock=lambda: T0) as emulator:
        yield emulator


def _meta(response: requests.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == META_ENVELOPE_KEYS
    assert (body["meta"], body["error"]) == ({"code": 200, "status": "SUCCESS"}, {})
    return body


def _responses(api: Api, **params: Any) -> dict[str, Any]:
    return _meta(api.get(RESPONSES, params=params))


# ------------------------------------------------------------------------------------------ replies
def test_an_injected_reply_is_listed_with_only_the_documented_fields(fixed: CellcastEmulator) -> None:
    api = Api(fixed)
    [message_id] = api.send_ids(["61400000001"])
    stored = fixed.inject_reply("+61400000001", "Yes please")
    assert (stored["from"], stored["message_id"], stored["opted_out"]) == ("+61400000001", message_id, False)
    body = _responses(api)
    assert body["message"] == "You have 1 response(s)"
    assert set(body["data"]) == {"items", "totalPages", "nextPage"}
    assert body["data"]["items"] == [
        # The account's local time without an offset; an empty message_id, as documented.
        {"from": "61400000001", "body": "Yes please", "received_at": "2031-01-15 23:00:00", "message_id": ""}
    ]
    assert (body["data"]["totalPages"], body["data"]["nextPage"]) == (1, None)
    api.session.close()


def test_reply_modes_fill_in_the_message_id_and_answer_utc(fixed: CellcastEmulator) -> None:
    api = Api(fixed)
    [first] = api.send_ids(["61400000001"])
    fixed.advance_clock(60)
    [second] = api.send_ids(["61400000001"])
    fixed.inject_reply("61400000001", "to the latest")
    fixed.inject_reply("61400000001", "to the first", message_id=first)
    fixed.inject_reply("61400000002", "from a stranger")
    fixed.configure(reply_message_id="known", received_at_format="utc")
    items = _responses(api)["data"]["items"]
    assert [(i["body"], i["message_id"]) for i in items] == [
        ("from a stranger", ""),
        ("to the first", first),
        ("to the latest", second),
    ]
    assert {i["received_at"] for i in items} == {"2031-01-15T12:01:00.000Z"}
    api.session.close()


def test_replies_are_newest_first_or_oldest_first(api: Api, emulator: CellcastEmulator) -> None:
    for minute in (5, 1, 3):
        emulator.inject_reply("61400000001", f"minute {minute}", received_at=T0 + timedelta(minutes=minute))
    assert [i["body"] for i in _responses(api)["data"]["items"]] == ["minute 5", "minute 3", "minute 1"]
    emulator.configure(replies_order="oldest-first")
    assert [i["body"] for i in _responses(api)["data"]["items"]] == ["minute 1", "minute 3", "minute 5"]
    assert [r["body"] for r in emulator.replies()] == ["minute 1", "minute 3", "minute 5"]


def test_replies_page_by_a_fixed_size_with_no_since_filter(api: Api, emulator: CellcastEmulator) -> None:
    total = 2 * REPLIES_PAGE_SIZE + 5
    for n in range(total):
        emulator.inject_reply("61400000001", f"reply {n}", received_at=T0 + timedelta(seconds=n))
    pages = [_responses(api, page=page) for page in (1, 2, 3, 4)]
    assert {p["message"] for p in pages} == {f"You have {total} response(s)"}
    assert [len(p["data"]["items"]) for p in pages] == [REPLIES_PAGE_SIZE, REPLIES_PAGE_SIZE, 5, 0]
    assert [p["data"]["nextPage"] for p in pages] == [2, 3, None, None]
    assert {p["data"]["totalPages"] for p in pages} == {3}
    assert pages[0]["data"]["items"][0]["body"] == f"reply {total - 1}"
    # No "since" filter exists live: the parameter changes nothing, and size is not read either.
    assert _responses(api, since="2031-01-15 12:00:30", size=100) == pages[0]
    assert_error(api.get(RESPONSES, params={"page": 0}), 400, "page must be a whole number from 1 to 1000000")


def test_an_account_without_replies_has_one_empty_page(api: Api) -> None:
    body = _responses(api)
    assert (body["message"], body["data"]) == (
        "You have 0 response(s)",
        {"items": [], "totalPages": 1, "nextPage": None},
    )


@pytest.mark.parametrize(
    "body", ["STOP", " stop ", "Stop", "STOP ALL", "stop  all", "StopAll", "UNSUBSCRIBE", "opt out"]
)
def test_a_stop_reply_unsubscribes_the_number(api: Api, emulator: CellcastEmulator, body: str) -> None:
    assert emulator.inject_reply("61400000001", body)["opted_out"] is True
    [optout] = emulator.optouts()
    assert optout["number"] == "61400000001"
    refused = assert_app(api.send(["61400000001"]), False)
    assert refused["message"].startswith("Contact is Unsubscribed")
    data = assert_app(api.send(["61400000001", "61400000002"]), True)["data"]
    assert data["unsubscribeContacts"] == ["400000001"]


@pytest.mark.parametrize("body", ["stop please", "STOP!", "don't stop", "", "S T O P"])
def test_other_replies_do_not_unsubscribe(emulator: CellcastEmulator, body: str) -> None:
    assert emulator.inject_reply("61400000001", body)["opted_out"] is False
    assert emulator.optouts() == []


def test_bad_replies_are_refused(emulator: CellcastEmulator) -> None:
    for bad in ({"from_number": "12345", "body": "hi"}, {"from_number": "61400000001", "body": 5}):
        with pytest.raises(EmulatorClientError) as raised:
            emulator.inject_reply(**bad)  # type: ignore[arg-type]
        assert raised.value.status_code == 400
    with pytest.raises(EmulatorClientError):
        emulator.inject_reply("61400000001", "hi", message_id="nope")
    response = requests.post(f"{emulator.url}/_emulator/replies", json={"from": "61400000001"}, timeout=5)
    assert response.status_code == 400


def test_reply_numbers_are_masked_in_logs_and_never_journalled(
    api: Api, emulator: CellcastEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="airflow_provider_cellcast.emulator")
    emulator.inject_reply("+61498765432", "STOP")
    _responses(api)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "reply injected from +********432 (STOP)" in logged
    journal = json.dumps(emulator.requests_log())
    for text in (logged, journal):
        assert "498765432" not in text
    assert [e["path"] for e in emulator.requests_log()] == [RESPONSES]


def test_replies_on_the_state_without_a_server() -> None:
    state = EmulatorState(EmulatorConfig(replies_order="oldest-first"), clock=lambda: T0)
    [message] = state.send("sms", ["+61400000001"], "Hi")
    reply = state.inject_reply("0400000001", "Stop")
    assert (reply.sender, reply.message_id, reply.received_at) == ("+61400000001", message.id, T0)
    assert state.is_opted_out("+61400000001")
    state.reset()
    assert state.replies() == [] and not state.is_opted_out("+61400000001")


# ------------------------------------------------------------------------------------------ opt-outs
def test_opt_out_list_pages_with_mongoose_fields(api: Api, emulator: CellcastEmulator) -> None:
    emulator.add_optouts([{"number": "61400000001", "first_name": "Ada", "last_name": "Lovelace"}])
    emulator.add_optouts([f"614000001{n:02d}" for n in range(14)])
    body = _meta(api.get(OPTOUTS, params={"page": 2, "size": 5}))
    data = body["data"]
    assert set(data) == PAGE_KEYS
    assert (data["total"], data["limit"], data["current"], data["pagingCounter"], data["totalPages"]) == (
        15,
        5,
        2,
        6,
        3,
    )
    assert (data["hasPrevPage"], data["prevPage"], data["hasNextPage"], data["nextPage"]) == (True, 1, True, 3)
    assert len(data["items"]) == 5
    assert set(data["items"][0]) == {"_id", "number", "first_name", "last_name", "createdAt"}
    everything = _meta(api.get(OPTOUTS, params={"size": 100}))["data"]["items"]
    assert [i["number"] for i in everything][-1] == "61400000001"
    assert (everything[-1]["first_name"], everything[-1]["last_name"]) == ("Ada", "Lovelace")
    default = _meta(api.get(OPTOUTS))["data"]
    assert (default["limit"], len(default["items"]), default["nextPage"]) == (10, 10, 2)
    assert_error(api.get(OPTOUTS, params={"size": 1001}), 400, "size must be a whole number from 1 to 1000")


def test_an_opt_out_is_listed_once(api: Api, emulator: CellcastEmulator) -> None:
    emulator.add_optouts(["61400000001", "+61400000001"])
    emulator.inject_reply("61400000001", "STOP")
    assert _meta(api.get(OPTOUTS))["data"]["total"] == 1
