"""The results the client returns (client/results.py): CancelOutcomes, summary_of, empty sends.

A bulk cancel of 100,000 IDs keeps its outcomes compactly (a byte of outcome and four of text
per ID, full attempts for failures only, without tracebacks) and the cancel operator returns a
small summary of them instead of the whole list.
"""

from __future__ import annotations

import json
import tracemalloc
from typing import Any

import pytest

from airflow_provider_cellcast.client import CancelAttempt, CancelOutcomes
from airflow_provider_cellcast.client.results import (
    cancel_result,
    empty_send_result,
    failed_attempt,
    summary_of,
)
from airflow_provider_cellcast.exceptions import CellcastMessageNotFoundError, CellcastServerError

IDS = [f"{n:024x}" for n in range(1, 5)]
REMOVED = "Job removed successfully"


def cancelled(index: int, message: str | None = REMOVED, outcome: Any = "cancelled") -> CancelAttempt:
    return CancelAttempt(cancel_result(IDS[index], "sms", outcome, message=message))


def raised(error: Exception) -> Exception:
    """``error`` as it is after being raised and caught: with a traceback."""
    try:
        raise error
    except Exception as caught:
        return caught


def failed(message_id: str, error: Exception | None = None) -> CancelAttempt:
    error = error or CellcastServerError("Cellcast had a server error (HTTP 503)", status_code=503, api_message="busy")
    return failed_attempt(message_id, "sms", error)  # type: ignore[arg-type]


# -- CancelOutcomes -----------------------------------------------------------------------------------


def test_recorded_outcomes_read_back_as_attempts_in_input_order() -> None:
    outcomes = CancelOutcomes(IDS, "sms")
    failure = failed(IDS[1])
    outcomes.record(2, cancelled(2))
    outcomes.record(0, cancelled(0, "Job not found", "already_cancelled"))
    outcomes.record(1, failure)
    outcomes.record(3, cancelled(3, None))
    assert len(outcomes) == 4
    assert outcomes[0] == cancelled(0, "Job not found", "already_cancelled")
    assert outcomes[1] is failure and outcomes[1].error is failure.error  # failures are kept whole
    assert outcomes[2].result == {
        "message_id": IDS[2], "type": "sms", "outcome": "cancelled", "message": REMOVED, "error": None,
        "status_code": None,
    }  # fmt: skip
    assert outcomes[3].result["message"] is None and outcomes[3].error is None
    assert outcomes[-2] == outcomes[2] and outcomes[1:3] == [outcomes[1], outcomes[2]]
    assert [attempt.message_id for attempt in outcomes] == IDS
    assert list(outcomes.results()) == [attempt.result for attempt in outcomes]
    json.dumps(list(outcomes.results()))  # XCom-serialisable


def test_counts_and_failures() -> None:
    outcomes = CancelOutcomes(IDS, "mms")
    last, first = failed(IDS[3]), failed(IDS[1])
    outcomes.record(3, last)  # recorded out of order, as a concurrent cancel does
    outcomes.record(1, first)
    outcomes.record(0, cancelled(0))
    assert outcomes.counts() == {"cancelled": 1, "already_cancelled": 0, "failed": 2}  # index 2: no outcome yet
    assert outcomes.failures() == [first, last] and outcomes.failures()[0] is first
    with pytest.raises(LookupError, match=f"message {IDS[2]} has no outcome yet"):
        outcomes[2]
    assert repr(outcomes) == "CancelOutcomes(4 IDs: {'cancelled': 1, 'already_cancelled': 0, 'failed': 2})"


def test_an_empty_cancel_has_no_outcomes() -> None:
    outcomes = CancelOutcomes([], "sms")
    assert len(outcomes) == 0 and list(outcomes) == [] and outcomes.failures() == []
    assert outcomes.counts() == {"cancelled": 0, "already_cancelled": 0, "failed": 0}
    assert outcomes == []


def test_equality_with_a_list_of_attempts() -> None:
    outcomes = CancelOutcomes(IDS[:2], "sms")
    outcomes.record(0, cancelled(0))
    outcomes.record(1, failed(IDS[1]))
    # The error is not compared (CancelAttempt's error has compare=False): the results are.
    same_result = CancelAttempt(failed(IDS[1]).result, error=CellcastServerError("another error object"))
    assert outcomes == [cancelled(0), same_result]
    assert outcomes != [cancelled(0), failed(IDS[1], CellcastServerError("another text"))]
    assert outcomes != [cancelled(0)] and outcomes != [cancelled(0), cancelled(1)]
    assert outcomes != {"a": 1} and outcomes != 5
    with pytest.raises(TypeError):
        hash(outcomes)


def test_failures_are_kept_without_tracebacks() -> None:
    cause = raised(CellcastServerError("HTTP 503", status_code=503))
    error = raised(CellcastMessageNotFoundError("no message", message_id=IDS[0]))
    error.__cause__ = cause
    assert error.__traceback__ is not None and cause.__traceback__ is not None
    outcomes = CancelOutcomes(IDS[:1], "sms")
    outcomes.record(0, failed(IDS[0], error))
    assert outcomes[0].error is error
    # 100,000 tracebacks (with their frames) would be gigabytes: dropped, the chain too.
    assert error.__traceback__ is None and cause.__traceback__ is None


def test_a_cycle_of_causes_does_not_hang() -> None:
    first, second = raised(CellcastServerError("a")), raised(CellcastServerError("b"))
    first.__context__, second.__context__ = second, first
    outcomes = CancelOutcomes(IDS[:1], "sms")
    outcomes.record(0, failed(IDS[0], first))
    assert first.__traceback__ is None and second.__traceback__ is None


def test_the_table_of_texts_is_bounded() -> None:
    ids = [f"{n:024x}" for n in range(2000)]
    outcomes = CancelOutcomes(ids, "sms")
    for index, message_id in enumerate(ids):
        outcomes.record(index, CancelAttempt(cancel_result(message_id, "sms", "cancelled", message=f"text {index}")))
    # A server answering every ID with its own text: 1,023 texts are kept (with None, 1,024), the rest read None.
    assert [outcomes[index].result["message"] for index in (0, 1022)] == ["text 0", "text 1022"]
    assert {outcomes[index].result["message"] for index in range(1023, 2000)} == {None}
    assert all(attempt.result["outcome"] == "cancelled" for attempt in outcomes)  # outcomes are never lost


def test_one_text_for_every_id_is_stored_once_and_an_id_costs_a_few_bytes() -> None:
    ids = [f"{n:024x}" for n in range(50_000)]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        outcomes = CancelOutcomes(ids, "sms")
        for index, message_id in enumerate(ids):  # as cancel_many does: each attempt made, recorded, let go
            outcomes.record(index, CancelAttempt(cancel_result(message_id, "sms", "cancelled", message=REMOVED)))
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # One byte of outcome and four of text per ID: keeping the attempts (a dict each) would be hundreds.
    assert grown < 10 * len(ids)
    assert outcomes[49_999].result["message"] == REMOVED and outcomes.counts()["cancelled"] == 50_000


# -- summary_of ----------------------------------------------------------------------------------------


WHERE = "every ID's outcome is in the XCom 'results' of this task instance"


def test_a_summary_counts_outcomes_and_names_the_reference() -> None:
    outcomes = CancelOutcomes(IDS, "sms")
    outcomes.record(0, cancelled(0))
    outcomes.record(1, cancelled(1, "Job not found", "already_cancelled"))
    outcomes.record(2, cancelled(2))
    outcomes.record(3, cancelled(3))
    assert summary_of(outcomes, reference="camp-7") == {
        "total": 4,
        "message_type": "sms",
        "outcomes": {"cancelled": 3, "already_cancelled": 1, "failed": 0},
        "reference": "camp-7",
        "failed": [],
        "failed_not_shown": 0,
        "results": WHERE,
    }


def test_a_summary_lists_the_first_failures_only() -> None:
    ids = [f"{n:024x}" for n in range(1, 151)]
    outcomes = CancelOutcomes(ids, "mms")
    for index in reversed(range(150)):
        outcomes.record(index, failed(ids[index]))
    summary = summary_of(outcomes, reference=None)
    assert summary["outcomes"] == {"cancelled": 0, "already_cancelled": 0, "failed": 150}
    assert [item["message_id"] for item in summary["failed"]] == ids[:100]  # in input order
    assert summary["failed"][0] == {
        "message_id": ids[0], "error": "Cellcast had a server error (HTTP 503)", "status_code": 503,
    }  # fmt: skip
    assert summary["failed_not_shown"] == 50 and summary["message_type"] == "mms"
    assert len(summary_of(outcomes, reference=None, shown=10)["failed"]) == 10
    assert len(json.dumps(summary)) < 20_000  # small, whatever the campaign's size


def test_a_summary_of_nothing() -> None:
    assert summary_of(CancelOutcomes([], "sms"), reference="camp-7") == {
        "total": 0,
        "message_type": "sms",
        "outcomes": {"cancelled": 0, "already_cancelled": 0, "failed": 0},
        "reference": "camp-7",
        "failed": [],
        "failed_not_shown": 0,
        "results": WHERE,
    }


# -- sends ----------------------------------------------------------------------------------------------


def test_an_empty_send_result_has_every_key() -> None:
    assert empty_send_result("camp-7", sent_on="2026-12-01") == {
        "message_ids": [], "queued": [], "invalid_contacts": [], "unsubscribed_contacts": [], "reference": "camp-7",
        "adopted": False, "sent_on": "2026-12-01",
    }  # fmt: skip
    assert empty_send_result(None, adopted=True)["sent_on"] is None
