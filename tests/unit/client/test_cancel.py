"""Cancels (client/cancel.py): one ID, safe to repeat; many IDs in order, with saved progress."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException
from documented import DOCUMENTED_CANCEL_400, DOCUMENTED_CANCEL_SUCCESS

from airflow_provider_cellcast.client import CancelAttempt, CancelOutcomes
from airflow_provider_cellcast.client.results import SETTLED_EARLIER
from airflow_provider_cellcast.exceptions import (
    CellcastBadRequestError,
    CellcastConnectionError,
    CellcastInputError,
    CellcastMessageNotCancellableError,
    CellcastMessageNotFoundError,
    CellcastUnsuccessfulError,
)
from airflow_provider_cellcast.progress import CancelProgress
from unit.client.conftest import TOKEN
from unit.scripted import CANCEL_PATH, REPORT_PATH, error, ok, refused, report

MID = "675161d8a000000000000000"
IDS = [f"{i:024x}" for i in range(1, 6)]


def test_a_cancel_sends_the_documented_request_and_returns_its_result(scripted) -> None:
    rig = scripted((200, DOCUMENTED_CANCEL_SUCCESS), timeout=12)
    result = rig.client.cancel_scheduled_message(MID.upper(), " SMS ")
    assert result == {
        "message_id": MID,
        "type": "sms",
        "outcome": "cancelled",
        "message": "Job Removed successfully",
        "error": None,
        "status_code": None,
    }
    [sent] = rig.transport.requests
    assert (sent.method, sent.url) == ("POST", f"https://api.cellcast.com{CANCEL_PATH}")
    assert sent.json == {"messageId": MID, "type": "sms"}
    assert sent.header("Authorization") == f"Bearer {TOKEN}" and sent.header("Content-Type") == "application/json"
    assert sent.deadline == pytest.approx(12.0) and sent.message_id == MID


def test_a_refused_cancel_of_a_cancelled_message_is_already_cancelled(scripted) -> None:
    rig = scripted(refused("Job not found"), report(MID, "canceled"))
    result = rig.client.cancel_scheduled_message(MID)
    assert result["outcome"] == "already_cancelled" and result["message"] == "Job not found"
    assert [(sent.method, sent.path) for sent in rig.transport.requests] == [
        ("POST", CANCEL_PATH),
        ("GET", f"{REPORT_PATH}/{MID}"),
    ]


def test_a_refused_cancel_of_a_sent_message_fails_without_retry(scripted) -> None:
    rig = scripted(refused(), report(MID, "delivered", send_time="2026-11-27T01:00:00Z"))
    with pytest.raises(CellcastMessageNotCancellableError) as caught:
        rig.client.cancel_scheduled_message(MID)
    error_ = caught.value
    assert "delivered" in str(error_) and "2026-11-27T01:00:00Z" in str(error_)
    assert (error_.message_status, error_.sent_at, error_.message_id) == ("delivered", "2026-11-27T01:00:00Z", MID)
    assert isinstance(error_, AirflowFailException) and isinstance(error_.__cause__, CellcastUnsuccessfulError)


@pytest.mark.parametrize("lookup", [refused("Message not found"), (404, error(404, "Not found")), ok({})])
def test_a_refused_cancel_of_an_unknown_message(scripted, lookup: Any) -> None:
    rig = scripted(refused("Message not found"), lookup)
    with pytest.raises(CellcastMessageNotFoundError, match=f"no message {MID} on the account of connection 'cc'"):
        rig.client.cancel_scheduled_message(MID)


def test_a_refused_cancel_of_a_still_scheduled_message_hints_at_the_type(scripted) -> None:
    rig = scripted(refused(), report(MID, "scheduled", scheduleAt="2026-12-01T00:00:00Z"))
    with pytest.raises(CellcastUnsuccessfulError, match="message_type 'mms'") as caught:
        rig.client.cancel_scheduled_message(MID, "mms")
    assert "2026-12-01T00:00:00Z" in str(caught.value)
    assert rig.transport.requests[0].json == {"messageId": MID, "type": "mms"}


def test_when_the_lookup_fails_too_the_refusal_is_raised(scripted, caplog: pytest.LogCaptureFixture) -> None:
    rig = scripted(refused("No"), (503, b""), max_attempts=1)
    with caplog.at_level(logging.WARNING), pytest.raises(CellcastUnsuccessfulError) as caught:
        rig.client.cancel_scheduled_message(MID)
    assert caught.value.api_message == "No" and caught.value.status_code == 200
    assert f"Could not look up message {MID} after a refused cancel" in caplog.text


def test_a_documented_400_is_a_bad_request_never_retried(scripted) -> None:
    rig = scripted((400, DOCUMENTED_CANCEL_400), ok())
    with pytest.raises(CellcastBadRequestError) as caught:
        rig.client.cancel_scheduled_message(MID)
    assert caught.value.api_message == "messageId is required" and len(rig.transport.requests) == 1


@pytest.mark.parametrize(
    ("message_id", "message_type", "field"), [("nope", "sms", "message_id"), (MID, "fax", "message_type")]
)
def test_bad_ids_and_types_fail_before_any_request(scripted, message_id: str, message_type: str, field: str) -> None:
    rig = scripted()
    with pytest.raises(CellcastInputError) as raised:
        rig.client.cancel_scheduled_message(message_id, message_type)
    assert raised.value.field == field and rig.transport.requests == []


@pytest.mark.parametrize(
    "fault",
    [(502, b""), CellcastConnectionError("sent no complete answer (ReadTimeout)", request_sent=True)],
    ids=["502", "read-timeout"],
)
def test_a_cancel_is_retried_after_a_transient_fault(scripted, fault: Any) -> None:
    # Safe to repeat, unlike a send: a cancel that did reach Cellcast is looked up if refused.
    rig = scripted(fault, (200, DOCUMENTED_CANCEL_SUCCESS), backoff_seconds=0)
    assert rig.client.cancel_scheduled_message(MID)["outcome"] == "cancelled"
    assert len(rig.transport.to(CANCEL_PATH)) == 2


# -- many IDs ----------------------------------------------------------------------------------------


def test_a_bulk_cancel_accounts_for_every_id_in_order(scripted, caplog: pytest.LogCaptureFixture) -> None:
    # One worker keeps the scripted order deterministic.
    rig = scripted(
        ok(),
        refused(),
        report(IDS[1], "canceled"),
        refused("nf"),
        refused("Message not found"),
        ok(),
        ok(),
        max_concurrency=1,
    )
    with caplog.at_level(logging.DEBUG):
        outcomes = rig.client.cancel_scheduled_messages([*IDS, IDS[0]], "sms")
    assert isinstance(outcomes, CancelOutcomes) and len(outcomes) == 5
    assert [o.message_id for o in outcomes] == IDS  # once each, in input order
    assert [o.result["outcome"] for o in outcomes] == [
        "cancelled",
        "already_cancelled",
        "failed",
        "cancelled",
        "cancelled",
    ]
    assert isinstance(outcomes[2].error, CellcastMessageNotFoundError) and outcomes[2].result["error"]
    assert all(o.error is None for o in outcomes if o.result["outcome"] != "failed")
    json.dumps([o.result for o in outcomes])  # XCom-serialisable
    assert [sent.json["messageId"] for sent in rig.transport.to(CANCEL_PATH)] == IDS
    assert outcomes.counts() == {"cancelled": 3, "already_cancelled": 1, "failed": 1}
    progress = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Cellcast cancel: ")]
    assert all(r.levelno == logging.INFO for r in caplog.records if r.getMessage().startswith("Cellcast cancel: "))
    assert re.fullmatch(r"Cellcast cancel: 5/5 message\(s\) done \(100 %\), 1 failed, 0 left, [\d.]+/s", progress[-1])
    # One line per ID, at DEBUG only: the outcome, or the error of a failed ID.
    per_id = {r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG and r.getMessage()[:24] in IDS}
    assert per_id == {
        f"{IDS[0]}: cancelled", f"{IDS[1]}: already_cancelled", f"{IDS[2]}: {outcomes[2].result['error']}",
        f"{IDS[3]}: cancelled", f"{IDS[4]}: cancelled",
    }  # fmt: skip
    assert not [r for r in caplog.records if r.levelno > logging.DEBUG and r.getMessage()[:24] in IDS]


def test_a_bulk_cancel_runs_concurrently_and_never_raises_per_id(routed) -> None:
    rig = routed({CANCEL_PATH: [(400, error(400, "bad"))]}, max_concurrency=4)
    outcomes = rig.client.cancel_scheduled_messages(IDS)
    assert [o.result["outcome"] for o in outcomes] == ["failed"] * 5
    assert all(isinstance(o.error, CellcastBadRequestError) and o.result["status_code"] == 400 for o in outcomes)
    assert sorted(sent.json["messageId"] for sent in rig.transport.requests) == IDS


def test_no_ids_no_requests(scripted) -> None:
    rig = scripted()
    assert rig.client.cancel_scheduled_messages([]) == [] and rig.transport.requests == []


def test_one_bad_id_fails_the_whole_batch_before_any_request(scripted) -> None:
    rig = scripted()
    with pytest.raises(CellcastInputError):
        rig.client.cancel_scheduled_messages([MID, "nope"])
    assert rig.transport.requests == []


def test_cancel_attempt_carries_result_and_typed_error() -> None:
    result = {"message_id": MID, "type": "sms", "outcome": "failed", "message": None, "error": "x", "status_code": 404}
    error_ = CellcastMessageNotFoundError("gone", message_id=MID)
    attempt = CancelAttempt(result, error=error_)  # type: ignore[arg-type]
    assert attempt.message_id == MID and attempt.error is error_
    assert attempt == CancelAttempt(result)  # type: ignore[arg-type]  # the error is not part of equality


# -- saved progress -------------------------------------------------------------------------------------


class DictStore:
    """A progress store in memory that records what was done to it."""

    def __init__(self, record: Mapping[str, Any] | None = None, *, fail: str = "") -> None:
        self.record = dict(record) if record else None
        self.fail = fail
        self.saves = 0
        self.cleared = 0

    def load(self) -> Mapping[str, Any] | None:
        if self.fail == "load":
            raise OSError("store unreadable")
        return self.record

    def save(self, record: Mapping[str, Any]) -> None:
        if self.fail == "save":
            raise OSError("store full")
        self.saves += 1
        self.record = json.loads(json.dumps(record))  # as a JSON store keeps it

    def clear(self) -> None:
        self.cleared += 1
        self.record = None


def test_progress_is_saved_and_a_retry_only_cancels_what_is_left(scripted) -> None:
    store = DictStore()
    first = scripted(
        ok(), refused(), report(IDS[1], "canceled"), (400, error(400, "bad")), ok(), ok(), max_concurrency=1
    )
    outcomes = first.client.cancel_scheduled_messages(IDS, progress_store=store)
    assert [o.result["outcome"] for o in outcomes] == [
        "cancelled",
        "already_cancelled",
        "failed",
        "cancelled",
        "cancelled",
    ]
    assert store.saves >= 1 and store.cleared == 0
    progress = CancelProgress(IDS, "sms")
    assert progress.restore(store.record)
    assert progress.settled() == {
        IDS[0]: "cancelled",
        IDS[1]: "already_cancelled",
        IDS[3]: "cancelled",
        IDS[4]: "cancelled",
    }

    retry = scripted(ok(), max_concurrency=1)
    again = retry.client.cancel_scheduled_messages(IDS, progress_store=store)
    assert [sent.json["messageId"] for sent in retry.transport.requests] == [IDS[2]]  # only the failed one
    assert [o.result["outcome"] for o in again] == [
        "cancelled",
        "already_cancelled",
        "cancelled",
        "cancelled",
        "cancelled",
    ]
    assert [o.result["message"] for o in again].count(SETTLED_EARLIER) == 4
    assert store.cleared == 1 and store.record is None  # every ID settled: the record is dropped


def test_a_record_of_another_cancel_is_ignored(scripted) -> None:
    other = CancelProgress(IDS[:4], "sms")
    for message_id in IDS[:4]:
        other.mark(message_id, "cancelled")
    store = DictStore(other.to_record())
    rig = scripted(*[ok()] * 5, max_concurrency=1)
    rig.client.cancel_scheduled_messages(IDS, progress_store=store)
    assert len(rig.transport.requests) == 5


def test_a_record_of_another_type_is_ignored(scripted) -> None:
    mms = CancelProgress(IDS, "mms")
    for message_id in IDS:
        mms.mark(message_id, "cancelled")
    rig = scripted(*[ok()] * 5, max_concurrency=1)
    rig.client.cancel_scheduled_messages(IDS, "sms", progress_store=DictStore(mms.to_record()))
    assert len(rig.transport.requests) == 5


@pytest.mark.parametrize("fail", ["load", "save"])
def test_a_failing_store_only_costs_repeated_work(scripted, caplog: pytest.LogCaptureFixture, fail: str) -> None:
    rig = scripted(*[ok()] * 5, max_concurrency=1)
    with caplog.at_level(logging.WARNING):
        outcomes = rig.client.cancel_scheduled_messages(IDS, progress_store=DictStore(fail=fail))
    assert [o.result["outcome"] for o in outcomes] == ["cancelled"] * 5 and len(rig.transport.requests) == 5
    expected = (
        "Could not read the progress of an earlier try" if fail == "load" else "Could not save the cancel progress"
    )
    assert expected in caplog.text


# -- against the emulator ------------------------------------------------------------------------------


def test_cancel_against_the_emulator(cellcast_emulator, emulated) -> None:
    [message_id] = cellcast_emulator.schedule_campaign(contacts=["+61400000001"])
    client = emulated()
    assert client.cancel_scheduled_message(message_id.upper(), " SMS ")["outcome"] == "cancelled"
    assert cellcast_emulator.message(message_id)["status"] == "canceled"
    assert client.cancel_scheduled_message(message_id)["outcome"] == "already_cancelled"


def test_a_bulk_cancel_against_the_emulator(cellcast_emulator, emulated) -> None:
    ids = cellcast_emulator.schedule_campaign(contacts=[f"+6140000000{i}" for i in range(6)])
    sent = cellcast_emulator.seed_message(status="delivered")["_id"]
    outcomes = emulated(max_concurrency=4).cancel_scheduled_messages([*ids, sent])
    assert [o.result["outcome"] for o in outcomes] == ["cancelled"] * 6 + ["failed"]
    assert isinstance(outcomes[-1].error, CellcastMessageNotCancellableError)
    assert {cellcast_emulator.message(message_id)["status"] for message_id in ids} == {"canceled"}
