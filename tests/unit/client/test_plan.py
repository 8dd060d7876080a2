"""The plan of one API call (client/plan.py): paced attempts, deadlines, the retry policy, the envelope.

First the plan itself, stepped by hand (it is I/O-free: every effect is visible), then carried
out by the sync driver against a ScriptedTransport, with waits recorded instead of slept.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_cellcast.client import CellcastClient
from airflow_provider_cellcast.client.plan import CallContext, Pace, PauseAccount, Transmit, Wait, call
from airflow_provider_cellcast.client.wire import ApiRequest, HttpResponse
from airflow_provider_cellcast.envelope import Envelope
from airflow_provider_cellcast.exceptions import (
    CellcastAuthenticationError,
    CellcastBadRequestError,
    CellcastConnectionError,
    CellcastInvalidResponseError,
    CellcastRateLimitError,
    CellcastServerError,
    CellcastUnsuccessfulError,
)
from airflow_provider_cellcast.settings import CellcastSettings
from unit.scripted import ScriptedTransport, app, error, ok, to_response

TOKEN = "tok-plan-9b2f6d0c"
BASE = "https://api.cellcast.com"
NAME = "connection 'cc'"
MID = "675161d8a000000000000000"
LOOKUP = ApiRequest("GET", f"/api/v2/report/message/{MID}", what="status lookup", message_id=MID)
SEND = ApiRequest("POST", "/api/v1/gateway", json={"message": "hi"}, idempotent=False, what="SMS send")


def context(**settings: Any) -> CallContext:
    settings.setdefault("requests_per_second", 0)
    return CallContext(BASE, TOKEN, CellcastSettings(**settings), NAME)


def answer(status: int, document: Any = None, **headers: str) -> HttpResponse:
    return to_response(
        (status, app() if document is None else document, {k.replace("_", "-"): v for k, v in headers.items()})
    )


# -- the plan, stepped by hand ------------------------------------------------------------------------


def test_one_successful_attempt() -> None:
    plan = call(context(timeout=12), LOOKUP)
    assert isinstance(plan.send(None), Pace)  # the account's pace first
    transmit = plan.send(None)
    assert isinstance(transmit, Transmit)
    assert (transmit.request.method, transmit.request.url) == ("GET", f"{BASE}/api/v2/report/message/{MID}")
    assert transmit.request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert (transmit.deadline, transmit.what, transmit.message_id) == (12.0, "status lookup", MID)
    with pytest.raises(StopIteration) as done:
        plan.send(answer(200, app(True, "found", {"_id": MID})))
    assert done.value.value == Envelope(kind="app", message="found", data={"_id": MID})


def test_a_429_pauses_the_account_then_waits_retry_after() -> None:
    plan = call(context(), LOOKUP)
    plan.send(None)
    plan.send(None)
    assert plan.send(answer(429, error(429, "Too many"), retry_after="2")) == PauseAccount(2.0)
    assert plan.send(None) == Wait(2.0)
    assert isinstance(plan.send(None), Pace) and isinstance(plan.send(None), Transmit)
    with pytest.raises(StopIteration):
        plan.send(answer(200))


def test_a_503_waits_without_pausing_the_account() -> None:
    plan = call(context(), LOOKUP)
    plan.send(None)
    plan.send(None)
    assert plan.send(answer(503, b"", retry_after="1.5")) == Wait(1.5)


def test_a_send_never_connected_is_retried_a_send_whose_connection_broke_is_not() -> None:
    plan = call(context(backoff_seconds=0), SEND)
    plan.send(None)
    plan.send(None)
    assert plan.throw(CellcastConnectionError("refused", request_sent=False)) == Wait(0.0)
    plan.send(None)
    assert isinstance(plan.send(None), Transmit)
    lost = CellcastConnectionError("reset", request_sent=True)
    with pytest.raises(CellcastConnectionError) as raised:
        plan.throw(lost)
    assert raised.value is lost


def test_a_lookup_is_retried_after_a_broken_connection() -> None:
    plan = call(context(backoff_seconds=0), LOOKUP)
    plan.send(None)
    plan.send(None)
    assert plan.throw(CellcastConnectionError("reset", request_sent=True)) == Wait(0.0)


def test_a_401_names_the_connection_to_fix_and_keeps_its_details() -> None:
    plan = call(context(), LOOKUP)
    plan.send(None)
    plan.send(None)
    with pytest.raises(CellcastAuthenticationError) as raised:
        plan.send(answer(401, error(401, "Token expired")))
    text = str(raised.value)
    assert "Check the API token in the password field of connection 'cc'" in text and "Token expired" in text
    assert (raised.value.status_code, raised.value.api_message, raised.value.message_id) == (401, "Token expired", MID)
    assert TOKEN not in text


def test_the_attempt_deadline_shrinks_to_what_is_left_of_the_call_budget() -> None:
    plan = call(context(timeout=4, call_timeout=10, max_retry_seconds=60, max_attempts=10), LOOKUP)
    deadlines = []
    effect = plan.send(None)
    while True:
        if isinstance(effect, Transmit):
            deadlines.append(effect.deadline)
            try:
                effect = plan.send(answer(429, b"", retry_after="3"))
            except CellcastRateLimitError:
                break
        else:
            effect = plan.send(None)
    # 0, 3, 6 and 9 s of the 10 s budget spent before the attempts: the last one gets 1 s.
    assert deadlines == pytest.approx([4.0, 4.0, 4.0, 1.0], abs=0.05)


# -- carried out by the sync driver ---------------------------------------------------------------------


@pytest.fixture
def client() -> Callable[..., tuple[CellcastClient, ScriptedTransport, list[float]]]:
    def make(*answers: Any, **settings: Any) -> tuple[CellcastClient, ScriptedTransport, list[float]]:
        settings.setdefault("requests_per_second", 0)
        transport = ScriptedTransport(*answers)
        waits: list[float] = []
        made = CellcastClient(
            TOKEN, settings=CellcastSettings(**settings), transport=transport, sleep=waits.append, name=NAME
        )
        return made, transport, waits

    return make


def test_429_retried_honouring_retry_after_and_pausing_the_pacer(client) -> None:
    made, transport, waits = client((429, error(429, "Too many"), {"Retry-After": "2"}), ok())
    assert made.request(LOOKUP).kind == "app"
    assert len(transport.requests) == 2
    # The retry waits 2 s; the pacer then holds every request of the client until the pause ends
    # (the recorder does not move the clock, so the pause is still ahead: slightly under 2 s).
    assert waits[0] == 2.0
    assert len(waits) == 2 and 1.0 < waits[1] <= 2.0


def test_retry_after_capped_by_max_backoff(client) -> None:
    made, transport, waits = client((503, b"", {"Retry-After": "3600"}), ok(), max_backoff_seconds=4)
    made.request(LOOKUP)
    assert waits == [4.0] and len(transport.requests) == 2


@pytest.mark.parametrize("status", [502, 503, 504])
def test_transient_5xx_retried_until_attempts_run_out(client, status: int) -> None:
    html = (status, b"<html>bad gateway</html>", {"Content-Type": "text/html"})
    made, transport, waits = client(*[html] * 3, max_attempts=3, backoff_seconds=0.5)
    with pytest.raises(CellcastServerError) as caught:
        made.request(LOOKUP)
    assert caught.value.status_code == status and len(transport.requests) == 3
    assert len(waits) == 2 and 0.5 <= waits[0] <= 1.0 and 1.0 <= waits[1] <= 1.5


@pytest.mark.parametrize(
    ("answer_", "error_class"),
    [
        ((500, error(500, "boom")), CellcastServerError),
        ((400, error(400, "messageId is required")), CellcastBadRequestError),
        ((401, error(401, "Token expired")), CellcastAuthenticationError),
        ((403, error(403, "Forbidden")), CellcastAuthenticationError),
        ((200, app(False, "No")), CellcastUnsuccessfulError),
        ((200, b"<html>portal</html>"), CellcastInvalidResponseError),
        ((302, b"", {"Location": "https://login.example.test/"}), CellcastInvalidResponseError),
    ],
)
def test_permanent_faults_fail_at_once(client, answer_: Any, error_class: type[Exception]) -> None:
    made, transport, waits = client(answer_, ok())
    with pytest.raises(error_class) as caught:
        made.request(LOOKUP)
    assert len(transport.requests) == 1 and waits == []
    assert TOKEN not in str(caught.value)
    assert "APIError" not in str(caught.value)  # the error envelope's stack


def test_total_wait_is_capped(client) -> None:
    made, transport, waits = client(*[(429, b"", {"Retry-After": "10"})] * 10, max_attempts=10, max_retry_seconds=25)
    with pytest.raises(CellcastRateLimitError):
        made.request(LOOKUP)
    # Two waits of 10 s fit in 25 s, a third would not: three attempts, not ten. Each 429 pause
    # is recorded twice (the retry's wait, then the pacer holding the next request).
    assert len(transport.requests) == 3
    retry_waits, pacer_waits = waits[0::2], waits[1::2]
    assert retry_waits == [10.0, 10.0]
    assert len(pacer_waits) == 2 and all(9.0 < wait <= 10.0 for wait in pacer_waits)


def test_a_lookup_is_retried_after_a_timeout(client) -> None:
    timeout = CellcastConnectionError("sent no complete answer within the attempt deadline", request_sent=True)
    made, transport, _ = client(timeout, ok(), backoff_seconds=0)
    assert made.request(LOOKUP).kind == "app" and len(transport.requests) == 2


def test_every_attempt_is_recorded_with_its_deadline(client) -> None:
    made, transport, _ = client((503, b""), ok(), timeout=12, backoff_seconds=0)
    made.request(LOOKUP)
    assert transport.deadlines == pytest.approx([12.0, 12.0], abs=0.05)
    assert {sent.header("Authorization") for sent in transport.requests} == {f"Bearer {TOKEN}"}


def test_auth_never_leaks(client, caplog: pytest.LogCaptureFixture) -> None:
    made, _, _ = client((429, b"", {"Retry-After": "0"}), (401, error(401, "Token expired")), backoff_seconds=0)
    with caplog.at_level(logging.DEBUG), pytest.raises(CellcastAuthenticationError) as raised:
        made.request(LOOKUP)
    assert TOKEN not in str(raised.value) and TOKEN not in repr(raised.value.args)
    assert TOKEN not in repr(made.context) and TOKEN not in caplog.text
    assert "attempt 1 of 5 failed" in caplog.text  # the retry was logged, without the token
