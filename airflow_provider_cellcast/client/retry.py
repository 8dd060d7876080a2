"""The one retry policy: which failed attempts are tried again, how long to wait, when to stop.

Every request of the client, sync or async, is retried by :func:`~.plan.call` with the
tenacity controller this module builds, so the rules exist once:

* **what is safe to repeat**: a refusal Cellcast stated before doing anything (HTTP 429) and a
  connection that was never established, for every request; a lost connection, a timeout and
  HTTP 502/503/504, only for requests that are harmless to repeat (``idempotent``: cancels,
  lookups; never a send, which may have been queued although its answer was lost); a ``status:
  false`` that does not say "not found", only for requests that declare such refusals transient
  (the message report, which answers an internal error that way);
* **how long to wait**: the server's ``Retry-After`` when it gives one, otherwise an exponential
  backoff with jitter; never longer than ``max_backoff_seconds``; a 429 pauses every request of
  the account, not only the refused one;
* **when to stop**: after ``max_attempts``, when the waits would pass ``max_retry_seconds``, or
  when another attempt could not end within the call's budget (``call_timeout``).

Everything else (4xx, 500, ``status: false``, unreadable answers) fails the call at once; whether
Airflow then retries the *task* is the exceptions' business (``AirflowFailException``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import tenacity

from airflow_provider_cellcast.envelope import says_not_found
from airflow_provider_cellcast.exceptions import (
    CellcastConnectionError,
    CellcastError,
    CellcastRateLimitError,
    CellcastServerError,
    CellcastUnsuccessfulError,
)
from airflow_provider_cellcast.settings import CellcastSettings

#: HTTP statuses a proxy or a busy service answers before or instead of doing the work.
TRANSIENT_SERVER_STATUSES = frozenset({502, 503, 504})
#: An attempt is not started with less than this left of the call's budget.
MIN_ATTEMPT_SECONDS = 0.5


def is_transient(error: BaseException, *, idempotent: bool, transient_refusals: bool = False) -> bool:
    """Whether another attempt of the same request may succeed, and is safe to make."""
    if isinstance(error, CellcastUnsuccessfulError):
        # Only a refusal as the envelope reader raises it: its subclasses are explained verdicts.
        return (
            transient_refusals and idempotent and type(error) is CellcastUnsuccessfulError and not says_not_found(error)
        )
    if isinstance(error, CellcastRateLimitError):
        return True
    if isinstance(error, CellcastConnectionError):
        return idempotent or not error.request_sent
    if isinstance(error, CellcastServerError):
        return idempotent and error.status_code in TRANSIENT_SERVER_STATUSES
    return False


def pauses_account(error: BaseException | None) -> bool:
    """Whether waiting after ``error`` holds back every request of the account (a 429 does)."""
    return isinstance(error, CellcastRateLimitError)


@dataclass
class CallBudget:
    """Time one call has spent in attempts and waits (pacing does not count), against its budget."""

    seconds: float
    spent: float = 0.0
    _started: float = field(default=0.0, repr=False)

    def attempt_deadline(self, timeout: float) -> float:
        """Seconds the next attempt may take: ``timeout``, or less when the budget runs out first."""
        return max(min(timeout, self.seconds - self.spent), MIN_ATTEMPT_SECONDS)

    def start_attempt(self) -> None:
        self._started = time.monotonic()

    def end_attempt(self) -> None:
        self.spent += time.monotonic() - self._started

    def waited(self, seconds: float) -> None:
        self.spent += seconds


class _StopWhenBudgetSpent(tenacity.stop.stop_base):
    """Stop when the waits would pass ``max_retry_seconds``, or no attempt fits in the call budget."""

    def __init__(self, max_wait: float, budget: CallBudget) -> None:
        self.max_wait = max_wait
        self.budget = budget

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        upcoming = retry_state.upcoming_sleep or 0.0
        if retry_state.idle_for + upcoming > self.max_wait:
            return True
        return self.budget.spent + upcoming + MIN_ATTEMPT_SECONDS > self.budget.seconds


@dataclass(frozen=True)
class RetryPolicy:
    """The retry rules for one client, from its settings (see the module docstring)."""

    settings: CellcastSettings

    def wait_seconds(self, retry_state: tenacity.RetryCallState) -> float:
        """``Retry-After`` when the server gave one, else exponential backoff with jitter; capped."""
        settings = self.settings
        error = retry_state.outcome.exception() if retry_state.outcome else None
        hint = getattr(error, "retry_after", None)
        if hint is not None:
            return min(float(hint), settings.max_backoff_seconds)
        backoff = tenacity.wait_exponential_jitter(
            initial=settings.backoff_seconds, max=settings.max_backoff_seconds, jitter=settings.backoff_seconds
        )
        return float(backoff(retry_state))

    def controller(
        self, *, idempotent: bool, budget: CallBudget, log: Any, transient_refusals: bool = False
    ) -> tenacity.Retrying:
        """A tenacity controller for one call (its state is per call: build one each time)."""
        settings = self.settings

        def before_sleep(retry_state: tenacity.RetryCallState) -> None:
            error = retry_state.outcome.exception() if retry_state.outcome else None
            log.warning(
                "%s; attempt %d of %d failed, retrying in %.1f s",
                error,
                retry_state.attempt_number,
                settings.max_attempts,
                retry_state.upcoming_sleep,
            )

        return tenacity.Retrying(
            stop=tenacity.stop_after_attempt(settings.max_attempts)
            | _StopWhenBudgetSpent(settings.max_retry_seconds, budget),
            wait=self.wait_seconds,
            retry=tenacity.retry_if_exception(
                lambda error: is_transient(error, idempotent=idempotent, transient_refusals=transient_refusals)
            ),
            before_sleep=before_sleep,
            reraise=True,
        )


def last_error(retry_state: tenacity.RetryCallState) -> CellcastError | None:
    """The error of the attempt that just failed, if it was a Cellcast one."""
    error = retry_state.outcome.exception() if retry_state.outcome else None
    return error if isinstance(error, CellcastError) else None
