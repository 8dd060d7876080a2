"""Each fault kind does what it promises, over real HTTP."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import pytest
import requests
from emulator_helpers import CANCEL, REPORT, SEND, VERIFY, Api

from airflow_provider_cellcast.emulator.client import EmulatorClientError
from airflow_provider_cellcast.emulator.envelopes import APP_ENVELOPE_KEYS, ERROR_ENVELOPE_KEYS
from airflow_provider_cellcast.emulator.server import CellcastEmulator

DOC_ID = "675161d8a000000000000000"


def test_status_fault_answers_an_error_envelope_with_retry_after(api: Api, emulator: CellcastEmulator) -> None:
    emulator.inject_fault("status", status=503, retry_after=7)
    response = api.get(VERIFY)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "7"
    body = response.json()
    assert set(body) == ERROR_ENVELOPE_KEYS
    assert (body["code"], body["message"]) == (503, "Service Unavailable")
    # count defaults to 1: the next request is served normally.
    assert api.get(VERIFY).status_code == 200


def test_status_fault_retry_after_as_http_date(api: Api, emulator: CellcastEmulator) -> None:
    when = datetime(2031, 1, 1, 12, 0, tzinfo=timezone.utc)
    emulator.inject_fault("status", status=429, retry_after=when, message="Too many requests")
    response = api.get(VERIFY)
    assert response.status_code == 429
    assert parsedate_to_datetime(response.headers["Retry-After"]) == when
    assert response.json()["message"] == "Too many requests"
    emulator.inject_fault("status", status=503, retry_after="Wed, 01 Jan 2031 12:00:00 GMT")
    assert api.get(VERIFY).headers["Retry-After"] == "Wed, 01 Jan 2031 12:00:00 GMT"


def test_count_applies_to_the_next_n_matching_requests(api: Api, emulator: CellcastEmulator) -> None:
    emulator.inject_fault("status", status=500, count=2, path=VERIFY)
    assert api.get(f"{REPORT}/{DOC_ID}").status_code == 200  # another path: untouched
    assert [api.get(VERIFY).status_code for _ in range(3)] == [500, 500, 200]
    assert emulator.faults() == []


def test_path_patterns_and_methods(api: Api, emulator: CellcastEmulator) -> None:
    emulator.inject_fault("status", status=502, path=f"{REPORT}/*", method="GET", count=None)
    assert api.get(f"{REPORT}/{DOC_ID}").status_code == 502
    assert api.get(f"{REPORT}/{'1' * 24}").status_code == 502
    assert api.get(REPORT).status_code == 200
    assert len(emulator.faults()) == 1
    emulator.clear_faults()
    assert api.get(f"{REPORT}/{DOC_ID}").status_code == 200


def test_message_fault_applies_to_every_request_about_that_message(api: Api, emulator: CellcastEmulator) -> None:
    target = emulator.seed_message(status="scheduled")["_id"]
    other = emulator.seed_message(status="scheduled")["_id"]
    emulator.inject_fault("status", status=503, message_id=target)
    for _ in range(2):
        assert api.cancel(target).status_code == 503
        assert api.report(target).status_code == 503
    assert api.cancel(other).json()["status"] is True
    # The failed cancels were never applied.
    assert emulator.message(target)["status"] == "scheduled"


def test_message_fault_with_a_count_then_recovers(api: Api, emulator: CellcastEmulator) -> None:
    target = emulator.seed_message(status="scheduled")["_id"]
    emulator.inject_fault("status", status=503, message_id=target, count=1, path=CANCEL)
    assert api.cancel(target).status_code == 503
    assert api.cancel(target).json()["status"] is True


def test_status_fault_after_the_request_was_applied(api: Api, emulator: CellcastEmulator) -> None:
    target = emulator.seed_message(status="scheduled")["_id"]
    emulator.inject_fault("status", status=500, message_id=target, when="after", count=1)
    assert api.cancel(target).status_code == 500
    assert emulator.message(target)["status"] == "canceled"
    assert api.cancel(target).json()["status"] is False


def test_latency_fault_delays_one_answer(api: Api, emulator: CellcastEmulator) -> None:
    emulator.inject_fault("latency", latency_ms=300, path=VERIFY)
    started = time.perf_counter()
    assert api.get(VERIFY).status_code == 200
    assert time.perf_counter() - started >= 0.3
    started = time.perf_counter()
    api.get(VERIFY)
    assert time.perf_counter() - started < 0.3


def test_hang_fault_makes_the_client_time_out(api: Api, emulator: CellcastEmulator) -> None:
    target = emulator.seed_message(status="scheduled")["_id"]
    emulator.inject_fault("hang", hang_seconds=2, path=CANCEL)
    started = time.perf_counter()
    with pytest.raises(requests.exceptions.ReadTimeout):
        api.post(CANCEL, {"messageId": target, "type": "sms"}, timeout=0.5)
    assert time.perf_counter() - started < 1.5
    # A hang before the request is applied leaves the state alone.
    assert emulator.message(target)["status"] == "scheduled"
    # Other requests are served meanwhile: the hang holds no thread.
    assert api.get(VERIFY).status_code == 200


def test_short_hang_before_ends_in_a_504(api: Api, emulator: CellcastEmulator) -> None:
    emulator.inject_fault("hang", hang_seconds=0.1)
    response = api.get(VERIFY)
    assert response.status_code == 504
    assert set(response.json()) == ERROR_ENVELOPE_KEYS


def test_hang_after_applying_the_send(api: Api, emulator: CellcastEmulator) -> None:
    emulator.inject_fault("hang", hang_seconds=2, path=SEND, when="after")
    with pytest.raises(requests.exceptions.ReadTimeout):
        api.post(SEND, {"message": "Hi", "contacts": ["61400000001"], "delay": 60_000}, timeout=0.5)
    [stored] = emulator.messages()
    assert stored["status"] == "scheduled"


def test_drop_on_send_loses_the_answer_but_keeps_the_send(api: Api, emulator: CellcastEmulator) -> None:
    emulator.inject_fault("drop", path=SEND)
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)):
        api.send(["61400000001", "61400000002"], delay=60_000)
    stored = emulator.messages()
    assert len(stored) == 2
    assert {m["status"] for m in stored} == {"scheduled"}
    [entry] = [e for e in emulator.requests_log() if e["path"] == SEND]
    assert entry["fault"] == "drop"
    # The connection is gone but the server is fine.
    assert api.get(VERIFY).status_code == 200


def test_drop_before_applying(api: Api, emulator: CellcastEmulator) -> None:
    target = emulator.seed_message(status="scheduled")["_id"]
    emulator.inject_fault("drop", message_id=target, when="before", count=1)
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)):
        api.cancel(target)
    assert emulator.message(target)["status"] == "scheduled"


def test_html_fault_is_a_proxy_page(api: Api, emulator: CellcastEmulator) -> None:
    emulator.inject_fault("html")
    response = api.get(VERIFY)
    assert response.status_code == 502
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.text.startswith("<html>") and "502 Bad Gateway" in response.text
    with pytest.raises(ValueError):
        response.json()


def test_empty_fault(api: Api, emulator: CellcastEmulator) -> None:
    emulator.inject_fault("empty", status=503, retry_after=1)
    response = api.get(VERIFY)
    assert (response.status_code, response.content, response.headers["Retry-After"]) == (503, b"", "1")


def test_malformed_fault_is_invalid_json_with_200(api: Api, emulator: CellcastEmulator) -> None:
    emulator.inject_fault("malformed")
    response = api.get(VERIFY)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    with pytest.raises(ValueError):
        response.json()


def test_unexpected_json_fault(api: Api, emulator: CellcastEmulator) -> None:
    emulator.inject_fault("unexpected_json")
    emulator.inject_fault("unexpected_json", body=[1, 2, 3])
    assert api.get(VERIFY).json() == {"foo": 1}
    assert api.get(VERIFY).json() == [1, 2, 3]


def test_app_status_false_fault(api: Api, emulator: CellcastEmulator) -> None:
    target = emulator.seed_message(status="scheduled")["_id"]
    emulator.inject_fault("app_status_false", message_id=target, message="Temporarily unavailable", count=1)
    response = api.cancel(target)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == APP_ENVELOPE_KEYS
    assert (body["status"], body["message"]) == (False, "Temporarily unavailable")
    assert emulator.message(target)["status"] == "scheduled"


def test_faults_apply_before_authentication(emulator: CellcastEmulator) -> None:
    emulator.inject_fault("html")
    assert requests.get(f"{emulator.url}{VERIFY}", timeout=5).status_code == 502


def test_control_plane_is_never_faulted(emulator: CellcastEmulator) -> None:
    emulator.inject_fault("status", status=500, count=None)
    assert requests.get(f"{emulator.url}/_emulator/health", timeout=5).json() == {"status": "ok"}


@pytest.mark.parametrize(
    ("kind", "options"),
    [
        ("explode", {}),
        ("status", {"status": 42}),
        ("status", {"count": 0}),
        ("latency", {}),
        ("hang", {"when": "later"}),
        ("status", {"message_id": "nope"}),
    ],
)
def test_bad_fault_specs_are_refused(emulator: CellcastEmulator, kind: str, options: dict[str, object]) -> None:
    with pytest.raises(EmulatorClientError) as raised:
        emulator.inject_fault(kind, **options)  # type: ignore[arg-type]
    assert raised.value.status_code == 400
