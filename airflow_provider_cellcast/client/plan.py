"""The I/O-free core of the client: what a call does, as plans that drivers carry out.

A **plan** is a generator: it yields **effects** (send these bytes, wait for the account's pace,
sleep, pause the account, run these plans concurrently) and gets their results back; it never
touches a socket, a clock it cannot fake, or a thread. Every behaviour of the client (building a
request, the retry policy, reading the envelope, what a refused cancel means, send safety, status
rounds) is written once, as plans, and two small drivers carry them out: the sync one with
``requests`` and threads (:mod:`.transport`), the async one with ``aiohttp`` and tasks
(:mod:`.aio`), so the status sensor's poke mode and its trigger cannot disagree.

A driver starts a plan with ``send(None)``, answers each effect with ``send(result)`` and turns
a failure into ``throw(error)``, so plans handle errors with ordinary ``try``/``except``, and
compose with ``yield from``.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import tenacity

from airflow_provider_cellcast.client.retry import CallBudget, RetryPolicy, pauses_account
from airflow_provider_cellcast.client.wire import ApiRequest, HttpRequest, HttpResponse, build_request
from airflow_provider_cellcast.envelope import Envelope, parse_response
from airflow_provider_cellcast.exceptions import CellcastAuthenticationError, CellcastError
from airflow_provider_cellcast.settings import CellcastSettings

T = TypeVar("T")
R = TypeVar("R")

#: A plan that ends with a ``T``.
Plan = Generator["Effect", Any, T]


@dataclass(frozen=True)
class Transmit:
    """Send ``request`` and read the whole answer within ``deadline`` seconds.

    The driver answers an :class:`~.wire.HttpResponse` (any status, redirects not followed), or
    raises ``CellcastConnectionError`` (no complete answer) or ``CellcastInvalidResponseError``
    (an answer over the size limit or in an unknown encoding).
    """

    request: HttpRequest
    deadline: float
    what: str
    message_id: str | None = None


@dataclass(frozen=True)
class Pace:
    """Wait for this request's slot in the account's pace."""


@dataclass(frozen=True)
class Wait:
    """Sleep between two attempts."""

    seconds: float


@dataclass(frozen=True)
class PauseAccount:
    """Hold back every request of the account for ``seconds`` (after a 429)."""

    seconds: float


@dataclass(frozen=True)
class Map(Generic[T, R]):
    """Run ``plan(item)`` for every item, at most ``concurrency`` at a time, at the account's pace.

    Each result (or the ``CellcastError`` its plan raised) goes to ``on_result`` as it completes,
    in completion order; the effect's own result is ``None``. Items are taken from ``items``
    lazily, so a campaign of 100,000 IDs never has more than a few plans alive. When
    ``on_result`` raises, no new item starts, the ones in flight finish (sync) or are cancelled
    (async), and the error goes back to the plan that yielded the ``Map``.
    """

    plan: Callable[[T], Plan[R]]
    items: Iterable[T]
    on_result: Callable[[T, R | CellcastError], None]
    concurrency: int
    label: str = "requests"


Effect = Transmit | Pace | Wait | PauseAccount | Map[Any, Any]


@dataclass(frozen=True)
class CallContext:
    """What every plan of one client needs: where to send, with which token, by which rules.

    :ivar base_url: the checked API base URL (:func:`~.wire.check_base_url`).
    :ivar name: how error texts name the account, e.g. ``"connection 'cellcast_default'"``.
    """

    base_url: str
    token: str = field(repr=False)
    settings: CellcastSettings
    name: str
    log: Any = field(default_factory=lambda: logging.getLogger("airflow_provider_cellcast.client"), repr=False)

    @property
    def policy(self) -> RetryPolicy:
        return RetryPolicy(self.settings)


def call(ctx: CallContext, request: ApiRequest) -> Plan[Envelope]:
    """One API call: paced attempts within their deadlines, the retry policy, the envelope read.

    Returns the success :class:`~airflow_provider_cellcast.envelope.Envelope`; raises the typed
    ``CellcastError`` of the last attempt when the policy gives up or the fault is permanent.
    """
    http = build_request(request, ctx.base_url, ctx.token)
    budget = CallBudget(ctx.settings.call_budget)
    controller = ctx.policy.controller(
        idempotent=request.idempotent, budget=budget, log=ctx.log, transient_refusals=request.transient_refusals
    )
    controller.begin()
    state = tenacity.RetryCallState(retry_object=controller, fn=None, args=(), kwargs={})
    try:
        while True:
            action = controller.iter(retry_state=state)
            if isinstance(action, tenacity.DoAttempt):
                try:
                    envelope = yield from _attempt(ctx, request, http, budget)
                except Exception:
                    state.set_exception(sys.exc_info())  # type: ignore[arg-type]
                else:
                    state.set_result(envelope)
            elif isinstance(action, tenacity.DoSleep):
                failed = state.outcome.exception() if state.outcome else None
                state.prepare_for_next_attempt()
                seconds = float(action)
                if pauses_account(failed):
                    # Everybody sharing the pace backs off, not only the refused request.
                    yield PauseAccount(seconds)
                budget.waited(seconds)
                yield Wait(seconds)
            else:
                return action
    except CellcastAuthenticationError as error:
        raise CellcastAuthenticationError(
            f"{error}. Check the API token in the password field of {ctx.name}.",
            status_code=error.status_code,
            api_message=error.api_message,
            message_id=request.message_id,
        ) from error


def _attempt(ctx: CallContext, request: ApiRequest, http: HttpRequest, budget: CallBudget) -> Plan[Envelope]:
    yield Pace()
    deadline = budget.attempt_deadline(ctx.settings.timeout)
    budget.start_attempt()
    try:
        response: HttpResponse = yield Transmit(http, deadline, request.label, request.message_id)
    finally:
        budget.end_attempt()
    ctx.log.debug("Cellcast %s %s -> HTTP %s", request.method, request.endpoint, response.status)
    return parse_response(
        response.status,
        response.body,
        headers=response.headers,
        what=request.label,
        message_id=request.message_id,
        expect=request.expect,
    )
