"""The one retry policy (client/retry.py): what is repeated, how long to wait, when to stop.

``is_transient`` is the matrix once held by the exceptions' ``transient`` flags; the policy's
waits and stops are checked on tenacity's controller directly, and end to end (through the plan
and a scripted transport) in ``test_plan.py``.
"""

from __future__ import annotations

import logging

import pytest
import tenacity

from airflow_provider_cellcast.client.retry import (
    MIN_ATTEMPT_SECONDS,
    TRANSIENT_SERVER_STATUSES,
    CallBudget,
    RetryPolicy,
    is_transient,
    last_error,
    pauses_account,
)
from airflow_provider_cellcast.envelope import parse_response
from airflow_provider_cellcast.exceptions import (
    CellcastAuthenticationError,
    CellcastBadRequestError,
    CellcastConfigurationError,
    CellcastConnectionError,
    CellcastError,
    CellcastInputError,
    CellcastInvalidResponseError,
    CellcastMessageNotFoundError,
    CellcastRateLimitError,
    CellcastRedirectError,
    CellcastSendConnectionLostError,
    CellcastServerError,
    CellcastUnsuccessfulError,
)
from airflow_provider_cellcast.ratelimit import CellcastSharedRateLimitError
from airflow_provider_cellcast.settings import CellcastSettings

LOG = logging.getLogger("test_retry")

# -- is_transient: which failed attempts may be repeated -------------------------------------------

#: (error, transient for an idempotent request, transient for a send)
MATRIX = [
    pytest.param(CellcastRateLimitError("429", status_code=429), True, True, id="429"),
    pytest.param(CellcastRateLimitError("429", status_code=429, retry_after=2.5), True, True, id="429-retry-after"),
    pytest.param(CellcastConnectionError("refused", request_sent=False), True, True, id="never-connected"),
    pytest.param(CellcastConnectionError("reset", request_sent=True), True, False, id="connection-lost"),
    pytest.param(CellcastServerError("502", status_code=502), True, False, id="502"),
    pytest.param(CellcastServerError("503", status_code=503), True, False, id="503"),
    pytest.param(CellcastServerError("504", status_code=504), True, False, id="504"),
    pytest.param(CellcastServerError("500", status_code=500), False, False, id="500"),
    pytest.param(CellcastServerError("501", status_code=501), False, False, id="501"),
    pytest.param(CellcastServerError("no status"), False, False, id="5xx-without-status"),
    pytest.param(CellcastAuthenticationError("401", status_code=401), False, False, id="401"),
    pytest.param(CellcastBadRequestError("400", status_code=400), False, False, id="400"),
    pytest.param(CellcastUnsuccessfulError("status false", status_code=200), False, False, id="status-false"),
    pytest.param(CellcastMessageNotFoundError("gone"), False, False, id="not-found"),
    pytest.param(CellcastInvalidResponseError("not json", status_code=200), False, False, id="unreadable"),
    pytest.param(CellcastRedirectError("302", location_host="x", status_code=302), False, False, id="redirect"),
    pytest.param(CellcastConfigurationError("bad url"), False, False, id="configuration"),
    pytest.param(CellcastInputError("f", 1, "bad"), False, False, id="input"),
    pytest.param(CellcastSharedRateLimitError("redis down"), False, False, id="shared-pace-unavailable"),
    pytest.param(CellcastSendConnectionLostError("lost", request_sent=True), True, False, id="send-connection-lost"),
    pytest.param(ValueError("not ours"), False, False, id="foreign-error"),
]


@pytest.mark.parametrize(("error", "idempotent", "send"), MATRIX)
def test_is_transient_matrix(error: BaseException, idempotent: bool, send: bool) -> None:
    assert is_transient(error, idempotent=True) is idempotent
    assert is_transient(error, idempotent=False) is send


#: The rows an attempt can raise: the typed refusals (not found, not cancellable) are raised by
#: plans after the retry (reports.get_message, cancel.cancel_one), never by an attempt.
ATTEMPT_ERRORS = [
    row
    for row in MATRIX
    if not isinstance(row.values[0], CellcastUnsuccessfulError) or type(row.values[0]) is CellcastUnsuccessfulError
]


@pytest.mark.parametrize(("error", "idempotent", "send"), ATTEMPT_ERRORS)
def test_transient_refusals_change_only_a_status_false(error: BaseException, idempotent: bool, send: bool) -> None:
    if type(error) is CellcastUnsuccessfulError:
        idempotent = True  # a status false that does not say "not found": retried like a 503...
    assert is_transient(error, idempotent=True, transient_refusals=True) is idempotent
    assert is_transient(error, idempotent=False, transient_refusals=True) is send  # ...never for a send


@pytest.mark.parametrize(
    ("message", "transient"),
    [("internal server error", True), ("", True), ("Message not found", False), ("Job NOT FOUND", False)],
)
def test_a_parsed_status_false_is_transient_only_when_declared_and_not_saying_not_found(
    message: str, transient: bool
) -> None:
    with pytest.raises(CellcastUnsuccessfulError) as caught:
        parse_response(200, b'{"status": false, "message": "%s", "data": {}}' % message.encode())
    assert is_transient(caught.value, idempotent=True, transient_refusals=True) is transient
    assert is_transient(caught.value, idempotent=True) is False  # not declared: a refusal is final
    assert is_transient(caught.value, idempotent=False, transient_refusals=True) is False


def test_transient_server_statuses_are_502_503_504() -> None:
    assert frozenset({502, 503, 504}) == TRANSIENT_SERVER_STATUSES


@pytest.mark.parametrize(("status", "transient"), [(500, False), (502, True), (503, True), (504, True)])
def test_parsed_server_errors_are_transient_for_502_503_504_only(status: int, transient: bool) -> None:
    # What test_envelope.py once read from CellcastServerError.transient.
    with pytest.raises(CellcastServerError) as caught:
        parse_response(status, b"<html>bad gateway</html>", headers={"Content-Type": "text/html"})
    assert is_transient(caught.value, idempotent=True) is transient
    assert is_transient(caught.value, idempotent=False) is False


def test_a_parsed_429_is_transient_for_every_request_and_pauses_the_account() -> None:
    with pytest.raises(CellcastRateLimitError) as caught:
        parse_response(429, b"", headers={"Retry-After": "3"})
    assert caught.value.retry_after == 3.0
    assert is_transient(caught.value, idempotent=False) and is_transient(caught.value, idempotent=True)
    assert pauses_account(caught.value)


@pytest.mark.parametrize(
    "error",
    [CellcastServerError("503", status_code=503), CellcastConnectionError("x", request_sent=False), None],
)
def test_only_a_429_pauses_the_account(error: BaseException | None) -> None:
    assert pauses_account(error) is False


# -- how long to wait ------------------------------------------------------------------------------


def failed_state(error: BaseException, attempt: int = 1) -> tenacity.RetryCallState:
    """A retry state whose last attempt (number ``attempt``) raised ``error``."""
    state = tenacity.RetryCallState(retry_object=tenacity.Retrying(), fn=None, args=(), kwargs={})
    state.attempt_number = attempt
    state.set_exception((type(error), error, None))
    return state


def test_retry_after_is_honoured() -> None:
    policy = RetryPolicy(CellcastSettings())
    assert policy.wait_seconds(failed_state(CellcastRateLimitError("429", retry_after=7.5))) == 7.5
    assert policy.wait_seconds(failed_state(CellcastServerError("503", status_code=503, retry_after=2))) == 2.0
    assert policy.wait_seconds(failed_state(CellcastRateLimitError("429", retry_after=0.0))) == 0.0


def test_retry_after_is_capped_by_max_backoff_seconds() -> None:
    policy = RetryPolicy(CellcastSettings(max_backoff_seconds=4))
    assert policy.wait_seconds(failed_state(CellcastRateLimitError("429", retry_after=3600))) == 4.0


@pytest.mark.parametrize("attempt", [1, 2, 3, 4])
def test_backoff_doubles_with_jitter_without_a_hint(attempt: int) -> None:
    settings = CellcastSettings(backoff_seconds=0.5, max_backoff_seconds=30)
    policy = RetryPolicy(settings)
    waits = [policy.wait_seconds(failed_state(CellcastServerError("503", status_code=503), attempt)) for _ in range(50)]
    base = 0.5 * 2 ** (attempt - 1)
    assert all(base <= wait <= base + 0.5 for wait in waits)
    assert len(set(waits)) > 1  # jitter: not every client retries at the same instant


def test_backoff_is_capped_by_max_backoff_seconds() -> None:
    policy = RetryPolicy(CellcastSettings(backoff_seconds=1, max_backoff_seconds=3))
    waits = [policy.wait_seconds(failed_state(CellcastConnectionError("x", request_sent=False), 10)) for _ in range(20)]
    assert all(wait <= 3.0 for wait in waits) and max(waits) == 3.0


def test_no_backoff_when_backoff_seconds_is_zero() -> None:
    policy = RetryPolicy(CellcastSettings(backoff_seconds=0))
    assert policy.wait_seconds(failed_state(CellcastServerError("503", status_code=503), 3)) == 0.0


# -- when to stop ----------------------------------------------------------------------------------


def attempts_until_stop(settings: CellcastSettings, error: BaseException, *, idempotent: bool = True) -> list[float]:
    """Drive the policy's controller with attempts that all raise ``error``; the waits it asked for."""
    budget = CallBudget(settings.call_budget)
    controller = RetryPolicy(settings).controller(idempotent=idempotent, budget=budget, log=LOG)
    waits: list[float] = []
    controller.sleep = lambda seconds: (waits.append(seconds), budget.waited(seconds))  # type: ignore[assignment]
    calls = {"n": 0}

    def attempt() -> None:
        calls["n"] += 1
        raise error

    with pytest.raises(type(error)):
        controller(attempt)
    assert calls["n"] == len(waits) + 1
    return waits


def test_stop_after_max_attempts() -> None:
    waits = attempts_until_stop(
        CellcastSettings(max_attempts=3, backoff_seconds=0), CellcastServerError("x", status_code=503)
    )
    assert waits == [0.0, 0.0]  # three attempts


def test_one_attempt_disables_retrying() -> None:
    waits = attempts_until_stop(CellcastSettings(max_attempts=1), CellcastRateLimitError("x", retry_after=1))
    assert waits == []


def test_stop_when_the_waits_would_pass_max_retry_seconds() -> None:
    settings = CellcastSettings(max_attempts=10, max_retry_seconds=25, call_timeout=1000)
    waits = attempts_until_stop(settings, CellcastRateLimitError("x", retry_after=10))
    # Two waits of 10 s fit in 25 s, a third would not: three attempts, not ten.
    assert waits == [10.0, 10.0]


def test_stop_when_no_attempt_fits_in_the_call_budget() -> None:
    # 60 s of waits allowed, but the call may take 10 s in all: 3 s waits, then no room.
    settings = CellcastSettings(max_attempts=10, max_retry_seconds=60, timeout=4, call_timeout=10)
    waits = attempts_until_stop(settings, CellcastRateLimitError("x", retry_after=3))
    assert waits == [3.0, 3.0, 3.0]  # 9 s spent: a fourth wait of 3 s would pass the 10 s budget


def test_the_call_budget_defaults_to_twice_the_timeout() -> None:
    settings = CellcastSettings(max_attempts=100, max_retry_seconds=1000, timeout=5)
    assert settings.call_budget == 10.0
    waits = attempts_until_stop(settings, CellcastServerError("x", status_code=503, retry_after=2))
    assert waits == [2.0, 2.0, 2.0, 2.0]  # 8 s + 2 s + a minimal attempt would pass 10 s


def test_permanent_errors_are_not_retried() -> None:
    for error in (CellcastBadRequestError("400", status_code=400), CellcastServerError("500", status_code=500)):
        assert attempts_until_stop(CellcastSettings(max_attempts=5), error) == []


def test_a_send_is_not_retried_after_a_lost_connection() -> None:
    lost = CellcastConnectionError("reset", request_sent=True)
    assert attempts_until_stop(CellcastSettings(backoff_seconds=0), lost, idempotent=False) == []
    assert len(attempts_until_stop(CellcastSettings(backoff_seconds=0, max_attempts=3), lost)) == 2


def test_each_retry_is_logged_with_its_attempt_number(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="test_retry"):
        attempts_until_stop(CellcastSettings(max_attempts=2), CellcastRateLimitError("limit hit", retry_after=1))
    assert any(
        "limit hit; attempt 1 of 2 failed, retrying in 1.0 s" in record.getMessage() for record in caplog.records
    )


# -- the call budget --------------------------------------------------------------------------------


def test_attempt_deadline_is_the_timeout_or_what_is_left_of_the_budget() -> None:
    budget = CallBudget(10.0)
    assert budget.attempt_deadline(4.0) == 4.0
    budget.waited(7.5)
    assert budget.attempt_deadline(4.0) == 2.5
    budget.waited(5)
    assert budget.attempt_deadline(4.0) == MIN_ATTEMPT_SECONDS  # never zero or negative


def test_attempts_count_against_the_budget() -> None:
    budget = CallBudget(10.0)
    budget.start_attempt()
    budget.end_attempt()
    assert 0.0 <= budget.spent < 1.0  # real time of an attempt that did nothing


def test_last_error_is_a_cellcast_error_only() -> None:
    error = CellcastServerError("x", status_code=503)
    assert last_error(failed_state(error)) is error
    assert last_error(failed_state(ValueError("x"))) is None
    assert isinstance(last_error(failed_state(CellcastRateLimitError("x"))), CellcastError)
