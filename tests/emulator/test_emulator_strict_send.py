"""Sends as strict as the live service: contacts, customString, sender, scheduleAt, opted-out contacts.

Each rule in its default (strict) reading and in its other mode, over real HTTP.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
from emulator_helpers import CUSTOM_NUMBER, REPORT, SEND, Api, assert_app, assert_error

from airflow_provider_cellcast.emulator.client import EmulatorClientError
from airflow_provider_cellcast.emulator.config import EmulatorConfig
from airflow_provider_cellcast.emulator.contacts import CONTACTS_RULE, check_contact
from airflow_provider_cellcast.emulator.server import CellcastEmulator

CUSTOM_STRING_RULE = "customString may contain only letters, numbers and dashes (A-Z, a-z, 0-9 and -)"
NOT_REGISTERED = "Your sender id is not registered."
#: A fixed "now" for the scheduleAt tests: January, when Sydney is on AEDT (UTC+11).
T0 = datetime(2031, 1, 10, 0, 0, tzinfo=timezone.utc)


class FixedClock:
    """A real clock that stands still until a test moves it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def fixed() -> Iterator[CellcastEmulator]:
    """An emulator of its own whose clock reads T0 until moved."""
    with CellcastEmulator(clock=FixedClock(T0)) as emulator:
        yield emulator


def _nothing_stored(emulator: CellcastEmulator) -> None:
    assert emulator.messages() == []
    assert emulator.state.account.sms_balance == emulator.state.config.sms_balance


# ------------------------------------------------------------------------------------------ contacts
@pytest.mark.parametrize(
    "entry",
    [
        "0400000000",  # the docs page's own "0400000000" form
        "0400 000 000",
        "+61 400 000 000",
        "61400-000-000",
        "(04) 0000 0000",
        "+61(4)00000000",
        "6140000000a",
        "four",
        " 61400000000",
        "",
        "+15551234567",
        "12345",
        "212345678",
        "+4400000000",
        61400000000,
        None,
        True,
    ],
)
def test_a_contact_in_an_unaccepted_shape_refuses_the_whole_request(
    api: Api, emulator: CellcastEmulator, entry: Any
) -> None:
    body = assert_error(api.send(["61400000001", entry, "+61400000002"]), 400, CONTACTS_RULE)
    assert "Contacts must either start with 61 or +61" in body["message"]
    _nothing_stored(emulator)


@pytest.mark.parametrize(
    ("entry", "error", "error_type"),
    [
        ("+6140000", "Number is less than 9 digit", "less_nine_digit"),
        ("6140000", "Number is less than 9 digit", "less_nine_digit"),
        ("40000000", "Number is less than 9 digit", "less_nine_digit"),
        ("+61", "Number is less than 9 digit", "less_nine_digit"),
        ("+614000000001", "Number is more than 9 digit", "more_nine_digit"),
        ("4000000001", "Number is more than 9 digit", "more_nine_digit"),
        ("61212345678", "Number is not a mobile number", "not_mobile"),
    ],
)
def test_an_impossible_number_in_an_accepted_shape_is_listed_in_invalid_contacts(
    api: Api, entry: str, error: str, error_type: str
) -> None:
    data = assert_app(api.send([entry, "61400000001"]), True)["data"]
    assert data["invalidContacts"] == [{"Contact": entry, "Error": error, "ErrorType": error_type}]
    assert [item["Number"] for item in data["queueResponse"]] == ["61400000001"]
    assert (data["totalValidContact"], data["totalInvalidContact"]) == (1, 1)


def test_the_three_accepted_forms_of_one_number_are_one_message(api: Api) -> None:
    data = assert_app(api.send(["+61400000001", "61400000001", "400000001"]), True)["data"]
    [item] = data["queueResponse"]
    assert (item["Contact"], item["Number"]) == ("400000001", "+61400000001")


def test_lenient_mode_accepts_the_docs_page_forms_and_lists_the_rest(api: Api, emulator: CellcastEmulator) -> None:
    emulator.configure(contacts_mode="lenient")
    forms = ["+61400000001", "61400000002", "0400000003", "400000004", "0400 000 005"]
    data = assert_app(api.send([*forms, "abc", "+15551234567"]), True)["data"]
    assert [item["Number"] for item in data["queueResponse"]] == forms
    assert [item["Contact"] for item in data["queueResponse"]] == [f"40000000{i}" for i in range(1, 6)]
    assert [(c["Contact"], c["ErrorType"]) for c in data["invalidContacts"]] == [
        ("abc", "invalid_character"),
        ("+15551234567", "country"),
    ]
    emulator.configure(contacts_mode="strict")
    assert_error(api.send(["0400000003"]), 400, CONTACTS_RULE)


def test_check_contact_units() -> None:
    assert check_contact("61412345678").number == check_contact("+61412345678").number == "+61412345678"
    assert check_contact("412345678").national == "412345678"
    assert check_contact("0412345678").refuses_request
    assert not check_contact("0412345678", "lenient").refuses_request
    assert check_contact("+6140000").error_type == "less_nine_digit" and not check_contact("+6140000").refuses_request


# ------------------------------------------------------------------------------------------ customString
@pytest.mark.parametrize("reference", ["run/7", "a b", "dag.run", "x_y", "déjà", "ref:1", "ref-A "])
def test_custom_string_outside_the_alphabet_is_refused_by_default(
    api: Api, emulator: CellcastEmulator, reference: str
) -> None:
    body = assert_error(api.send(["61400000001"], customString=reference), 400, CUSTOM_STRING_RULE)
    assert "customString" in body["stack"]
    _nothing_stored(emulator)


def test_custom_string_strip_mode_stores_and_answers_the_stripped_reference(
    api: Api, emulator: CellcastEmulator
) -> None:
    emulator.configure(custom_string_mode="strip")
    [message_id] = api.send_ids(["61400000001"], customString="dag/run_7 2031-01-15", delay=60_000)
    assert api.report(message_id).json()["data"]["customString"] == "dagrun72031-01-15"
    listed = api.get(REPORT, params={"customString": "dagrun72031-01-15"}).json()["data"]
    assert [item["_id"] for item in listed["items"]] == [message_id]
    assert [item["customString"] for item in listed["items"]] == ["dagrun72031-01-15"]
    # Nothing left after stripping: no reference at all.
    [bare] = api.send_ids(["61400000002"], customString="//__")
    assert api.report(bare).json()["data"]["customString"] is None


def test_custom_string_maximum_length(api: Api, emulator: CellcastEmulator) -> None:
    api.send_ids(["61400000001"], customString="a" * 255)
    assert_error(api.send(["61400000001"], customString="a" * 256), 400, "customString must be at most 255 characters")
    emulator.configure(custom_string_max_length=None)
    api.send_ids(["61400000001"], customString="b" * 1000)
    assert_error(api.send(["61400000001"], customString=7), 400, "customString must be a string")


# ------------------------------------------------------------------------------------------ sender
@pytest.mark.parametrize("sender", ["ACME", "61400000009", "Far too long sender"])
def test_an_unregistered_sender_refuses_the_whole_request(api: Api, emulator: CellcastEmulator, sender: str) -> None:
    assert_error(api.send(["61400000001", "61400000002"], sender=sender), 400, NOT_REGISTERED)
    _nothing_stored(emulator)


def test_registered_and_shared_senders_are_allowed(api: Api, emulator: CellcastEmulator) -> None:
    assert emulator.register_sender("ACME") == {"sender": "ACME", "name": "ACME"}
    emulator.register_sender("61400000009", name="Support line")
    for sender in ("ACME", "61400000009", "#SharedNum#"):
        [message_id] = api.send_ids(["61400000001"], sender=sender)
        assert api.report(message_id).json()["data"]["sender"] == sender
    [default] = api.send_ids(["61400000001"])
    assert api.report(default).json()["data"]["sender"] == "#SharedNum#"
    # Another account's sender is just as unknown to this one.
    assert_error(api.send(["61400000001"], sender="acme"), 400, NOT_REGISTERED)


def test_custom_number_is_a_bare_data_list_of_the_registered_senders(api: Api, emulator: CellcastEmulator) -> None:
    assert api.get(CUSTOM_NUMBER).json() == {"data": []}
    emulator.register_sender("ACME", name="Acme Ltd")
    emulator.register_sender("61400000009")
    response = api.get(CUSTOM_NUMBER)
    assert response.status_code == 200
    assert response.json() == {
        "data": [{"number": "ACME", "name": "Acme Ltd"}, {"number": "61400000009", "name": "61400000009"}]
    }
    assert emulator.senders() == [
        {"sender": "ACME", "name": "Acme Ltd"},
        {"sender": "61400000009", "name": "61400000009"},
    ]


def test_senders_from_the_configuration_survive_a_reset_registered_ones_do_not() -> None:
    with CellcastEmulator(senders=("ACME=Acme Ltd",)) as emulator:
        emulator.register_sender("OTHER")
        emulator.reset()
        assert emulator.senders() == [{"sender": "ACME", "name": "Acme Ltd"}]
    with pytest.raises(ValueError, match="sender is invalid"):
        EmulatorConfig(senders=("Far too long sender",))


def test_registering_a_malformed_sender_is_refused(emulator: CellcastEmulator) -> None:
    with pytest.raises(EmulatorClientError) as raised:
        emulator.register_sender("Far too long sender")
    assert raised.value.status_code == 400


# ------------------------------------------------------------------------------------------ opted-out contacts
def test_a_request_whose_only_contact_is_unsubscribed_is_refused(api: Api, emulator: CellcastEmulator) -> None:
    emulator.add_optouts(["61400000009"])
    body = assert_app(api.send(["+61400000009"]), False)
    assert body["message"] == "Contact is Unsubscribed and can not receive messages."
    assert body["message"].startswith("Contact is Unsubscribed and can not receive ")
    assert body["data"] == {}
    _nothing_stored(emulator)
    # With another contact, it is listed as a plain string instead.
    data = assert_app(api.send(["+61400000009", "61400000001"]), True)["data"]
    assert data["unsubscribeContacts"] == ["400000009"]
    assert (data["totalValidContact"], data["totalUnsubscribeContact"]) == (1, 1)


# ------------------------------------------------------------------------------------------ scheduleAt
@pytest.mark.parametrize(
    ("schedule_at", "naive_local", "all_local"),
    [
        # "Y-m-d H:i:s" and ISO without offset: Sydney wall time (AEDT, UTC+11, in January).
        ("2031-01-15 09:00:00", "2031-01-14T22:00:00.000Z", "2031-01-14T22:00:00.000Z"),
        ("2031-01-15T09:00:00", "2031-01-14T22:00:00.000Z", "2031-01-14T22:00:00.000Z"),
        # With Z or an offset: read correctly, unless the mode ignores offsets.
        ("2031-01-15T09:00:00Z", "2031-01-15T09:00:00.000Z", "2031-01-14T22:00:00.000Z"),
        ("2031-01-15T09:00:00.250Z", "2031-01-15T09:00:00.250Z", "2031-01-14T22:00:00.250Z"),
        ("2031-01-15T09:00:00+05:00", "2031-01-15T04:00:00.000Z", "2031-01-14T22:00:00.000Z"),
        # July: AEST, UTC+10.
        ("2031-07-15 09:00:00", "2031-07-14T23:00:00.000Z", "2031-07-14T23:00:00.000Z"),
    ],
)
@pytest.mark.parametrize("mode", ["naive-local", "all-local"])
def test_schedule_at_as_understood_in_both_modes(
    fixed: CellcastEmulator, mode: str, schedule_at: str, naive_local: str, all_local: str
) -> None:
    fixed.configure(schedule_at_mode=mode)
    api = Api(fixed)
    [message_id] = api.send_ids(["61400000001"], scheduleAt=schedule_at)
    expected = naive_local if mode == "naive-local" else all_local
    report = api.report(message_id).json()["data"]
    assert (report["status"], report["scheduleAt"]) == ("scheduled", expected)
    [listed] = api.get(REPORT, params={"status": "scheduled"}).json()["data"]["items"]
    assert listed["scheduleAt"] == expected
    api.session.close()


def test_a_naive_utc_time_goes_out_hours_early_as_live(fixed: CellcastEmulator) -> None:
    api = Api(fixed)
    # A client means 20:00 UTC and writes it without an offset: Cellcast reads 20:00 in Sydney,
    # 09:00 UTC, and the text goes out 11 hours early.
    [message_id] = api.send_ids(["61400000001"], scheduleAt="2031-01-10 20:00:00")
    fixed.state.set_clock(datetime(2031, 1, 10, 8, 59, 59, tzinfo=timezone.utc))
    assert api.report(message_id).json()["data"]["status"] == "scheduled"
    fixed.advance_clock(1)
    report = api.report(message_id).json()["data"]
    assert (report["status"], report["send_time"]) == ("sent", "2031-01-10T09:00:00.000Z")
    api.session.close()


def test_account_timezone_setting(fixed: CellcastEmulator) -> None:
    api = Api(fixed)
    fixed.configure(account_timezone="UTC")
    [utc] = api.send_ids(["61400000001"], scheduleAt="2031-01-15 09:00:00")
    fixed.configure(account_timezone="Australia/Perth")
    [perth] = api.send_ids(["61400000001"], scheduleAt="2031-01-15 09:00:00")
    assert api.report(utc).json()["data"]["scheduleAt"] == "2031-01-15T09:00:00.000Z"
    assert api.report(perth).json()["data"]["scheduleAt"] == "2031-01-15T01:00:00.000Z"
    with pytest.raises(EmulatorClientError):
        fixed.configure(account_timezone="Mars/Olympus")
    api.session.close()


def test_a_schedule_at_in_the_past_sends_at_once(fixed: CellcastEmulator) -> None:
    api = Api(fixed)
    [message_id] = api.send_ids(["61400000001"], scheduleAt="2031-01-10 10:00:00")  # 23:00 UTC the day before
    assert api.report(message_id).json()["data"]["status"] == "sent"
    api.session.close()


def test_bad_modes_are_refused_everywhere(emulator: CellcastEmulator) -> None:
    for setting in ({"schedule_at_mode": "utc"}, {"custom_string_mode": "drop"}, {"list_filter_custom_string": 1}):
        with pytest.raises(EmulatorClientError) as raised:
            emulator.configure(**setting)
        assert raised.value.status_code == 400
    with pytest.raises(ValueError, match="schedule_at_mode must be one of naive-local, all-local"):
        EmulatorConfig(schedule_at_mode="utc")


def test_refused_sends_are_journalled_and_logged_without_the_number(
    api: Api, emulator: CellcastEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="airflow_provider_cellcast.emulator")
    assert_error(api.send(["0412345678"]), 400)
    [entry] = emulator.requests_log()
    assert (entry["path"], entry["status"], entry["body"]["contacts"]) == (SEND, 400, ["*******678"])
    logged = [r.getMessage() for r in caplog.records]
    assert f"refused POST {SEND}: {CONTACTS_RULE}" in logged
    assert not any("412345678" in line for line in logged)
