"""Reading what Cellcast knows (client/reports.py): one message, lists by reference, status rounds."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_cellcast.exceptions import (
    CellcastBadRequestError,
    CellcastInputError,
    CellcastInvalidResponseError,
    CellcastMessageNotFoundError,
    CellcastServerError,
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
    rig = routed(statuses={A: ["delivered"], B: ["scheduled"], UNKNOWN: [refused("Message not found")]})
    rules = StatusRules.build("delivered", None)
    again = rig.client.check_statuses([A, B, UNKNOWN], rules, known={A: "delivered", B: "queued"})
    assert sorted(rig.transport.asked) == [B, UNKNOWN]  # A was done: not asked again; B was not
    assert again.statuses == {A: "delivered", B: "scheduled", UNKNOWN: "not_found"}
    assert again.failed == [UNKNOWN]


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
    # Looked up concurrently (in any order); the delivered one was not asked about again.
    assert sorted(asked) == sorted([scheduled, UNKNOWN])
    assert again.statuses[UNKNOWN] == "not_found" and again.failed == [UNKNOWN]
