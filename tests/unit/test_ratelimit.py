"""RequestPacer: even spacing, shared 429 pauses; driven by a fake clock, no real waiting."""

from __future__ import annotations

import itertools
import threading

from airflow_provider_cellcast.ratelimit import RequestPacer


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
    pacer = RequestPacer(40, clock=time.clock, sleep=time.sleep)
    sent_at = []
    for _ in range(200):
        pacer.acquire()
        sent_at.append(time.now)
    gaps = {round(b - a, 6) for a, b in itertools.pairwise(sent_at)}
    assert gaps == {0.025}
    assert round(sent_at[-1] - sent_at[0], 6) == round(199 / 40, 6)


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
    pacer = RequestPacer(10, clock=time.clock, sleep=lambda seconds: slots.append(seconds))
    threads = [threading.Thread(target=pacer.acquire) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Time stands still, so each thread's delay is its slot: all distinct, 0.1 s apart.
    assert sorted(round(s, 6) for s in slots) == [round(0.1 * i, 6) for i in range(1, 20)]
