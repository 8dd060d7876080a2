"""The status rules the sensor and the trigger decide with: vocabulary, verdicts, failure texts."""

from __future__ import annotations

import pytest

from airflow_provider_cellcast.exceptions import CellcastInputError
from airflow_provider_cellcast.statuses import (
    CANCELABLE,
    CANCELED,
    DEFAULT_FAILURE_STATUSES,
    KNOWN_STATUSES,
    NOT_FOUND,
    StatusCheck,
    StatusRules,
    failure_text,
    normalise_status,
    normalise_statuses,
)

A, B, C = "675161d8a000000000000001", "675161d8a000000000000002", "675161d8a000000000000003"


# -- the rules -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("targets", "status", "verdict"),
    [
        ({"delivered"}, "delivered", "done"),
        ({"delivered"}, "sent", "waiting"),
        ({"delivered"}, "scheduled", "waiting"),
        ({"delivered"}, "failed", "failed"),
        ({"delivered"}, "blocked", "failed"),
        ({"delivered"}, "canceled", "failed"),  # can never be delivered now
        ({"delivered"}, "not_found", "failed"),
        ({"delivered"}, "some_new_status", "waiting"),  # unknown: wait for the timeout, never guess
        ({"sent"}, "delivered", "done"),  # delivered messages were sent
        ({"queued"}, "sent", "done"),
        ({"scheduled"}, "scheduled", "done"),
        ({"scheduled"}, "sent", "failed"),  # gone out already: cannot be scheduled again
        ({"canceled"}, "scheduled", "waiting"),
        ({"canceled"}, "sent", "failed"),
        ({"canceled"}, "delivered", "failed"),
        ({"failed"}, "failed", "done"),  # a target wins over a failure status
        ({"delivered", "canceled"}, "canceled", "done"),
        ({"delivered"}, "dead", "failed"),  # the webhook page's final failure
        ({"delivered"}, "aborted", "failed"),  # the v3 API's
        ({"delivered"}, "unknown", "waiting"),  # the v3 API's "unknown": not understood, so wait
        ({"delivered"}, "pending", "waiting"),
        ({"pending"}, "queued", "done"),  # a later stage satisfies an earlier one
        ({"sent"}, "pending", "waiting"),
        ({"canceled"}, "pending", "failed"),  # past scheduling: cannot be cancelled any more
    ],
)
def test_verdicts(targets: set[str], status: str, verdict: str) -> None:
    assert StatusRules.build(targets, None).verdict(status) == verdict


def test_spellings_are_normalised_and_unknown_statuses_refused_at_parse_time() -> None:
    rules = StatusRules.build("Cancelled", ["FAILED", "delievered"])
    assert rules.targets == {"canceled"}
    assert rules.failures == {"failed", "delivered"}
    with pytest.raises(CellcastInputError, match=r"unknown status.*'delivred'") as raised:
        StatusRules.build("delivred", None)
    assert raised.value.field == "target_status"
    with pytest.raises(CellcastInputError, match="failure_statuses") as raised:
        StatusRules.build("delivered", ["failed", "oops"])
    assert raised.value.field == "failure_statuses"


def test_empty_failure_statuses_only_fail_on_unreachable_targets() -> None:
    rules = StatusRules.build("delivered", [])
    assert rules.verdict("rejected") == "failed"  # still unreachable
    assert StatusRules.build("rejected", []).verdict("rejected") == "done"




@pytest.mark.parametrize(
    ("value", "expected"),
    [("Delivered", "delivered"), (" CANCELLED ", "canceled"), ("delievered", "delivered"), (None, "unknown"),
     ("", "unknown"), ("brand_new", "brand_new")],
)  # fmt: skip
def test_normalise_status(value, expected) -> None:
    assert normalise_status(value) == expected


@pytest.mark.parametrize("bad", [[], {"delivered": 1}, 5])
def test_normalise_statuses_refuses_empty_and_wrong_containers(bad) -> None:
    with pytest.raises(CellcastInputError) as raised:
        normalise_statuses(bad, "target_status")
    assert raised.value.field == "target_status"


def test_unknown_status_error_lists_the_known_ones() -> None:
    with pytest.raises(CellcastInputError) as raised:
        normalise_statuses(["gone"], "target_status")
    assert ", ".join(sorted(KNOWN_STATUSES)) in str(raised.value)


def test_vocabulary_constants() -> None:
    assert {CANCELED, CANCELABLE} <= KNOWN_STATUSES and NOT_FOUND not in KNOWN_STATUSES
    assert DEFAULT_FAILURE_STATUSES == {"failed", "rejected", "expired", "blocked", "dead", "aborted"}
    assert StatusRules.build("sent", None).to_dict() == {
        "target_statuses": ["sent"],
        "failure_statuses": ["aborted", "blocked", "dead", "expired", "failed", "rejected"],
    }


def test_status_check_finished_and_summary() -> None:
    assert StatusCheck().finished  # nothing to wait for
    waiting = StatusCheck(statuses={A: "sent"}, waiting=[A])
    assert not waiting.finished and waiting.summary() == "0 done, 1 waiting, 0 failed"
    assert StatusCheck(statuses={A: "failed", B: "sent"}, failed=[A], waiting=[B]).finished


def test_failure_text_names_ids_and_why_and_shortens_long_lists() -> None:
    rules = StatusRules.build("delivered", None)
    check = StatusCheck(statuses={A: "failed", B: NOT_FOUND, C: "canceled"}, failed=[A, B, C])
    text = failure_text(check, rules)
    assert text.startswith("3 of 3 Cellcast message(s) will not reach 'delivered': ")
    assert f"{A}: 'failed', a failure status; {B}: not found on this account; " in text
    assert f"{C}: 'canceled', from which 'delivered' cannot be reached" in text
    assert "XCom 'statuses'" in text
    ids = [f"{i:024x}" for i in range(12)]
    many = StatusCheck(statuses=dict.fromkeys(ids, "failed"), failed=ids)
    long_text = failure_text(many, rules)
    assert ids[9] in long_text and ids[10] not in long_text and "and 2 more" in long_text
