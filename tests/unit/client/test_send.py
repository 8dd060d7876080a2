"""Sends (client/send.py): every value checked first, never sent twice, large sends split.

A send is not idempotent: it is repeated only when it certainly did not reach Cellcast (HTTP
429, a connection never made); when it may have been queued the error is one Airflow never
retries, or, with a reference unique to the send, one whose retry adopts what was queued.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_cellcast.client import CellcastClient
from airflow_provider_cellcast.exceptions import (
    CellcastBadRequestError,
    CellcastConnectionError,
    CellcastInputError,
    CellcastInvalidResponseError,
    CellcastPartialSendError,
    CellcastRateLimitError,
    CellcastScheduleMismatchError,
    CellcastScheduleUnverifiedError,
    CellcastSendConnectionLostError,
    CellcastSendOutcomeUnknownError,
    CellcastSendRecoverableError,
    CellcastUnsuccessfulError,
)
from airflow_provider_cellcast.settings import CellcastSettings
from unit.client.conftest import NAME, TOKEN, Rig
from unit.scripted import (
    CANCEL_PATH,
    REPORT_PATH,
    SEND_PATH,
    ScriptedTransport,
    Sent,
    error,
    ok,
    page,
    queued,
    refused,
    report,
)

MID = "675161d8a000000000000000"
NUMBER = "+61400000001"
#: NUMBER as it is sent: every Australian mobile goes out as 61XXXXXXXXX.
SENT_NUMBER = "61400000001"


class ReadBack(ScriptedTransport):
    """Answers sends (and anything else) from the script; each report with the ``scheduleAt`` of
    the latest send (or ``asked``), moved by ``off`` (Cellcast misreading it), as a scheduled message."""

    def __init__(self, *answers: Any, off: timedelta = timedelta(0), asked: str | None = None) -> None:
        super().__init__(*answers)
        self.off, self.asked = off, asked

    def _next_answer(self, sent: Sent) -> Any:
        if sent.method == "GET" and sent.path.startswith(f"{REPORT_PATH}/"):
            asked = self.asked or next(r.json["scheduleAt"] for r in reversed(self.requests) if r.path == SEND_PATH)
            when = datetime.fromisoformat(asked.replace("Z", "+00:00")) + self.off
            return report(sent.path.rsplit("/", 1)[-1], "scheduled", scheduleAt=when.isoformat(timespec="milliseconds"))
        return super()._next_answer(sent)


@pytest.fixture
def read_back() -> Callable[..., Rig]:
    """``read_back(*answers, off=timedelta(0), asked=None, **settings)``: a client on a :class:`ReadBack`."""

    def make(*answers: Any, off: timedelta = timedelta(0), asked: str | None = None, **settings: Any) -> Rig:
        transport = ReadBack(*answers, off=off, asked=asked)
        waits: list[float] = []
        settings = {"requests_per_second": 0, **settings}
        client = CellcastClient(
            TOKEN, settings=CellcastSettings(**settings), transport=transport, sleep=waits.append, name=NAME
        )
        return Rig(client, transport, waits)

    return make


def today() -> set[str]:
    """Today's UTC day (and yesterday's, should the send have been just before midnight)."""
    now = datetime.now(timezone.utc)
    return {(now - timedelta(minutes=1)).date().isoformat(), now.date().isoformat()}


def refused_connection() -> CellcastConnectionError:
    return CellcastConnectionError("Cellcast could not be reached for SMS send", request_sent=False)


def lost_connection() -> CellcastConnectionError:
    return CellcastConnectionError("Cellcast sent no complete answer (ReadTimeout) for SMS send", request_sent=True)


def sends(emulator: Any) -> list[dict[str, Any]]:
    """The send requests the emulator received (its journal)."""
    return [entry for entry in emulator.requests_log() if entry["path"] == SEND_PATH and entry["method"] == "POST"]


# -- never twice ------------------------------------------------------------------------------------


def test_a_send_is_not_repeated_after_a_lost_answer(scripted) -> None:
    rig = scripted(lost_connection(), ok(queued(NUMBER)))
    with pytest.raises(CellcastSendConnectionLostError) as caught:
        rig.client.send_sms("hello", [NUMBER])
    error_ = caught.value
    assert isinstance(error_, CellcastConnectionError) and isinstance(error_, AirflowFailException)
    assert error_.request_sent and len(rig.transport.requests) == 1
    assert "not sent twice" in str(error_) and isinstance(error_.__cause__, CellcastConnectionError)


def test_a_send_is_repeated_when_never_connected_or_rate_limited(scripted) -> None:
    rig = scripted(refused_connection(), (429, b"", {"Retry-After": "1"}), ok(queued(NUMBER, start=int(MID, 16))))
    assert rig.client.send_sms("hello", [NUMBER])["message_ids"] == [MID]
    assert len(rig.transport.requests) == 3
    assert all(sent.json == rig.transport.requests[0].json for sent in rig.transport.requests)  # the same send


def test_a_connection_never_made_stays_retryable(scripted) -> None:
    rig = scripted(refused_connection(), max_attempts=1)
    with pytest.raises(CellcastConnectionError) as raised:
        rig.client.send_sms("hello", [NUMBER])
    assert type(raised.value) is CellcastConnectionError and raised.value.request_sent is False
    assert not isinstance(raised.value, AirflowFailException)


@pytest.mark.parametrize(
    ("answer", "status_code"),
    [((502, b""), 502), ((500, error(500, "boom")), 500), ((504, b"<html>"), 504), ((200, b"{not json"), 200),
     ((302, b"", {"Location": "https://elsewhere.test/"}), 302)],
    ids=["502", "500", "504", "unreadable", "redirect"],
)  # fmt: skip
def test_an_answer_that_says_nothing_is_an_unknown_outcome_never_retried(
    scripted, answer: Any, status_code: int
) -> None:
    rig = scripted(answer, ok(queued(NUMBER)), max_attempts=5)
    with pytest.raises(CellcastSendOutcomeUnknownError) as caught:
        rig.client.send_sms("hi", [NUMBER])
    assert caught.value.status_code == status_code and isinstance(caught.value, AirflowFailException)
    assert "may have been queued" in str(caught.value) and len(rig.transport.requests) == 1


@pytest.mark.parametrize(
    ("answer", "error_class"),
    [
        ((400, error(400, "bad sender")), CellcastBadRequestError),
        (refused("Insufficient balance"), CellcastUnsuccessfulError),
        ((429, b""), CellcastRateLimitError),
    ],
)
def test_a_stated_refusal_queued_nothing_and_keeps_its_type(
    scripted, answer: Any, error_class: type[Exception]
) -> None:
    rig = scripted(answer, max_attempts=1)
    with pytest.raises(error_class) as caught:
        rig.client.send_sms("hi", [NUMBER])
    assert type(caught.value) is error_class


def test_an_answer_without_queue_response_is_an_unknown_outcome(scripted) -> None:
    rig = scripted(ok({"something": "else"}))
    with pytest.raises(CellcastSendOutcomeUnknownError, match="queueResponse"):
        rig.client.send_sms("hi", [NUMBER])
    assert len(rig.transport.requests) == 1


# -- large sends ------------------------------------------------------------------------------------


def test_a_send_is_split_by_thousand_contacts(scripted, caplog: pytest.LogCaptureFixture) -> None:
    contacts = [f"+6140000{i:04d}" for i in range(1500)]
    rig = scripted(
        ok(queued(*contacts[:1000], start=0, invalidContacts=["0412345678"])),
        ok(queued(*contacts[1000:], start=1000, invalidContacts=["0412345678"])),
    )
    with caplog.at_level(logging.INFO):
        sent = rig.client.send_sms("hi", contacts)
    assert [len(request.json["contacts"]) for request in rig.transport.requests] == [1000, 500]
    assert rig.transport.requests[1].json["contacts"][0] == "61400001000"
    assert len(sent["message_ids"]) == 1500 and sent["message_ids"][0] == f"{0:024x}"
    # Cellcast's invalidContacts as plain strings: masked, no reason, Cellcast's refusal.
    from_cellcast = {"contact": "*******678", "error": None, "error_type": None, "rejected_by": "cellcast"}
    assert sent["invalid_contacts"] == [from_cellcast, from_cellcast]
    assert all("+6140000" not in item["contact"] for item in sent["queued"])
    # More than 1,000 contacts: a progress line per request (every 10 % of the contacts).
    progress = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Cellcast send: ")]
    assert len(progress) == 2 and progress[0].startswith("Cellcast send: 1,000/1,500 contact(s) done (66 %), 0 failed")
    assert progress[1].startswith("Cellcast send: 1,500/1,500 contact(s) done (100 %), 0 failed, 0 left")


def test_a_send_of_at_most_thousand_contacts_logs_no_progress(scripted, caplog: pytest.LogCaptureFixture) -> None:
    contacts = [f"+6140000{i:04d}" for i in range(1000)]
    rig = scripted(ok(queued(*contacts)))
    with caplog.at_level(logging.INFO):
        rig.client.send_sms("hi", contacts)
    assert not [r for r in caplog.records if r.getMessage().startswith("Cellcast send: ")]


def test_a_failed_second_request_keeps_what_the_first_queued(scripted) -> None:
    numbers = [f"+614001{i:05d}" for i in range(1001)]  # distinct: duplicates would be sent once
    rig = scripted(ok(queued(NUMBER, start=int(MID, 16))), (400, error(400, "bad")))
    with pytest.raises(CellcastPartialSendError) as caught:
        rig.client.send_sms("hi", numbers)
    assert caught.value.partial_result["message_ids"] == [MID]
    assert isinstance(caught.value, AirflowFailException) and caught.value.status_code == 400
    assert isinstance(caught.value.__cause__, CellcastBadRequestError)
    assert "may have been queued too" not in str(caught.value)  # a stated refusal queued nothing more


def test_a_partial_send_carries_what_was_queued_then_fails_fast(scripted) -> None:
    numbers = [f"+614001{i:05d}" for i in range(1001)]
    first = queued(*numbers[:2])
    rig = scripted(ok(first), lost_connection(), max_attempts=5)
    with pytest.raises(CellcastPartialSendError) as raised:
        rig.client.send_sms("hi", numbers)
    ids = [entry["MessageId"] for entry in first["queueResponse"]]
    assert raised.value.partial_result == {
        "message_ids": ids,
        "queued": [
            {"message_id": ids[0], "contact": "+********000"},
            {"message_id": ids[1], "contact": "+********001"},
        ],
        "invalid_contacts": [],
        "unsubscribed_contacts": [],
        "reference": None,
        "adopted": False,
        "sent_on": raised.value.partial_result["sent_on"],
    }
    assert raised.value.partial_result["sent_on"] in today()
    text = str(raised.value)
    assert "2 message(s) were queued" in text and "may have been queued too" in text and "send_result" in text
    assert len(rig.transport.requests) == 2  # the lost request was not repeated


# -- every value checked once, before any request -------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"message": "  "}, "message"),
        ({"message": None}, "message"),
        ({"contacts": []}, "contacts"),
        ({"contacts": " , "}, "contacts"),
        ({"contacts": {"a": NUMBER}}, "contacts"),
        ({"schedule_at": "2030-01-01T09:00:00"}, "schedule_at"),  # naive: the zone would be a guess
        ({"schedule_at": "tomorrow"}, "schedule_at"),
        ({"schedule_at": "None"}, "schedule_at"),  # a missing param rendered by Jinja: never "send now"
        ({"schedule_at": datetime.now(timezone.utc) - timedelta(hours=2)}, "schedule_at"),
        ({"schedule_at": timedelta(hours=-2)}, "schedule_at"),
        ({"schedule_at": timedelta(hours=1), "delay_ms": 1000}, "schedule_at"),
        ({"delay_ms": 86_400_001}, "delay_ms"),
        ({"delay_ms": -1}, "delay_ms"),
        ({"delay_ms": "soon"}, "delay_ms"),
        ({"country_code": "+61"}, "country_code"),
        ({"country_code": True}, "country_code"),
        ({"recover_by_reference": True}, "custom_string"),
    ],
)
def test_bad_input_fails_without_retries_before_any_request(scripted, kwargs: dict[str, Any], field: str) -> None:
    kwargs = {"message": "Hello", "contacts": [NUMBER], **kwargs}
    message, contacts = kwargs.pop("message"), kwargs.pop("contacts")
    rig = scripted()
    with pytest.raises(CellcastInputError) as raised:
        rig.client.send_sms(message, contacts, **kwargs)
    assert raised.value.field == field and field in str(raised.value)
    assert isinstance(raised.value, AirflowFailException)
    assert rig.transport.requests == []


def test_a_past_schedule_is_refused_naming_it(scripted) -> None:
    rig = scripted()
    with pytest.raises(CellcastInputError, match="in the past") as raised:
        rig.client.send_sms("hi", [NUMBER], schedule_at="2020-01-01T00:00:00Z")
    assert "2020-01-01T00:00:00.000Z" in str(raised.value)
    assert rig.transport.requests == []


def test_schedule_at_forms_are_sent_as_utc(read_back) -> None:
    later = datetime.now(timezone(timedelta(hours=10))) + timedelta(days=1)
    rig = read_back(*[ok(queued(NUMBER, start=n)) for n in range(1, 5)])
    rig.client.send_sms("hi", [NUMBER], schedule_at=later)
    rig.client.send_sms("hi", [NUMBER], schedule_at=later.isoformat())
    before = datetime.now(timezone.utc)
    rig.client.send_sms("hi", [NUMBER], schedule_at=timedelta(hours=1))
    rig.client.send_sms("hi", [NUMBER], schedule_at=datetime.now(timezone.utc) - timedelta(seconds=20))
    # Each scheduled send is read back: one report of the message it queued.
    assert rig.transport.paths == [path for n in range(1, 5) for path in (SEND_PATH, f"{REPORT_PATH}/{n:024x}")]
    first, second, relative, just_past = (sent.json["scheduleAt"] for sent in rig.transport.to(SEND_PATH))
    assert first == second and first.endswith("Z")
    assert datetime.fromisoformat(first.replace("Z", "+00:00")) == later.replace(
        microsecond=later.microsecond // 1000 * 1000
    )
    sent_at = datetime.fromisoformat(relative.replace("Z", "+00:00"))
    assert timedelta(minutes=59) < sent_at - before < timedelta(minutes=61)
    assert just_past.endswith("Z")  # within a minute of now: accepted (a slow start is not "the past")
    assert all("delay" not in sent.json for sent in rig.transport.to(SEND_PATH))


def test_the_body_from_rendered_and_comma_separated_contacts(scripted) -> None:
    numbers = ["+61400111222", "+61400333444", "0400555666"]
    rig = scripted(*[ok(queued("+61400111222"))] * 3)
    rig.client.send_sms("Hello", str(numbers))  # what Jinja renders from a list without native rendering
    rig.client.send_sms("Hello", " +61400111222, 0400555666 ;", country_code="61", delay_ms="1000")
    rig.client.send_sms("Hello", numbers, sender="", custom_string="")
    bodies = rig.transport.bodies
    normalised = ["61400111222", "61400333444", "61400555666"]
    assert bodies[0] == {"message": "Hello", "contacts": normalised}
    assert bodies[1] == {
        "message": "Hello",
        "contacts": ["61400111222", "61400555666"],
        "countryCode": 61,
        "delay": 1000,
    }
    assert bodies[2] == {"message": "Hello", "contacts": normalised}  # empty values are left out
    assert {sent.path for sent in rig.transport.requests} == {SEND_PATH}


def test_a_send_logs_counts_never_numbers(scripted, caplog: pytest.LogCaptureFixture) -> None:
    rig = scripted(ok({**queued("61400111222"), "invalidContacts": ["61400555666"]}))
    with caplog.at_level(logging.INFO):
        rig.client.send_sms("Hi", ["+61400111222", "0400555666", "0400 55"])
    assert "1 contact(s) cannot be sent and are left out: ***0 55 (Number is less than 9 digit)" in caplog.text
    assert "Sending an SMS to 2 contact(s) now through connection 'cc'" in caplog.text
    assert "queued 1 message(s); 2 invalid and 0 unsubscribed" in caplog.text
    for number in ("61400111222", "400555666", "0400 55"):
        assert number not in caplog.text


# -- a reference unique to the send: a lost answer is recoverable ----------------------------------------


def test_a_lost_answer_with_a_unique_reference_is_recoverable(scripted) -> None:
    rig = scripted((502, b""))
    with pytest.raises(CellcastSendRecoverableError) as raised:
        rig.client.send_sms("hi", [NUMBER], custom_string="af-d-t-run-1", recover_by_reference=True)
    assert raised.value.reference == "af-d-t-run-1" and raised.value.status_code == 502
    assert not isinstance(raised.value, AirflowFailException)
    assert rig.transport.requests[0].json["customString"] == "af-d-t-run-1"


def test_a_reference_is_not_recovery_for_a_send_of_several_requests(scripted) -> None:
    numbers = [f"+614001{i:05d}" for i in range(1001)]
    rig = scripted((502, b""))
    with pytest.raises(CellcastSendOutcomeUnknownError) as raised:
        rig.client.send_sms("hi", numbers, custom_string="af-d-t-run-1", recover_by_reference=True)
    assert not isinstance(raised.value, CellcastSendRecoverableError)


def test_duplicates_do_not_count_towards_several_requests(scripted) -> None:
    # 1,001 forms of one number are one contact: one request, so a lost answer stays recoverable.
    rig = scripted((502, b""))
    with pytest.raises(CellcastSendRecoverableError):
        rig.client.send_sms("hi", [NUMBER] * 1000 + ["0400 000 001"], custom_string="af-d-t-run-1",
                            recover_by_reference=True)  # fmt: skip
    [sent] = rig.transport.requests
    assert sent.json["contacts"] == [SENT_NUMBER]


def test_adopting_reads_every_page_and_sends_nothing(scripted) -> None:
    items = [{"_id": f"{i:024x}", "customString": "ref-1", "receiver": f"+6140000000{i}"} for i in range(1, 4)]
    rig = scripted(page(items[:2], more=True), page([items[2], items[0], {"_id": "x" * 24, "customString": "other"}]))
    adopted = rig.client.send_sms("hi", [NUMBER], custom_string="ref-1", recover_by_reference=True, adopt_existing=True)
    assert adopted["adopted"] is True and adopted["reference"] == "ref-1"
    assert adopted["message_ids"] == [item["_id"] for item in items]  # deduplicated, other references dropped
    assert [entry["contact"][-3:] for entry in adopted["queued"]] == ["001", "002", "003"]
    assert NUMBER not in str(adopted)
    assert {sent.path for sent in rig.transport.requests} == {REPORT_PATH}
    assert [sent.query["page"] for sent in rig.transport.requests] == ["1", "2"]
    assert rig.transport.requests[0].query["customString"] == "ref-1"


# -- against the emulator ------------------------------------------------------------------------------


def test_a_send_against_the_emulator_returns_ids_and_masked_contacts(cellcast_emulator, emulated) -> None:
    cellcast_emulator.register_sender("ACME")
    cellcast_emulator.add_optouts(["+61400000003"])
    result = emulated().send_sms("Hi", [NUMBER, "+61400000002", "+61400000003"], sender="ACME", custom_string="run-1")
    assert len(result["message_ids"]) == 2
    [unsubscribed] = result["unsubscribed_contacts"]  # as Cellcast wrote it back, masked
    assert unsubscribed.endswith("003") and sum(char.isdigit() for char in unsubscribed) == 3
    contacts = [item["contact"] for item in result["queued"]]
    assert [contact[-3:] for contact in contacts] == ["001", "002"]
    assert all(sum(char.isdigit() for char in contact) == 3 for contact in contacts)
    assert {message["_id"] for message in cellcast_emulator.messages()} == set(result["message_ids"])
    [entry] = sends(cellcast_emulator)
    assert entry["body"]["sender"] == "ACME" and entry["body"]["customString"] == "run-1"
    assert result["sent_on"] in today()


@pytest.mark.parametrize(
    ("fault", "error_class", "status_code"),
    [
        ({"kind": "status", "status": 502, "when": "after"}, CellcastSendOutcomeUnknownError, 502),
        ({"kind": "status", "status": 500, "when": "after"}, CellcastSendOutcomeUnknownError, 500),
        ({"kind": "html", "status": 504, "when": "after"}, CellcastSendOutcomeUnknownError, 504),
        ({"kind": "malformed", "when": "after"}, CellcastSendOutcomeUnknownError, 200),
        ({"kind": "drop"}, CellcastSendConnectionLostError, None),
    ],
    ids=["502", "500", "504-html", "malformed", "drop"],
)
def test_an_accepted_send_with_a_lost_answer_fails_without_retries_after_one_request(
    cellcast_emulator, emulated, fault: dict[str, Any], error_class: type[Exception], status_code: int | None
) -> None:
    cellcast_emulator.inject_fault(path=SEND_PATH, method="POST", **fault)
    with pytest.raises(error_class) as raised:
        emulated(max_attempts=5).send_sms("Doors open at 9", [NUMBER])
    error_ = raised.value
    assert isinstance(error_, AirflowFailException)  # Airflow never retries it, whatever retries says
    assert error_.status_code == status_code
    assert "may have been queued" in str(error_) and "not sent twice" in str(error_)
    assert len(sends(cellcast_emulator)) == 1  # the client did not repeat it either
    assert len(cellcast_emulator.messages()) == 1  # and the emulator did queue it: the outcome was unknown


def test_a_dropped_answer_is_a_connection_error_caused_by_the_original(cellcast_emulator, emulated) -> None:
    cellcast_emulator.inject_fault("drop", path=SEND_PATH)
    with pytest.raises(CellcastSendConnectionLostError) as raised:
        emulated().send_sms("hello", [NUMBER])
    error_ = raised.value
    assert isinstance(error_, CellcastConnectionError) and error_.request_sent is True
    assert isinstance(error_.__cause__, CellcastConnectionError)
    assert not isinstance(error_.__cause__, AirflowFailException)


@pytest.mark.parametrize(
    ("fault", "error_class"),
    [
        ({"kind": "status", "status": 429, "retry_after": 1}, CellcastRateLimitError),
        ({"kind": "app_status_false", "message": "Insufficient balance"}, CellcastUnsuccessfulError),
    ],
    ids=["429", "status-false"],
)
def test_refusals_where_nothing_was_queued_keep_their_type_and_stay_retryable(
    cellcast_emulator, emulated, fault: dict[str, Any], error_class: type[Exception]
) -> None:
    cellcast_emulator.inject_fault(path=SEND_PATH, count=None, **fault)
    with pytest.raises(error_class) as raised:
        emulated(max_attempts=1).send_sms("hello", [NUMBER])
    assert type(raised.value) is error_class
    assert not isinstance(raised.value, AirflowFailException)
    assert cellcast_emulator.messages() == []


def test_recovery_by_reference_against_the_emulator(cellcast_emulator, emulated) -> None:
    cellcast_emulator.inject_fault("status", status=502, path=SEND_PATH, when="after")
    client = emulated()
    with pytest.raises(CellcastSendRecoverableError) as raised:
        client.send_sms("hi", [NUMBER], custom_string="af-d-t-run-1", recover_by_reference=True)
    assert raised.value.reference == "af-d-t-run-1"
    adopted = client.send_sms(
        "hi", [NUMBER], custom_string="af-d-t-run-1", recover_by_reference=True, adopt_existing=True
    )
    assert adopted["adopted"] is True and adopted["reference"] == "af-d-t-run-1"
    assert adopted["message_ids"] == [message["_id"] for message in cellcast_emulator.messages()]
    assert len(sends(cellcast_emulator)) == 1  # adopted, not sent again


def test_adopt_existing_sends_when_nothing_carries_the_reference(cellcast_emulator, emulated) -> None:
    result = emulated().send_sms(
        "hi", [NUMBER], custom_string="af-d-t-run-2", recover_by_reference=True, adopt_existing=True
    )
    assert result["adopted"] is False and len(result["message_ids"]) == 1
    assert len(sends(cellcast_emulator)) == 1


def test_an_invalid_response_error_is_what_an_unreadable_answer_raises(scripted) -> None:
    rig = scripted((200, b"[]"))
    with pytest.raises(CellcastSendOutcomeUnknownError) as raised:
        rig.client.send_sms("hi", [NUMBER])
    assert isinstance(raised.value.__cause__, CellcastInvalidResponseError)


# -- contacts: normalised, de-duplicated, the impossible ones reported and never sent ---------------------


def test_contacts_are_normalised_and_impossible_ones_reported_not_sent(scripted) -> None:
    rig = scripted(ok(queued(SENT_NUMBER, "61412345678")))
    result = rig.client.send_sms(
        "hi", ["+61 400 000 001", "0412 345 678", "12345", "+1 415 555 0100", "(02) 9999 8888", "0400000001"]
    )
    [sent] = rig.transport.requests
    assert sent.json["contacts"] == [SENT_NUMBER, "61412345678"]  # each once, in order
    assert result["invalid_contacts"] == [
        {"contact": "**345", "error": "Number is less than 9 digit", "error_type": "less_nine_digit",
         "rejected_by": "provider"},
        {"contact": "+* *** *** *100", "error": "Not an Australian number (+61): give country_code for others",
         "error_type": "not_australian", "rejected_by": "provider"},
        {"contact": "(**) **** *888", "error": "Not an Australian mobile number (04...): SMS cannot reach it",
         "error_type": "not_mobile", "rejected_by": "provider"},
    ]  # fmt: skip
    assert len(result["message_ids"]) == 2


def test_no_possible_contact_sends_nothing(scripted, caplog: pytest.LogCaptureFixture) -> None:
    rig = scripted()
    result = rig.client.send_sms("hi", ["12345", "0299998888"])
    assert rig.transport.requests == []
    assert result["message_ids"] == [] and [item["error_type"] for item in result["invalid_contacts"]] == [
        "less_nine_digit", "not_mobile",
    ]  # fmt: skip
    assert "No contact of the 2 given can receive an SMS: nothing sent" in caplog.text


def test_another_country_code_leaves_numbers_as_written_without_punctuation(scripted) -> None:
    rig = scripted(ok(queued("+64211234567")))
    rig.client.send_sms("hi", ["+64 21 123 4567", "021-123-4567"], country_code=64)
    assert rig.transport.requests[0].json == {
        "message": "hi", "countryCode": 64, "contacts": ["+64211234567", "0211234567"],
    }  # fmt: skip


def test_cellcasts_invalid_contact_objects_are_read_as_such(scripted) -> None:
    answer = queued(
        SENT_NUMBER,
        invalidContacts=[
            {"Contact": "61400000002", "Error": "Number is blacklisted", "ErrorType": "blacklisted"},
            {"Contact": "61400000003", "Error": None, "ErrorType": 7},
        ],
    )
    rig = scripted(ok(answer))
    result = rig.client.send_sms("hi", [NUMBER, "+61400000002", "+61400000003"])
    assert result["invalid_contacts"] == [
        {"contact": "********002", "error": "Number is blacklisted", "error_type": "blacklisted",
         "rejected_by": "cellcast"},
        {"contact": "********003", "error": None, "error_type": None, "rejected_by": "cellcast"},
    ]  # fmt: skip


# -- opt-out fields: sent only when given -----------------------------------------------------------------


def test_opt_out_fields_are_sent_only_when_given(scripted) -> None:
    rig = scripted(*[ok(queued(SENT_NUMBER))] * 3)
    rig.client.send_sms("hi", [NUMBER])
    rig.client.send_sms("hi", [NUMBER], reply_stop_to_opt_out=False, opt_out=True)
    rig.client.send_sms("hi", [NUMBER], opt_out_list_id=" 65AA0000000000000000000F ")
    assert rig.transport.bodies == [
        {"message": "hi", "contacts": [SENT_NUMBER]},
        {"message": "hi", "replyStopToOptOut": False, "optout": True, "contacts": [SENT_NUMBER]},
        {"message": "hi", "optoutId": "65aa0000000000000000000f", "contacts": [SENT_NUMBER]},
    ]


@pytest.mark.parametrize(
    ("kwargs", "field", "text"),
    [
        ({"opt_out_list_id": "list-7"}, "opt_out_list_id", "opt_out_list_id 'list-7' is not a Cellcast message ID"),
        ({"opt_out_list_id": 7}, "opt_out_list_id", "opt_out_list_id must be a string of 24 hexadecimal characters"),
        ({"reply_stop_to_opt_out": "yes"}, "reply_stop_to_opt_out", "reply_stop_to_opt_out must be true or false"),
        ({"opt_out": 1}, "opt_out", "opt_out must be true or false"),
    ],
)
def test_a_bad_opt_out_field_is_refused_before_any_request(
    scripted, kwargs: dict[str, Any], field: str, text: str
) -> None:
    rig = scripted()
    with pytest.raises(CellcastInputError) as raised:
        rig.client.send_sms("hi", [NUMBER], **kwargs)
    assert raised.value.field == field and str(raised.value).startswith(text)
    assert rig.transport.requests == []


def test_reply_stop_to_opt_out_reaches_the_emulator(cellcast_emulator, emulated) -> None:
    emulated().send_sms("Sale! Reply STOP to opt out", [NUMBER], reply_stop_to_opt_out=True)
    [entry] = sends(cellcast_emulator)
    assert entry["body"]["replyStopToOptOut"] is True


# -- a scheduled send reads back the scheduleAt Cellcast understood -----------------------------------------

AT = "2030-01-02T03:04:00.000Z"


def ids_of(*numbers: int) -> list[str]:
    return [f"{n:024x}" for n in numbers]


@pytest.mark.parametrize("off", [timedelta(0), timedelta(seconds=59), timedelta(seconds=-60)])
def test_a_schedule_understood_within_a_minute_is_accepted(read_back, off: timedelta) -> None:
    rig = read_back(ok(queued(NUMBER, "+61400000002", start=1)), off=off)
    result = rig.client.send_sms("hi", [NUMBER, "+61400000002"], schedule_at=AT)
    assert result["message_ids"] == ids_of(1, 2)
    assert rig.transport.paths == [SEND_PATH, f"{REPORT_PATH}/{ids_of(1)[0]}"]  # one report per send request


def test_one_report_per_send_request(read_back) -> None:
    numbers = [f"+614001{i:05d}" for i in range(1500)]
    rig = read_back(ok(queued(*numbers[:1000], start=1)), ok(queued(*numbers[1000:], start=1001)))
    rig.client.send_sms("hi", numbers, schedule_at=AT)
    # The first message of each request: a request misread by Cellcast is found whichever it is.
    assert rig.transport.paths == [SEND_PATH, SEND_PATH, *(f"{REPORT_PATH}/{mid}" for mid in ids_of(1, 1001))]


@pytest.mark.parametrize("off", [timedelta(hours=-10), timedelta(seconds=61)])
def test_a_schedule_misread_cancels_every_id_and_names_both_times(read_back, caplog, off: timedelta) -> None:
    rig = read_back(ok(queued(NUMBER, "+61400000002", "+61400000003", start=1)), ok(), ok(), ok(), off=off)
    with pytest.raises(CellcastScheduleMismatchError) as raised:
        rig.client.send_sms("hi", [NUMBER, "+61400000002", "+61400000003"], schedule_at=AT)
    understood = (datetime(2030, 1, 2, 3, 4, tzinfo=timezone.utc) + off).isoformat(timespec="milliseconds")
    error_ = raised.value
    assert isinstance(error_, AirflowFailException)
    assert (error_.requested, error_.understood) == (AT, understood)
    assert (error_.cancelled, error_.not_cancelled) == (ids_of(1, 2, 3), [])
    assert str(error_) == (
        f"Cellcast understood the send's scheduleAt {AT} as {understood!r} (more than 1 minute off), so the 3 "
        "message(s) it queued were cancelled rather than sent at the wrong time. Set verify_schedule=False to "
        "accept Cellcast's reading."
    )
    cancels = rig.transport.to(CANCEL_PATH, "POST")
    assert sorted(sent.json["messageId"] for sent in cancels) == ids_of(1, 2, 3)
    assert f"Cellcast understood scheduleAt {AT} as {understood}: cancelling the 3 message(s) queued" in caplog.text


def test_a_misread_schedule_names_the_ids_it_could_not_cancel(read_back) -> None:
    rig = read_back(
        ok(queued(NUMBER, "+61400000002", start=1)), ok(), (400, error(400, "bad")), off=timedelta(hours=10),
        max_concurrency=1,
    )  # fmt: skip
    with pytest.raises(CellcastScheduleMismatchError) as raised:
        rig.client.send_sms("hi", [NUMBER, "+61400000002"], schedule_at=AT)
    assert (raised.value.cancelled, raised.value.not_cancelled) == (ids_of(1), ids_of(2))
    assert (
        f"so the 1 message(s) it queued were cancelled rather than sent at the wrong time. 1 could not be "
        f"cancelled and may go out: {ids_of(2)[0]}. Set verify_schedule=False" in str(raised.value)
    )


def test_a_report_without_a_schedule_is_a_mismatch(scripted) -> None:
    rig = scripted(ok(queued(NUMBER, start=1)), report(ids_of(1)[0], "scheduled"), ok())
    with pytest.raises(CellcastScheduleMismatchError) as raised:
        rig.client.send_sms("hi", [NUMBER], schedule_at=AT)
    assert raised.value.understood is None and f"scheduleAt {AT} as None" in str(raised.value)
    assert rig.transport.paths == [SEND_PATH, f"{REPORT_PATH}/{ids_of(1)[0]}", CANCEL_PATH]


@pytest.mark.parametrize(
    ("answer", "status_code"), [((503, b""), 503), (refused("Message not found"), 200)], ids=["503", "not-found"]
)
def test_a_schedule_that_cannot_be_read_back_is_unverified_and_retryable(scripted, answer, status_code) -> None:
    rig = scripted(ok(queued(NUMBER, start=1)), answer, max_attempts=1)
    with pytest.raises(CellcastScheduleUnverifiedError) as raised:
        rig.client.send_sms("hi", [NUMBER], schedule_at=AT, custom_string="af-d-t-1", recover_by_reference=True)
    assert not isinstance(raised.value, AirflowFailException)  # a retry adopts by reference and checks again
    assert raised.value.status_code == status_code
    assert str(raised.value).startswith(
        f"Cellcast queued 1 message(s) for {AT}, but the time it understood could not be read back ("
    )
    assert str(raised.value).endswith(
        "They stay queued; a retry of the task adopts them by their reference and checks again."
    )
    assert CANCEL_PATH not in rig.transport.paths  # nothing cancelled: the time may be right


def test_verify_schedule_false_accepts_cellcasts_reading(scripted) -> None:
    rig = scripted(ok(queued(NUMBER, start=1)))
    assert rig.client.send_sms("hi", [NUMBER], schedule_at=AT, verify_schedule=False)["message_ids"] == ids_of(1)
    assert rig.transport.paths == [SEND_PATH]


def test_a_delayed_send_is_not_read_back(scripted) -> None:
    rig = scripted(ok(queued(NUMBER, start=1)))
    rig.client.send_sms("hi", [NUMBER], delay_ms=60_000)
    assert rig.transport.paths == [SEND_PATH]


def test_adopted_messages_are_read_back_too(read_back) -> None:
    items = [{"_id": mid, "customString": "af-d-t-1", "receiver": NUMBER} for mid in ids_of(1, 2)]
    # No send in this try: the earlier try's messages are compared with the time asked for.
    rig = read_back(page(items), ok(), ok(), asked=AT, off=timedelta(hours=10))
    with pytest.raises(CellcastScheduleMismatchError) as raised:
        rig.client.send_sms(
            "hi", [NUMBER], schedule_at=AT, custom_string="af-d-t-1", recover_by_reference=True, adopt_existing=True
        )
    assert raised.value.cancelled == ids_of(1, 2)
    assert rig.transport.paths == [REPORT_PATH, f"{REPORT_PATH}/{ids_of(1)[0]}", CANCEL_PATH, CANCEL_PATH]


def test_a_schedule_read_back_against_the_emulator(cellcast_emulator, emulated) -> None:
    result = emulated().send_sms("hi", [NUMBER], schedule_at=AT)
    [message_id] = result["message_ids"]
    reports = [entry for entry in cellcast_emulator.requests_log() if entry["path"] == f"{REPORT_PATH}/{message_id}"]
    assert len(reports) == 1 and cellcast_emulator.message(message_id)["status"] == "scheduled"
