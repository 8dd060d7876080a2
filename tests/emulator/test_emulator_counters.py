"""Request counters (``/_emulator/stats``): per path, per status, and the 429s of the rate limit."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import requests
from emulator_helpers import CANCEL, REPORT, SEND, VERIFY, Api

from airflow_provider_cellcast.emulator.server import CellcastEmulator
from airflow_provider_cellcast.emulator.state import JOURNAL_SIZE, REPORT_PATH_KEY, EmulatorConfig, EmulatorState


def test_counts_requests_per_path_and_answers_per_status(api: Api, emulator: CellcastEmulator) -> None:
    ids = emulator.schedule_campaign(contacts=["61400000001", "61400000002", "61400000003"], custom_string="ref-1")
    for message_id in ids:
        assert api.cancel(message_id).json()["status"] is True
    assert api.cancel(ids[0]).json()["status"] is False  # already cancelled: HTTP 200, status false
    api.report(ids[0])
    api.report(ids[1])
    api.get(REPORT, params={"customString": "ref-1"})
    assert requests.get(api.url(VERIFY), headers={"Authorization": "Bearer wrong-token"}, timeout=5).status_code == 401

    assert emulator.request_count(CANCEL) == 4
    assert emulator.request_count(SEND) == 1
    assert emulator.request_count(REPORT_PATH_KEY) == 2
    assert emulator.request_count(REPORT) == 1
    assert emulator.request_count(VERIFY) == 1
    assert emulator.request_count("/api/never/called") == 0
    assert (emulator.status_count(200), emulator.status_count(401), emulator.status_count(429)) == (8, 1, 0)
    assert emulator.stats() == {
        "requests": 9,
        "by_path": {CANCEL: 4, SEND: 1, REPORT: 1, REPORT_PATH_KEY: 2, VERIFY: 1},
        "by_status": {"200": 8, "401": 1},
        "rate_limited": 0,
        "in_flight": 0,
        "peak_in_flight": 1,  # one request after another
    }


def test_control_plane_requests_are_not_counted_and_reset_zeroes(api: Api, emulator: CellcastEmulator) -> None:
    api.get(VERIFY)
    emulator.messages()
    emulator.faults()
    assert emulator.stats()["requests"] == 1
    emulator.clear_requests_log()
    assert emulator.request_count(VERIFY) == 1, "the counters outlive the journal"
    emulator.clear_stats()
    assert emulator.stats() == {
        "requests": 0,
        "by_path": {},
        "by_status": {},
        "rate_limited": 0,
        "in_flight": 0,
        "peak_in_flight": 0,
    }
    api.get(VERIFY)
    emulator.reset()
    assert emulator.stats()["requests"] == 0


def test_rate_limited_count_is_the_429s_of_the_limit_not_injected_ones(api: Api, emulator: CellcastEmulator) -> None:
    emulator.configure(rate_limit_per_second=3)
    answers = [api.get(VERIFY).status_code for _ in range(8)]
    refused = answers.count(429)
    assert refused >= 1 and answers[:3] == [200, 200, 200]
    assert emulator.rate_limited_count() == emulator.status_count(429) == refused
    emulator.configure(rate_limit_per_second=None)
    emulator.inject_fault("status", status=429, path=VERIFY)
    assert api.get(VERIFY).status_code == 429
    assert emulator.status_count(429) == refused + 1
    assert emulator.rate_limited_count() == refused


def test_concurrent_cancels_are_each_counted_once(api: Api, emulator: CellcastEmulator) -> None:
    ids = emulator.schedule_campaign(contacts=[f"614{n:08d}" for n in range(400)], custom_string="bulk")
    sessions = [Api(emulator) for _ in range(8)]
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(lambda i: sessions[i % 8].cancel(ids[i]).json()["status"], range(400)))
    finally:
        for session in sessions:
            session.session.close()
    assert answers == [True] * 400
    assert emulator.request_count(CANCEL) == 400
    assert (emulator.status_count(200), emulator.rate_limited_count()) == (401, 0)
    assert {m["status"] for m in emulator.messages()} == {"canceled"}


def test_counters_keep_counting_past_the_journal_size() -> None:
    state = EmulatorState(EmulatorConfig())
    for _ in range(JOURNAL_SIZE + 5):
        epoch = state.record_request({"method": "POST", "path": CANCEL})
        state.record_answer(200, epoch)
    assert len(state.journal()) == JOURNAL_SIZE
    assert state.stats()["by_path"] == {CANCEL: JOURNAL_SIZE + 5}
    assert state.stats()["by_status"] == {"200": JOURNAL_SIZE + 5}


def test_an_answer_to_a_request_from_before_a_reset_is_not_counted() -> None:
    state = EmulatorState(EmulatorConfig())
    epoch = state.record_request({"method": "GET", "path": VERIFY})
    state.reset()
    assert (state.stats()["in_flight"], state.stats()["peak_in_flight"]) == (1, 1), "still being handled"
    state.record_answer(504, epoch)
    assert state.stats() == {
        "requests": 0,
        "by_path": {},
        "by_status": {},
        "rate_limited": 0,
        "in_flight": 0,
        "peak_in_flight": 1,
    }


def test_peak_in_flight_counts_requests_handled_at_once() -> None:
    state = EmulatorState(EmulatorConfig())
    first = state.record_request({"method": "GET", "path": VERIFY})
    second = state.record_request({"method": "GET", "path": VERIFY})
    state.record_answer(200, first)
    third = state.record_request({"method": "GET", "path": VERIFY})
    assert (state.stats()["in_flight"], state.stats()["peak_in_flight"]) == (2, 2)
    state.record_answer(None, second)  # a lost connection ends a request too
    state.record_answer(200, third)
    assert (state.stats()["in_flight"], state.stats()["peak_in_flight"]) == (0, 2)
    state.clear_stats()
    assert state.stats()["peak_in_flight"] == 0
