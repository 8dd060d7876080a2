"""Client-side request pacing: per client (:class:`RequestPacer`), or per account through Redis.

Every pacer keeps one interface, ``acquire()`` before each request and ``pause(seconds)`` after
a 429, and has an async twin for the async driver that takes its decisions from the same code:
:class:`AsyncRequestPacer` waits for the slots :meth:`RequestPacer.reserve` hands out; the pace
shared by every task of an account lives in :mod:`airflow_provider_cellcast.shared_ratelimit`
(``SharedRequestPacer``, ``AsyncSharedRequestPacer``). :func:`build_pacer` and
:func:`build_async_pacer` pick one from the settings. At import time only the standard library
and the provider's exceptions: Redis, ``pyrate-limiter`` and the Redis provider load when a
shared pacer is built.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from airflow_provider_cellcast.exceptions import CellcastError

if TYPE_CHECKING:
    from airflow_provider_cellcast.settings import CellcastSettings

#: Share of ``requests_per_second`` that :class:`RequestPacer` keeps in reserve by default.
DEFAULT_HEADROOM = 0.1


class RequestPacer:
    """Spaces requests evenly just below ``requests_per_second`` and lets a 429 pause everybody.

    Requests are spread at even intervals rather than allowed in bursts, because the server's own
    limit is counted over short windows: a burst of a full second's quota at once is what earns a
    429. ``pause(seconds)`` is called when Cellcast answers 429, so that every worker waits, not
    only the one that was refused: the batch slows down instead of failing IDs.

    The pace is ``requests_per_second * (1 - headroom)``: 36 requests a second for a limit of 40
    with the default headroom of 10 %. Pacing at exactly the server's limit earns 429s, because the
    server counts requests when they arrive, not when they were sent: a cold connection, a busy
    client or server, or the network delays request *k* a little more than request *k + N*, and
    N + 1 arrivals fall into one window. With the headroom, any N + 1 consecutive requests are sent
    over ``1 / (1 - headroom)`` windows, so arrivals may jitter by 11 % of the window (111 ms
    for a one-second window) before the server sees too many. ``benchmarks/`` measures both.

    ``requests_per_second=None`` (or 0) disables pacing; pauses still apply.
    """

    def __init__(
        self,
        requests_per_second: float | None,
        *,
        headroom: float = DEFAULT_HEADROOM,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not 0.0 <= headroom < 1.0:
            raise ValueError(f"headroom must be at least 0 and below 1, not {headroom!r}")
        self.headroom = headroom
        self.interval = 1.0 / (requests_per_second * (1.0 - headroom)) if requests_per_second else 0.0
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_slot = 0.0
        self._paused_until = 0.0

    def reserve(self) -> float:
        """Take the next slot; return how long the caller must wait for it (0: go now)."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_slot, self._paused_until)
            self._next_slot = slot + self.interval
        return slot - now

    def acquire(self) -> None:
        """Block until this caller may send its request."""
        delay = self.reserve()
        if delay > 0:
            self._sleep(delay)

    def pause(self, seconds: float) -> None:
        """Hold every request back for ``seconds`` from now (never shortens an existing pause)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)


class AsyncRequestPacer:
    """A :class:`RequestPacer` for the async driver: the same slots, waited for with ``asyncio.sleep``."""

    def __init__(self, pacer: RequestPacer, *, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.pacer = pacer
        self._sleep = sleep

    async def acquire(self) -> None:
        delay = self.pacer.reserve()
        if delay > 0:
            await self._sleep(delay)

    async def pause(self, seconds: float) -> None:
        self.pacer.pause(seconds)


class Pacer(Protocol):
    """What the sync driver needs of a pacer."""

    def acquire(self) -> None:
        """Block until this caller may send its request."""

    def pause(self, seconds: float) -> None:
        """Hold every request back for ``seconds`` from now (never shortens an existing pause)."""


class AsyncPacer(Protocol):
    """What the async driver needs of a pacer."""

    async def acquire(self) -> None:
        """Wait until this caller may send its request."""

    async def pause(self, seconds: float) -> None:
        """Hold every request back for ``seconds`` from now (never shortens an existing pause)."""


class CellcastSharedRateLimitError(CellcastError):
    """The Redis of the shared rate limit could not be used, and no local fallback was allowed.

    Not an ``AirflowFailException``: a task retry may find Redis back. Not ``transient`` either:
    the hook does not retry the request, because it must never be sent unpaced.
    """


#: Prefix of every Redis key of the shared rate limit; the rest is a hash of the account.
KEY_PREFIX = "cellcast:ratelimit:"


def account_key(base_url: str, token: str) -> str:
    """The Redis key of one Cellcast account: a hash of its base URL and token, never the token."""
    digest = hashlib.sha256(f"cellcast-rate-limit\n{base_url.rstrip('/')}\n{token}".encode()).hexdigest()
    return KEY_PREFIX + digest[:32]


def build_async_pacer(
    settings: CellcastSettings,
    *,
    base_url: str,
    token: str,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    log: Any = None,
) -> AsyncPacer:
    """:func:`build_pacer` for the async driver: the same choice, the same Redis key."""
    redis_conn_id = settings.rate_limit_redis_conn_id
    if not redis_conn_id or not settings.requests_per_second:
        return AsyncRequestPacer(RequestPacer(settings.requests_per_second), sleep=sleep)
    from airflow_provider_cellcast.shared_ratelimit import AsyncSharedRequestPacer, connect_redis_async

    return AsyncSharedRequestPacer(
        settings.requests_per_second,
        connect=lambda: connect_redis_async(redis_conn_id),
        key=account_key(base_url, token),
        redis_conn_id=redis_conn_id,
        fallback_local=settings.rate_limit_redis_fallback == "local",
        sleep=sleep,
        log=log,
    )


def build_pacer(
    settings: CellcastSettings,
    *,
    base_url: str,
    token: str,
    sleep: Callable[[float], None] = time.sleep,
    log: Any = None,
) -> Pacer:
    """The pacer the settings ask for: shared through Redis when ``rate_limit_redis_conn_id`` is set."""
    redis_conn_id = settings.rate_limit_redis_conn_id
    if not redis_conn_id or not settings.requests_per_second:
        return RequestPacer(settings.requests_per_second, sleep=sleep)
    from airflow_provider_cellcast.shared_ratelimit import SharedRequestPacer, connect_redis

    return SharedRequestPacer(
        settings.requests_per_second,
        connect=lambda: connect_redis(redis_conn_id),
        key=account_key(base_url, token),
        redis_conn_id=redis_conn_id,
        fallback_local=settings.rate_limit_redis_fallback == "local",
        sleep=sleep,
        log=log,
    )


#: Names of :mod:`airflow_provider_cellcast.shared_ratelimit` that this module also answers to.
_SHARED_NAMES = frozenset(
    {"AsyncSharedRequestPacer", "SharedRequestPacer", "connect_redis", "connect_redis_async", "REDIS_TIMEOUT_SECONDS"}
)


def __getattr__(name: str) -> Any:
    # The Redis pacers moved to their own module; they load (with Redis) only when asked for.
    if name in _SHARED_NAMES:
        from airflow_provider_cellcast import shared_ratelimit

        return getattr(shared_ratelimit, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
