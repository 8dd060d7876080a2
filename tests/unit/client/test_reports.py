"""Reading what Cellcast knows (client/reports.py): one message, lists by reference, status rounds."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

import pytest

from airflow_provider_cellcast.client import reports
from airflow_provider_cellcast.exceptions import (
    CellcastBadRequestError,
    CellcastInputError,
    CellcastInvalidResponseError,
    CellcastMessageNotFoundError,
    CellcastServerError,
    CellcastUnsuccessfulError,
)
from airflow_provider_cellcast.statuses import StatusRules
from unit.scripted import REPORT_PATH, error, ok, page, refused, report

A, B, C = "675161d8a000000000000001", "675161d8a000000000000002", "675161d8a000000000000003"
UNKNOWN = "675161d8a0000000000000ff"


def item(message_id: str, reference: str = "camp-7", status: str = "scheduled", **fields: Any) -> dict[str, Any]:
    return {"_id": message_id, "customString": reference, "status": status, **fields}


# -- one message -------------------------------------------------------------------------------------


def test_get_message_returns_the_report(scripted) -> None:
    rig = scripted(report(A, "delivered", receiver="+61400000001"))
    assert rig.client.get_message(A.upper()) == {"_id": A, "status": "delivered", "receiver": "+61400000001"}
    [sent] = rig.transport.requests
    assert (sent.method, sent.path, sent.message_id) == ("GET", f"{REPORT_PATH}/{A}", A)
    assert sent.body is None


@pytest.mark.parametrize(
    "answer",
    [refused("Message not found"), (404, error(404, "Not found")), ok({}), ok([])],
    ids=["false", "404", "empty", "list"],
)
def test_an_unknown_message(scripted, answer: Any) -> None:
    rig = scripted(answer)
    with pytest.raises(
        CellcastMessageNotFoundError, match=f"no message {A} on the account of connection 'cc'"
    ) as raised:
        rig.client.get_message(A)
    assert raised.value.message_id == A and len(rig.transport.requests) == 1


def test_a_refusal_that_does_not_say_not_found_is_retried_like_a_503(scripted, caplog) -> None:
    # Live: a malformed lookup answers status false "internal server error" (a CastError).
    rig = scripted(refused("internal server error"), report(A, "sent"), backoff_seconds=0.5)
    assert rig.client.get_message(A) == {"_id": A, "status": "sent"}
    assert len(rig.transport.requests) == 2 and len(rig.waits) == 1 and 0.5 <= rig.waits[0] <= 1.0
    assert "attempt 1 of 5 failed, retrying" in caplog.text


def test_a_refusal_that_persists_is_an_unsuccessful_lookup(scripted) -> None:
    rig = scripted(*[refused("internal server error")] * 3, max_attempts=3)
    with pytest.raises(CellcastUnsuccessfulError) as raised:
        rig.client.get_message(A)
    assert type(raised.value) is CellcastUnsuccessfulError and raised.value.api_message == "internal server error"
    assert raised.value.message_id == A and len(rig.transport.requests) == 3


def test_other_errors_of_a_lookup_keep_their_type(scripted) -> None:
    rig = scripted((500, error(500, "boom")))
    with pytest.raises(CellcastServerError):
        rig.client.get_message(A)


def test_a_bad_id_is_refused_before_any_request(scripted) -> None:
    rig = scripted()
    with pytest.raises(CellcastInputError):
        rig.client.get_message("675161d8")
    assert rig.transport.requests == []


def test_get_message_of_an_unknown_id_against_the_emulator(emulated) -> None:
    with pytest.raises(CellcastMessageNotFoundError, match="connection 'cc'"):
        emulated().get_message(UNKNOWN)


# -- lists -----------------------------------------------------------------------------------------------


def test_list_messages_pages_and_filters_again(scripted) -> None:
    rig = scripted(
        page([item(A), item(B, "other")], more=True),
        page([item(C, status="Delievered"), item(A)], more=False),
    )
    listed = list(rig.client.list_messages(custom_string="camp-7", status="delivered", message_type="sms", page_size=2))
    assert [entry["_id"] for entry in listed] == [C]  # the service ignored the filters: checked again here
    assert [sent.query for sent in rig.transport.requests] == [
        {"limit": "2", "customString": "camp-7", "status": "delivered", "campType": "sms", "page": "1"},
        {"limit": "2", "customString": "camp-7", "status": "delivered", "campType": "sms", "page": "2"},
    ]


def test_list_messages_is_lazy(scripted) -> None:
    rig = scripted(page([item(A)], more=True), page([item(B)]))
    listed = rig.client.list_messages()
    assert rig.transport.requests == []
    assert next(listed)["_id"] == A and len(rig.transport.requests) == 1
    assert [entry["_id"] for entry in listed] == [B] and len(rig.transport.requests) == 2


def test_an_empty_page_ends_the_list_whatever_it_says(scripted) -> None:
    rig = scripted(page([], more=True))
    assert list(rig.client.list_messages()) == [] and len(rig.transport.requests) == 1


@pytest.mark.parametrize("data", [{"hasNextPage": False}, {"items": "none"}, []])
def test_a_page_without_an_items_list_is_an_invalid_answer(scripted, data: Any) -> None:
    rig = scripted(ok(data))
    with pytest.raises(CellcastInvalidResponseError, match="message list page 1 without an items list"):
        list(rig.client.list_messages())


def test_message_ids_by_reference_reads_every_page_before_answering(scripted) -> None:
    rig = scripted(
        page([item(A), item(B), {"customString": "camp-7"}], more=True),
        page([item(B), item(C), item(UNKNOWN, "other")]),
    )
    assert rig.client.message_ids_by_reference("camp-7", status="scheduled", message_type="SMS") == [A, B, C]
    assert [sent.query["page"] for sent in rig.transport.requests] == ["1", "2"]
    assert (
        rig.transport.requests[0].query["campType"] == "sms"
        and rig.transport.requests[0].query["status"] == "scheduled"
    )


def test_message_ids_by_reference_checks_its_input(scripted) -> None:
    rig = scripted()
    with pytest.raises(CellcastInputError):
        rig.client.message_ids_by_reference("camp-7", message_type="fax")
    assert rig.transport.requests == []


def test_find_sent_by_reference_from_a_day(scripted) -> None:
    rig = scripted(page([item(A)]))
    found = rig.client.run(reports.find_sent_by_reference(rig.client.context, "camp-7", from_date=date(2026, 11, 30)))
    assert found is not None and found["message_ids"] == [A]
    assert rig.transport.requests[0].query == {
        "limit": "100", "fromDate": "2026-11-30", "customString": "camp-7", "page": "1",
    }  # fmt: skip


def test_statuses_by_reference_reads_every_page_once(scripted) -> None:
    rig = scripted(
        page([item(A, status="Delievered"), item(B, "other"), {"customString": "camp-7"}], more=True),
        page([item(C, status="CANCELLED"), item(A, status="delivered")]),
    )
    statuses = rig.client.statuses_by_reference("camp-7", from_date=date(2026, 11, 30))
    assert statuses == {A: "delivered", C: "canceled"}  # canonical spellings; other references dropped
    assert [sent.query for sent in rig.transport.requests] == [
        {"limit": "100", "fromDate": "2026-11-30", "customString": "camp-7", "page": "1"},
        {"limit": "100", "fromDate": "2026-11-30", "customString": "camp-7", "page": "2"},
    ]


def test_statuses_by_reference_checks_the_reference_first(scripted) -> None:
    rig = scripted()
    with pytest.raises(CellcastInputError, match="custom_string 'camp/7' has characters"):
        rig.client.statuses_by_reference("camp/7")
    assert rig.transport.requests == []


@pytest.mark.parametrize(
    ("pages", "from_date", "logged"),
    [
        (10, None, None),
        (
            11,
            None,
            "Listing reference 'camp-7' read 11 pages (11 messages): give the send day (fromDate) to read fewer",
        ),
        (11, date(2026, 11, 30), "Listing reference 'camp-7' read 11 pages (11 messages)"),
    ],
)
def test_a_lookup_reading_more_than_ten_pages_says_so(scripted, caplog, pages, from_date, logged) -> None:
    answers = [page([item(f"{n:024x}")], more=n < pages) for n in range(1, pages + 1)]
    rig = scripted(*answers)
    with caplog.at_level(logging.INFO):
        assert len(rig.client.statuses_by_reference("camp-7", from_date=from_date)) == pages
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Listing ")]
    assert lines == ([logged] if logged else [])


def test_find_sent_by_reference(scripted) -> None:
    rig = scripted(page([item(A, receiver="+61400000001")]), page([]))
    found = rig.client.find_sent_by_reference("camp-7")
    assert found is not None
    assert found["message_ids"] == [A] and found["adopted"] is True and found["reference"] == "camp-7"
    assert found["queued"][0]["contact"].endswith("001") and "+61400000001" not in str(found)
    assert rig.client.find_sent_by_reference("camp-7") is None


# -- status rounds ----------------------------------------------------------------------------------------


def test_check_statuses_classifies_every_id(routed) -> None:
    rig = routed(statuses={A: ["delivered"], B: ["sent"], C: ["failed"]})
    check = rig.client.check_statuses([A, B, C], StatusRules.build("delivered", None))
    assert check.statuses == {A: "delivered", B: "sent", C: "failed"}
    assert (check.done, check.waiting, check.failed) == ([A], [B], [C])
    assert sorted(rig.transport.asked) == [A, B, C]


def test_check_statuses_skips_done_ids_and_counts_unknown_ids_as_not_found(routed) -> None:
    rig = routed(
        statuses={A: ["delivered"], B: ["scheduled"], UNKNOWN: [refused("Message not found")]}, backoff_seconds=2.5
    )
    rules = StatusRules.build("delivered", None)
    again = rig.client.check_statuses([A, B, UNKNOWN], rules, known={A: "delivered", B: "queued"})
    # A was done: not asked again; B was not; the unknown ID is asked twice, backoff_seconds apart.
    assert sorted(rig.transport.asked) == [B, UNKNOWN, UNKNOWN]
    assert rig.waits == [2.5]
    assert again.statuses == {A: "delivered", B: "scheduled", UNKNOWN: "not_found"}
    assert again.failed == [UNKNOWN]


def test_an_id_not_found_once_is_found_by_the_second_question(routed) -> None:
    rig = routed(statuses={A: [refused("Message not found"), "queued"]}, backoff_seconds=2.5)
    check = rig.client.check_statuses([A], StatusRules.build("delivered", None))
    assert check.statuses == {A: "queued"} and check.waiting == [A]
    assert rig.transport.asked == [A, A] and rig.waits == [2.5]


def test_an_error_other_than_not_found_ends_the_round(routed) -> None:
    rig = routed(statuses={A: [(400, error(400, "bad"))], B: ["sent"]}, max_concurrency=1, max_attempts=1)
    with pytest.raises(CellcastBadRequestError) as raised:
        rig.client.check_statuses([A, B], StatusRules.build("delivered", None))
    assert raised.value.status_code == 400 and raised.value.message_id == A


def test_check_statuses_against_the_emulator(cellcast_emulator, emulated) -> None:
    delivered = cellcast_emulator.seed_message(status="delivered")["_id"]
    scheduled = cellcast_emulator.seed_message(status="scheduled", auto_advance=False)["_id"]
    rules = StatusRules.build("delivered", None)
    client = emulated(max_concurrency=4)
    check = client.check_statuses([delivered, scheduled], rules)
    assert check.statuses == {delivered: "delivered", scheduled: "scheduled"}
    assert (check.done, check.waiting, check.failed) == ([delivered], [scheduled], [])
    cellcast_emulator.clear_requests_log()
    again = client.check_statuses([delivered, scheduled, UNKNOWN], rules, known=check.statuses)
    asked = [entry["path"].rsplit("/", 1)[-1] for entry in cellcast_emulator.requests_log()]
    # Looked up concurrently (in any order); the delivered one was not asked about again; the
    # unknown one twice (not_found only when the second question says so again).
    assert sorted(asked) == sorted([scheduled, UNKNOWN, UNKNOWN])
    assert again.statuses[UNKNOWN] == "not_found" and again.failed == [UNKNOWN]


# -- status rounds by the page ---------------------------------------------------------------------------

DELIVERED = StatusRules.build("delivered", None)


def test_with_a_reference_a_round_lists_it_and_asks_only_for_ids_not_listed(routed) -> None:
    rig = routed(
        {REPORT_PATH: [page([item(A, status="delivered"), item(B, status="sent"), item("f" * 24)])]},
        statuses={C: ["queued"]},
    )
    check = rig.client.check_statuses([A, B, C], DELIVERED, reference="camp-7", from_date=date(2026, 11, 30))
    assert check.statuses == {A: "delivered", B: "sent", C: "queued"}
    assert (check.done, check.waiting) == ([A], [B, C])
    assert rig.transport.paths == [REPORT_PATH, f"{REPORT_PATH}/{C}"]  # one listing, one report
    assert rig.transport.requests[0].query == {
        "limit": "100", "fromDate": "2026-11-30", "customString": "camp-7", "page": "1",
    }  # fmt: skip


def test_rounds_by_the_page_cost_one_listing_each(routed) -> None:
    ids = [f"{n:024x}" for n in range(1, 251)]
    first = [page([item(mid, status="scheduled") for mid in ids[:100]], more=True),
             page([item(mid, status="scheduled") for mid in ids[100:200]], more=True),
             page([item(mid, status="scheduled") for mid in ids[200:]])]  # fmt: skip
    rig = routed({REPORT_PATH: first})
    one = rig.client.check_statuses(ids, DELIVERED, reference="camp-7")
    assert one.waiting == ids and rig.transport.paths == [REPORT_PATH] * 3  # 250 IDs: 3 requests
    rig.transport.routes[REPORT_PATH] = [page([item(mid, status="delivered") for mid in ids[:100]])]
    two = rig.client.check_statuses(ids[:100], DELIVERED, one.statuses, reference="camp-7")
    assert two.done == ids[:100] and rig.transport.paths == [REPORT_PATH] * 4
    # Every ID done: the next round asks nothing at all.
    three = rig.client.check_statuses(ids[:100], DELIVERED, two.statuses, reference="camp-7")
    assert three.finished and rig.transport.paths == [REPORT_PATH] * 4


def test_statuses_listed_for_this_round_are_not_asked_again(routed) -> None:
    rig = routed(statuses={B: ["sent"]})
    listed = {A: "scheduled"}
    check = rig.client.check_statuses([A, B], DELIVERED, known={A: "queued"}, listed=listed)
    assert check.statuses == {A: "scheduled", B: "sent"}  # the listed status wins over an older one
    assert rig.transport.asked == [B]
    # With a reference too: the listed IDs are not looked for in another listing.
    rig = routed()
    check = rig.client.check_statuses([A], DELIVERED, reference="camp-7", listed=listed)
    assert check.waiting == [A] and rig.transport.requests == []


def test_a_bad_reference_of_a_round_is_refused_before_any_request(routed) -> None:
    rig = routed()
    with pytest.raises(CellcastInputError, match="custom_string"):
        rig.client.check_statuses([A], DELIVERED, reference="camp 7")
    assert rig.transport.requests == []


def test_rounds_by_the_page_against_the_emulator(cellcast_emulator, emulated) -> None:
    listed = [cellcast_emulator.seed_message(status="delivered", custom_string="camp-7")["_id"] for _ in range(3)]
    alone = cellcast_emulator.seed_message(status="sent", auto_advance=False)["_id"]
    cellcast_emulator.clear_requests_log()
    check = emulated().check_statuses([*listed, alone], DELIVERED, reference="camp-7")
    assert check.done == listed and check.waiting == [alone]
    paths = [entry["path"] for entry in cellcast_emulator.requests_log()]
    assert paths == [REPORT_PATH, f"{REPORT_PATH}/{alone}"]
