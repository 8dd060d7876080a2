"""RequestPacer: even spacing below the limit, shared 429 pauses; a fake clock, no real waiting."""

from __future__ import annotations

import itertools
import threading

import pytest

from airflow_provider_cellcast.ratelimit import DEFAULT_HEADROOM, RequestPacer


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.lock = threading.Lock()

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


def test_requests_are_spaced_evenly():
    time = FakeTime()
    pacer = RequestPacer(40, headroom=0, clock=time.clock, sleep=time.sleep)
    sent_at = []
    for _ in range(200):
        pacer.acquire()
        sent_at.append(time.now)
    gaps = {round(b - a, 6) for a, b in itertools.pairwise(sent_at)}
    assert gaps == {0.025}
    assert round(sent_at[-1] - sent_at[0], 6) == round(199 / 40, 6)


def test_default_headroom_keeps_every_window_under_the_limit():
    # Deliberate since the rate-limit benchmark: pacing at exactly the server's limit earned 429s
    # (arrival jitter), so the pacer keeps 10 % in reserve by default.
    assert DEFAULT_HEADROOM == 0.1
    time = FakeTime()
    pacer = RequestPacer(40, clock=time.clock, sleep=time.sleep)
    sent_at = []
    for _ in range(200):
        pacer.acquire()
        sent_at.append(time.now)
    gaps = {round(b - a, 6) for a, b in itertools.pairwise(sent_at)}
    assert gaps == {round(1 / 36, 6)}
    # Any 41 consecutive requests (one more than the limit) span 1/0.9 s: 111 ms of slack.
    assert min(sent_at[i + 40] - sent_at[i] for i in range(len(sent_at) - 40)) >= 1 / 0.9 - 1e-9


@pytest.mark.parametrize("headroom", [-0.1, 1, 1.5])
def test_headroom_out_of_range_is_refused(headroom):
    with pytest.raises(ValueError, match="headroom"):
        RequestPacer(10, headroom=headroom)


def test_no_pacing_when_disabled():
    time = FakeTime()
    pacer = RequestPacer(None, clock=time.clock, sleep=time.sleep)
    for _ in range(50):
        pacer.acquire()
    assert time.now == 100.0


def test_pause_holds_everybody_and_never_shortens():
    time = FakeTime()
    pacer = RequestPacer(0, clock=time.clock, sleep=time.sleep)
    pacer.pause(5)
    pacer.pause(2)
    pacer.acquire()
    assert time.now == 105.0
    pacer.acquire()
    assert time.now == 105.0


def test_slots_are_unique_across_threads():
    time = FakeTime()
    slots: list[float] = []
    pacer = RequestPacer(10, headroom=0, clock=time.clock, sleep=lambda seconds: slots.append(seconds))
    threads = [threading.Thread(target=pacer.acquire) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Time stands still, so each thread's delay is its slot: all distinct, 0.1 s apart.
    assert sorted(round(s, 6) for s in slots) == [round(0.1 * i, 6) for i in range(1, 20)]
