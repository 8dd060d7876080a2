"""The message list (``GET /api/v2/report/message``): filters and pages over a campaign of 250.

What "cancel every scheduled message of a reference" builds on: list ``status=scheduled`` and
``customString=<reference>`` page by page until ``hasNextPage`` is false.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from emulator_helpers import REPORT, Api

from airflow_provider_cellcast.emulator.server import CellcastEmulator

REFERENCE = "campaign-2031-01"
CAMPAIGN_SIZE = 250
SENT_ON = datetime(2031, 1, 15, 12, 0, tzinfo=timezone.utc)


def _numbers(start: int, count: int) -> list[str]:
    return [f"614{n:08d}" for n in range(start, start + count)]


def _page(api: Api, **params: Any) -> dict[str, Any]:
    response = api.get(REPORT, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] is True
    data: dict[str, Any] = body["data"]
    return data


def _every_page(api: Api, **params: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Follow ``nextPage`` from page 1; return every item and every page's data."""
    items: list[dict[str, Any]] = []
    pages: list[dict[str, Any]] = []
    page: int | None = 1
    while page is not None:
        data = _page(api, page=page, **params)
        pages.append(data)
        items.extend(data["items"])
        page = data["nextPage"]
        assert len(pages) <= 100, "paging does not end"
    return items, pages


@pytest.fixture
def campaign(emulator: CellcastEmulator) -> dict[str, list[str]]:
    """250 scheduled messages of REFERENCE (5 then cancelled), 20 sent at once with it, 30 of another."""
    emulator.state.set_clock(SENT_ON)
    scheduled = emulator.schedule_campaign(contacts=_numbers(1, CAMPAIGN_SIZE), custom_string=REFERENCE)
    sent = emulator.schedule_campaign(contacts=_numbers(1001, 20), custom_string=REFERENCE, delay_ms=0)
    other = emulator.schedule_campaign(contacts=_numbers(2001, 30), custom_string="campaign-2031-02")
    for message_id in scheduled[:5]:
        emulator.state.cancel(message_id, "sms")
    return {"scheduled": scheduled, "sent": sent, "other": other}


def test_campaign_ids_come_back_one_per_contact_with_the_reference(
    emulator: CellcastEmulator, campaign: dict[str, list[str]]
) -> None:
    assert len(set(campaign["scheduled"])) == CAMPAIGN_SIZE
    stored = emulator.message(campaign["scheduled"][-1])
    assert (stored["customString"], stored["status"]) == (REFERENCE, "scheduled")


@pytest.mark.parametrize("limit", [1000, 100, 7])
def test_scheduled_messages_of_a_reference_page_completely(
    api: Api, campaign: dict[str, list[str]], limit: int
) -> None:
    expected = set(campaign["scheduled"][5:])
    items, pages = _every_page(api, status="scheduled", customString=REFERENCE, limit=limit)
    ids = [item["_id"] for item in items]
    assert len(ids) == len(set(ids)) == len(expected)
    assert set(ids) == expected
    assert all(item["status"] == "scheduled" and item["customString"] == REFERENCE for item in items)
    total_pages = -(-len(expected) // limit)
    assert len(pages) == total_pages
    for number, data in enumerate(pages, start=1):
        assert (data["current"], data["limit"], data["total"], data["totalPages"]) == (
            number,
            limit,
            len(expected),
            total_pages,
        )
        assert "page" not in data
        assert data["pagingCounter"] == (number - 1) * limit + 1
        assert data["hasPrevPage"] is (number > 1)
        assert data["prevPage"] == (number - 1 if number > 1 else None)
        assert data["hasNextPage"] is (number < total_pages)
        assert data["nextPage"] == (number + 1 if number < total_pages else None)
        assert len(data["items"]) == (limit if number < total_pages else len(expected) - limit * (total_pages - 1))


def test_status_filter_accepts_the_delievered_spelling_with_a_reference(
    api: Api, emulator: CellcastEmulator, campaign: dict[str, list[str]]
) -> None:
    emulator.advance_clock(5)  # past the delivery delay: the 20 sent at once are delivered
    delivered = {item["_id"] for item in _every_page(api, status="delivered", customString=REFERENCE, limit=6)[0]}
    misspelt, pages = _every_page(api, status="delievered", customString=REFERENCE, limit=6)
    assert {item["_id"] for item in misspelt} == delivered == set(campaign["sent"])
    assert [len(p["items"]) for p in pages] == [6, 6, 6, 2]
    cancelled = _page(api, status="canceled", customString=REFERENCE, limit=50)
    assert {item["_id"] for item in cancelled["items"]} == set(campaign["scheduled"][:5])
    everything = _page(api, customString=REFERENCE, limit=1)
    assert (everything["total"], everything["totalPages"]) == (CAMPAIGN_SIZE + 20, CAMPAIGN_SIZE + 20)


def test_custom_string_matches_exactly(api: Api, emulator: CellcastEmulator) -> None:
    [exact] = emulator.schedule_campaign(contacts=["61400000001"], custom_string="ref-A")
    for near in ("ref-AB", "REF-A", "ref-A-", "ref"):
        emulator.schedule_campaign(contacts=["61400000002"], custom_string=near)
    emulator.schedule_campaign(contacts=["61400000003"])  # no reference at all
    assert [item["_id"] for item in _page(api, customString="ref-A")["items"]] == [exact]
    assert _page(api, customString="ref-a")["total"] == 0
    # An empty reference is not "no filter": it never selects every message.
    assert _page(api, customString="")["total"] == 0
    assert _page(api)["total"] == 6


def test_other_filters_combine_with_the_reference(api: Api, campaign: dict[str, list[str]]) -> None:
    assert _page(api, customString=REFERENCE, campType="mms")["total"] == 0
    assert _page(api, customString=REFERENCE, campType="sms", status="scheduled")["total"] == CAMPAIGN_SIZE - 5
    day = SENT_ON.date().isoformat()
    assert _page(api, customString=REFERENCE, fromDate=day, toDate=day)["total"] == CAMPAIGN_SIZE + 20
    assert _page(api, customString=REFERENCE, toDate="2031-01-14")["total"] == 0
    assert _page(api, customString=REFERENCE, fromDate="2031-01-16")["total"] == 0


def test_a_page_past_the_last_is_empty(api: Api, campaign: dict[str, list[str]]) -> None:
    data = _page(api, customString=REFERENCE, status="scheduled", limit=100, page=4)
    assert (data["items"], data["total"], data["totalPages"], data["hasNextPage"], data["nextPage"]) == (
        [],
        CAMPAIGN_SIZE - 5,
        3,
        False,
        None,
    )
    # As mongoose answers a page past the last: it still points back to the page before it.
    assert (data["current"], data["pagingCounter"], data["hasPrevPage"], data["prevPage"]) == (4, 301, True, 3)


def test_pages_are_stable_newest_first_within_one_send(api: Api, campaign: dict[str, list[str]]) -> None:
    # One send gives every message the same creation time: the order must still be total.
    first = [item["_id"] for item in _page(api, customString="campaign-2031-02", limit=10)["items"]]
    again = [item["_id"] for item in _page(api, customString="campaign-2031-02", limit=10)["items"]]
    assert first == again == list(reversed(campaign["other"]))[:10]
