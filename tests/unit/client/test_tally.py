"""Progress lines of long loops (client/tally.py): Tally every 10 % or 30 s, grouped ID lists.

The clock is a fake one the test moves, and the log a recorder: what a line says, and when.
"""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_cellcast.client.tally import GROUP_SIZE, Tally, grouped


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Log:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, text: str, *args: Any) -> None:
        self.lines.append(text % args)


def tally(total: int, **kwargs: Any) -> tuple[Tally, Clock, Log]:
    clock, log = Clock(), Log()
    return Tally("cancel", total, log, clock=clock, **kwargs), clock, log


def test_a_line_every_ten_percent_with_rate_and_time_left() -> None:
    counter, clock, log = tally(100)
    for done in range(1, 101):
        clock.now += 0.1
        counter.add(failed=int(done % 25 == 0))
    assert len(log.lines) == 10
    assert log.lines[0] == (
        "Cellcast cancel: 10/100 message(s) done (10 %), 0 failed, 90 left, 10.0/s, about 9 s left"
    )
    assert log.lines[4] == "Cellcast cancel: 50/100 message(s) done (50 %), 2 failed, 50 left, 10.0/s, about 5 s left"
    assert log.lines[-1] == "Cellcast cancel: 100/100 message(s) done (100 %), 4 failed, 0 left, 10.0/s"


def test_a_line_every_thirty_seconds_between_the_steps() -> None:
    counter, clock, log = tally(1000)
    clock.now += 29.9
    counter.add()
    assert log.lines == []
    clock.now += 0.1  # 30 s since the start
    counter.add()
    assert log.lines == [
        "Cellcast cancel: 2/1,000 message(s) done (0 %), 0 failed, 998 left, 0.1/s, about 14970 s left"
    ]
    clock.now += 10
    counter.add()
    assert len(log.lines) == 1  # 10 s since the last line
    clock.now += 20
    counter.add()
    assert len(log.lines) == 2 and log.lines[1].startswith("Cellcast cancel: 4/1,000 message(s) done (0 %)")


def test_every_is_the_most_seconds_between_two_lines() -> None:
    counter, clock, log = tally(1000, every=5)
    clock.now += 5
    counter.add()
    assert len(log.lines) == 1


def test_a_batch_crossing_several_steps_logs_once_and_moves_the_next_step_past_it() -> None:
    counter, clock, log = tally(20_000)
    clock.now += 4
    counter.add(5_000, failed=3)
    assert log.lines == [
        "Cellcast cancel: 5,000/20,000 message(s) done (25 %), 3 failed, 15,000 left, 1250.0/s, about 12 s left"
    ]
    counter.add(900)  # 5,900: the next step is 6,000
    assert len(log.lines) == 1
    counter.add(100)
    assert len(log.lines) == 2 and log.lines[1].startswith("Cellcast cancel: 6,000/20,000")


def test_a_loop_of_one_item_logs_nothing_and_the_unit_is_named() -> None:
    counter, clock, log = tally(1)
    clock.now += 60
    counter.add()
    assert log.lines == []
    sends, clock, log = tally(1500, unit="contact(s)")
    sends.add(1000)
    assert log.lines[0].startswith("Cellcast cancel: 1,000/1,500 contact(s) done (66 %)")


def test_the_progress_text_of_an_empty_loop() -> None:
    counter, _, log = tally(0)
    assert counter.progress() == "Cellcast cancel: 0/0 message(s) done, 0 failed, 0 left, 0.0/s"
    assert log.lines == []


# -- grouped ---------------------------------------------------------------------------------------------


def test_ids_are_grouped_in_runs_of_at_most_100() -> None:
    ids = [f"id{n}" for n in range(250)]
    groups = list(grouped(ids))
    assert GROUP_SIZE == 100
    assert [(first, last, len(batch)) for first, last, batch in groups] == [
        (1, 100, 100), (101, 200, 100), (201, 250, 50),
    ]  # fmt: skip
    assert [item for _, _, batch in groups for item in batch] == ids


@pytest.mark.parametrize(("count", "expected"), [(0, []), (1, [(1, 1)]), (200, [(1, 100), (101, 200)])])
def test_groups_have_no_empty_tail(count: int, expected: list[tuple[int, int]]) -> None:
    assert [(first, last) for first, last, _ in grouped([str(n) for n in range(count)])] == expected


def test_any_iterable_and_size() -> None:
    assert list(grouped((f"id{n}" for n in range(5)), size=2)) == [
        (1, 2, ["id0", "id1"]), (3, 4, ["id2", "id3"]), (5, 5, ["id4"]),
    ]  # fmt: skip
