"""Inbound replies: fingerprints, the order read from a page, the cursor, and what each read costs.

Pure logic is tested directly; the plans run through a real ``CellcastClient`` whose transport is
a scripted Cellcast (``unit.scripted_inbox``), so the requests counted are the ones a real driver
would send.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from airflow_provider_cellcast.client.reply_cursor import (
    MIXED,
    NEWEST_FIRST,
    OLDEST_FIRST,
    ReplyCursor,
    detect_order,
    fingerprint,
    new_in_multiset,
    pick_order,
    read_reply,
    resume_index,
    utc_time,
)
from airflow_provider_cellcast.contacts import comparable_number
from airflow_provider_cellcast.exceptions import CellcastInputError, CellcastInvalidResponseError
from airflow_provider_cellcast.reply_filter import compile_pattern, contact_keys, masked, select
from unit.scripted_inbox import ScriptedCellcast, meta, reply, scripted_client

START = datetime(2031, 1, 15, 9, 0, 0)


def at(minutes: int) -> str:
    """A ``received_at`` as Cellcast's emulator writes it: local time, no offset."""
    return (START + timedelta(minutes=minutes)).strftime("%Y-%m-%d %H:%M:%S")


def inbox(count: int, order: str = "newest-first") -> ScriptedCellcast:
    cellcast = ScriptedCellcast(order=order)
    for index in range(count):
        cellcast.add(f"614000{index:05d}", f"old {index}", at(index))
    return cellcast


# -- pure logic ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw", ["0400 000 951", "+61400000951", "61400000951", "400000951", "(04) 0000 0951", "+61 (0)400 000 951"]
)
def test_numbers_compare_in_one_form(raw: str) -> None:
    assert comparable_number(raw) == "61400000951"


def test_other_numbers_and_alpha_senders_still_match_themselves() -> None:
    assert comparable_number("+1 555 123 4567") == "15551234567"
    assert comparable_number("ACME") == "ACME"


def test_a_reply_keeps_its_raw_time_and_gets_utc_only_from_an_offset() -> None:
    local = read_reply(reply("+61 400 000 951", "YES", "2031-01-15 23:00:00"))
    assert (local["from"], local["received_at"], local["received_at_utc"], local["message_id"]) == (
        "61400000951", "2031-01-15 23:00:00", None, None,
    )  # fmt: skip
    assert utc_time("2031-01-15T12:00:00.000Z") == "2031-01-15T12:00:00+00:00"
    assert utc_time("2031-01-15T23:00:00+11:00") == "2031-01-15T12:00:00+00:00"
    assert utc_time("2031-01-15T23:00:00+1100") == "2031-01-15T12:00:00+00:00"
    assert utc_time("yesterday") is None and utc_time(None) is None
    assert read_reply(reply("61400000951", "YES", "", "675161d8a000000000000000"))["message_id"] == (
        "675161d8a000000000000000"
    )


def test_the_fingerprint_is_number_body_and_raw_time() -> None:
    one = read_reply(reply("0400000951", "YES", at(0)))
    assert one["fingerprint"] == read_reply(reply("+61400000951", "YES", at(0)))["fingerprint"]
    assert one["fingerprint"] == fingerprint("61400000951", "YES", at(0))
    assert one["fingerprint"] != fingerprint("61400000951", "YES ", at(0))
    assert one["fingerprint"] != fingerprint("61400000951", "YES", at(1))
    assert one["fingerprint"] != fingerprint("61400000952", "YES", at(0))


def test_order_is_read_from_neighbouring_times_whatever_their_zone() -> None:
    rows = [read_reply(reply("61400000001", "x", at(minute))) for minute in (5, 3, 3, 1)]
    assert detect_order(rows) == NEWEST_FIRST
    assert detect_order(list(reversed(rows))) == OLDEST_FIRST
    assert detect_order(rows[1:3]) is None  # equal times say nothing
    assert detect_order([rows[0], rows[3], rows[1]]) == MIXED
    assert pick_order(MIXED, NEWEST_FIRST) == NEWEST_FIRST  # a daylight-saving page keeps the known order
    assert pick_order(OLDEST_FIRST, NEWEST_FIRST) == OLDEST_FIRST
    assert pick_order(None, None) is None


def test_where_the_remembered_list_resumes() -> None:
    top = ["a", "b", "c"]
    assert resume_index(["a", "b", "c", "d"], top, complete=False) == (0, False)
    assert resume_index(["n", "a", "b", "c"], top, complete=False) == (1, False)
    assert resume_index(["n", "m", "a", "b"], top, complete=False) == (None, True)  # read on to be sure
    assert resume_index(["n", "m", "a", "b"], top, complete=True) == (2, False)  # the list ends there
    assert resume_index(["a", "a", "b", "c"], top, complete=True) == (1, False)  # a new "a" before the old one
    assert resume_index(["x", "y"], top, complete=True) == (None, False)
    assert resume_index(["x", "y"], top, complete=False) == (None, True)


def test_identical_replies_count_as_a_multiset() -> None:
    yes = read_reply(reply("61400000951", "YES", at(0)))
    other = read_reply(reply("61400000952", "no", at(0)))
    assert new_in_multiset([yes, yes, other], {yes["fingerprint"]: 1, other["fingerprint"]: 1}) == [yes]
    assert new_in_multiset([yes, other], {yes["fingerprint"]: 1, other["fingerprint"]: 1}) == []


def test_the_cursor_round_trips_as_json_and_refuses_anything_else() -> None:
    cursor = ReplyCursor(NEWEST_FIRST, ("a", "b"), {"a": 2, "b": 1})
    assert ReplyCursor.from_json(cursor.to_json()) == cursor
    assert ReplyCursor.from_json(ReplyCursor().to_json()) == ReplyCursor()
    broken_ones = [
        None, "x", {}, {"v": 2, "top": []}, {"v": 1, "order": "sideways", "top": []},
        {"v": 1, "order": None, "top": [1]}, {"v": 1, "order": None, "top": [], "seen": {"a": "1"}},
    ]  # fmt: skip
    for broken in broken_ones:
        assert ReplyCursor.from_json(broken) is None


def test_patterns_compile_or_name_the_field() -> None:
    assert compile_pattern(None) is None and compile_pattern("") is None
    regex = compile_pattern(r"(?i)^\s*yes\b")
    assert regex is not None and regex.search("  Yes please") and not regex.search("yesterday")
    with pytest.raises(CellcastInputError, match=r"pattern .* is not a valid regular expression"):
        compile_pattern("(unclosed")
    assert compile_pattern(re.compile("x")) is not None


def test_selection_by_contact_and_pattern_with_masked_numbers() -> None:
    keys = contact_keys(["0400 000 951", "+61400000952"])
    assert keys == {"61400000951": 0, "61400000952": 1}
    rows = [read_reply(reply(number, body, at(0))) for number, body in (
        ("61400000951", "YES"), ("61400000953", "YES"), ("61400000952", "no thanks"), ("61400000952", "yes!"),
    )]  # fmt: skip
    chosen = select(rows, keys, compile_pattern(r"(?i)^\s*yes\b"))
    assert [(r["body"], index) for r, index in chosen] == [("YES", 0), ("yes!", 1)]
    assert len(select(rows, None, None)) == 4
    shown = masked(chosen[1][0], chosen[1][1])
    assert shown["from"] == "********952" and shown["contact_index"] == 1
    with pytest.raises(CellcastInputError):
        contact_keys([])


# -- the plans and what they cost ---------------------------------------------------------------------


def test_a_snapshot_of_thousands_of_newest_first_replies_is_one_request() -> None:
    cellcast = inbox(5000)
    client = scripted_client(cellcast)
    cursor = client.reply_snapshot()
    assert cellcast.page_requests() == 1
    assert cursor.order == NEWEST_FIRST and len(cursor.top) == 5 and cursor.seen is None

    assert client.new_replies(cursor)[0] == []
    assert cellcast.page_requests() == 2  # nothing new: one page

    cellcast.add("0400000951", "YES", at(6000))
    cellcast.add("0400000951", "YES", at(6000))  # the same text twice in one second: two replies
    new, after = client.new_replies(cursor)
    assert [(r["from"], r["body"]) for r in new] == [("61400000951", "YES")] * 2
    assert cellcast.page_requests() == 3
    assert client.new_replies(after)[0] == []  # never twice


def test_many_new_replies_cost_one_more_page_per_twenty() -> None:
    cellcast = inbox(300)
    client = scripted_client(cellcast)
    cursor = client.reply_snapshot()
    for index in range(45):
        cellcast.add("61400000951", f"new {index}", at(1000 + index))
    before = cellcast.page_requests()
    new, _ = client.new_replies(cursor)
    assert [r["body"] for r in new] == [f"new {index}" for index in range(45)]  # oldest first
    assert cellcast.page_requests() - before == 3  # 45 new + the 5 remembered: pages 1-3 of 16


def test_oldest_first_reads_every_page_and_still_counts_right() -> None:
    cellcast = inbox(50, order="oldest-first")
    client = scripted_client(cellcast)
    cursor = client.reply_snapshot()
    assert cellcast.page_requests() == 3 and cursor.order == OLDEST_FIRST and cursor.seen is not None
    cellcast.add("61400000951", "YES", at(100))
    new, after = client.new_replies(cursor)
    assert [r["body"] for r in new] == ["YES"]
    assert cellcast.page_requests() == 6
    assert client.new_replies(after)[0] == []


def test_an_empty_inbox_then_replies_all_new_and_a_vanished_list_is_never_taken_for_new() -> None:
    cellcast = inbox(0)
    client = scripted_client(cellcast)
    cursor = client.reply_snapshot()
    assert cursor == ReplyCursor(None, (), {})
    cellcast.add("61400000951", "first", at(1))
    new, cursor = client.new_replies(cursor)
    assert [r["body"] for r in new] == ["first"]
    # Every remembered reply gone and the order unknown: nothing counts as new (never an old one).
    cellcast.replies = [reply("61400000777", f"other {i}", at(5)) for i in range(25)]
    new, after = client.new_replies(ReplyCursor(NEWEST_FIRST, ("gone",), None))
    assert new == []
    assert after.seen is not None and sum(after.seen.values()) == 25


def test_opt_outs_and_every_reply_page() -> None:
    cellcast = inbox(45)
    client = scripted_client(cellcast)
    assert len(list(client.get_replies())) == 45
    cellcast.answers = [
        (200, meta({"items": [{"number": "+61400000951", "first_name": "Ann"}], "hasNextPage": True})),
        (200, meta({"items": [{"number": "400000952"}], "hasNextPage": False})),
    ]
    assert [item["number"] for item in client.get_opt_outs()] == ["61400000951", "61400000952"]
    assert "size=100" in cellcast.requests[-1].url


def test_a_reply_page_without_items_is_an_invalid_answer() -> None:
    cellcast = ScriptedCellcast()
    client = scripted_client(cellcast)
    cellcast.answers = [(200, meta({"rows": []}))]
    with pytest.raises(CellcastInvalidResponseError, match="without an items list"):
        next(iter(client.get_opt_outs()))
