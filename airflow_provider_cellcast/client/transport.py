"""The sync driver: ``requests`` sends, threads run plans concurrently.

:class:`RequestsTransport` sends one :class:`~.wire.HttpRequest` and returns the whole answer,
bounded in time and size whatever the server does:

* **a deadline per attempt** covering connect, TLS, headers and the whole body. ``requests``
  only bounds each socket read, so a server that drips one byte a second would hold a call
  forever; here a watchdog thread shuts the socket of an attempt down when its deadline passes,
  wherever the attempt is blocked;
* **no redirects**: a 3xx comes back as it is (the envelope reader refuses it), nothing is
  re-sent to another host;
* **only the connection's token**: ``trust_env`` is off, so ``~/.netrc`` never replaces the
  Bearer token; proxies and CA bundles from the environment are still honoured
  (:func:`~.wire.environment_proxy`, :func:`~.wire.environment_verify`);
* **a size limit** on the decoded body (:class:`~.wire.BodyReader`).

:class:`SyncRunner` carries out plans (:mod:`.plan`) with it, the pacer and ``sleep``.
"""

from __future__ import annotations

import heapq
import itertools
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, Protocol, TypeVar

import requests
import urllib3
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from airflow_provider_cellcast.client.plan import Map, Pace, PauseAccount, Plan, Transmit, Wait
from airflow_provider_cellcast.client.wire import (
    BodyReader,
    HttpRequest,
    HttpResponse,
    environment_proxy,
    environment_verify,
    no_answer_text,
)
from airflow_provider_cellcast.exceptions import CellcastConnectionError, CellcastError
from airflow_provider_cellcast.ratelimit import Pacer
from airflow_provider_cellcast.settings import CellcastSettings

T = TypeVar("T")
_CHUNK = 64 * 1024


class Transport(Protocol):
    """Sends one request and reads the whole answer (see :class:`~.plan.Transmit`)."""

    def send(self, request: HttpRequest, *, deadline: float, what: str, message_id: str | None = None) -> HttpResponse:
        """The answer, or ``CellcastConnectionError`` / ``CellcastInvalidResponseError``."""

    def close(self) -> None:
        """Release pooled connections."""


# -- the deadline watchdog --------------------------------------------------------------------------


class _Watch:
    """The sockets one attempt uses, and whether its deadline has passed.

    Sockets, not connections: ``http.client`` hands the socket of a ``Connection: close`` answer
    to the response and forgets it on the connection, while the body is still being read.
    """

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.expired = False
        self.active = True
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def attach(self, sock: socket.socket) -> None:
        with self._lock:
            if self.expired:
                _shut(sock)
            elif all(sock is not known for known in self._sockets):
                self._sockets.append(sock)

    def expire(self) -> None:
        with self._lock:
            if not self.active:
                return
            self.expired = True
            for sock in self._sockets:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    """Unblock whatever reads or writes the socket (its connection is never reused after this)."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed: nothing left to unblock


class _Watchdog:
    """One daemon thread that ends attempts whose deadline has passed (see the module docstring)."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._heap: list[tuple[float, int, _Watch]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None
        self._local = threading.local()

    def start(self, seconds: float) -> _Watch:
        watch = _Watch(time.monotonic() + seconds)
        with self._condition:
            heapq.heappush(self._heap, (watch.deadline, next(self._order), watch))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="cellcast-deadlines", daemon=True)
                self._thread.start()
            self._condition.notify()
        self._local.watch = watch
        return watch

    def stop(self, watch: _Watch) -> None:
        with watch._lock:
            watch.active = False
        self._local.watch = None

    def attach_current(self, connection: Any) -> None:
        """Put the socket of ``connection`` under the deadline of the attempt running on this thread."""
        watch = getattr(self._local, "watch", None)
        sock = getattr(connection, "sock", None)
        if watch is not None and sock is not None:
            watch.attach(sock)

    def _run(self) -> None:
        while True:
            with self._condition:
                while self._heap and not self._heap[0][2].active:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._condition.wait()
                    continue
                deadline, _, watch = self._heap[0]
                remaining = deadline - time.monotonic()
                if remaining > 0:
                    self._condition.wait(remaining)
                    continue
                heapq.heappop(self._heap)
            watch.expire()


_WATCHDOG = _Watchdog()


class _WatchedHTTPConnection(urllib3.connection.HTTPConnection):
    def connect(self) -> None:
        super().connect()
        _WATCHDOG.attach_current(self)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _WATCHDOG.attach_current(self)  # a pooled connection is reused without connect()
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(urllib3.connection.HTTPSConnection):
    # The TLS handshake runs inside connect(), before the TLS socket exists to be watched: each
    # of its reads is bounded by connect_timeout instead.
    def connect(self) -> None:
        super().connect()
        _WATCHDOG.attach_current(self)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _WATCHDOG.attach_current(self)
        super().request(*args, **kwargs)


class _WatchedHTTPConnectionPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSConnectionPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_POOLS = {"http": _WatchedHTTPConnectionPool, "https": _WatchedHTTPSConnectionPool}


class _WatchedAdapter(requests.adapters.HTTPAdapter):
    """An adapter whose connections obey the attempt deadlines (directly and through proxies)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _POOLS
        return manager


def _never_sent(error: BaseException) -> bool:
    """Whether the request failed before any byte of it could reach the server."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, NewConnectionError | ConnectTimeoutError):
            return True
        pending.extend([current.__cause__, current.__context__, getattr(current, "reason", None)])
        pending.extend(arg for arg in current.args if isinstance(arg, BaseException))
    return False


class RequestsTransport:
    """Sends requests with one pooled ``requests`` session (see the module docstring).

    :param settings: ``connect_timeout``, ``verify``, ``max_response_bytes`` and
        ``max_concurrency`` (the pool size) are read.
    """

    def __init__(self, settings: CellcastSettings) -> None:
        self.settings = settings
        session = requests.Session()
        # No ~/.netrc, no environment credentials: the Bearer token is the only authentication.
        session.trust_env = False
        adapter = _WatchedAdapter(pool_connections=2, pool_maxsize=max(10, settings.max_concurrency))
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        self.session = session

    def send(self, request: HttpRequest, *, deadline: float, what: str, message_id: str | None = None) -> HttpResponse:
        prepared = requests.Request(request.method, request.url, headers=dict(request.headers), data=request.body)
        return self.send_prepared(prepared.prepare(), deadline=deadline, what=what, message_id=message_id)

    def send_prepared(
        self, prepared: requests.PreparedRequest, *, deadline: float, what: str, message_id: str | None = None
    ) -> HttpResponse:
        """Send a prepared request (the HttpHook surface prepares its own) under the same rules."""
        url = prepared.url or ""
        proxy = environment_proxy(url)
        watch = _WATCHDOG.start(deadline)
        response: requests.Response | None = None
        try:
            response = self.session.send(
                prepared,
                timeout=(min(self.settings.connect_timeout, deadline), deadline),
                allow_redirects=False,
                stream=True,
                verify=environment_verify(self.settings.verify),
                proxies={"http": proxy, "https": proxy} if proxy else {},
            )
            reader = BodyReader(
                self.settings.max_response_bytes,
                response.headers.get("Content-Encoding"),
                what,
                response.headers.get("Content-Length"),
            )
            while chunk := response.raw.read(_CHUNK, decode_content=False):
                reader.feed(chunk)
            body = reader.finish()
        except CellcastError:
            raise
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as error:
            # A read that waited the whole deadline is the deadline passing too, whichever fired first.
            expired = watch.expired or isinstance(error, requests.ReadTimeout)
            never_sent = not expired and _never_sent(error)
            raise CellcastConnectionError(
                no_answer_text(url, what, deadline=deadline, expired=expired, never_sent=never_sent, error=error),
                request_sent=not never_sent,
                message_id=message_id,
            ) from error
        finally:
            _WATCHDOG.stop(watch)  # the attempt is over: a late expiry must not touch it
            if response is not None:
                response.close()
        headers = {key.lower(): value for key, value in response.headers.items()}
        return HttpResponse(response.status_code, headers, body)

    def close(self) -> None:
        self.session.close()


def from_prepared(prepared: requests.PreparedRequest, timeout: Any = None) -> tuple[HttpRequest, float | None]:
    """A request prepared by ``HttpHook.run()`` as an :class:`~.wire.HttpRequest`, and its deadline.

    ``timeout`` (``extra_options["timeout"]``): seconds, or a ``(connect, read)`` pair that is summed.
    """
    body = prepared.body
    request = HttpRequest(
        prepared.method or "GET",
        prepared.url or "",
        dict(prepared.headers),
        body.encode() if isinstance(body, str) else body,
    )
    deadline = sum(timeout) if isinstance(timeout, tuple) else timeout
    return request, float(deadline) if deadline else None


def as_requests_response(answer: HttpResponse, prepared: requests.PreparedRequest) -> requests.Response:
    """An answer as the ``requests.Response`` the HttpHook surface (``run()``) returns."""
    from http import HTTPStatus

    from requests.structures import CaseInsensitiveDict

    response = requests.Response()
    response.status_code, response._content = answer.status, answer.body
    response.url, response.request, response.headers = prepared.url or "", prepared, CaseInsensitiveDict(answer.headers)
    response.reason = next((status.phrase for status in HTTPStatus if status.value == answer.status), "")
    response.encoding = requests.utils.get_encoding_from_headers(response.headers)
    return response


# -- carrying out plans -----------------------------------------------------------------------------


class SyncRunner:
    """Carries out plans in the calling thread; a :class:`~.plan.Map` runs on worker threads.

    :param sleep: how waits happen (tests pass a recorder).
    """

    def __init__(self, transport: Transport, pacer: Pacer, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.transport = transport
        self.pacer = pacer
        self.sleep = sleep

    def run(self, plan: Plan[T]) -> T:
        """Drive ``plan`` to its end and return its value (or raise what it raised)."""
        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                effect = plan.throw(error) if error is not None else plan.send(value)
            except StopIteration as stop:
                return stop.value
            value, error = None, None
            try:
                value = self._perform(effect)
            except Exception as failure:
                error = failure

    def _perform(self, effect: Any) -> Any:
        if isinstance(effect, Transmit):
            return self.transport.send(
                effect.request, deadline=effect.deadline, what=effect.what, message_id=effect.message_id
            )
        if isinstance(effect, Pace):
            self.pacer.acquire()
        elif isinstance(effect, Wait):
            self.sleep(effect.seconds)
        elif isinstance(effect, PauseAccount):
            self.pacer.pause(effect.seconds)
        elif isinstance(effect, Map):
            self._map(effect)
        else:  # pragma: no cover - every effect is handled above
            raise TypeError(f"unknown effect {effect!r}")
        return None

    def _map(self, effect: Map[Any, Any]) -> None:
        def one(item: Any) -> Any:
            try:
                return self.run(effect.plan(item))
            except CellcastError as failure:
                return failure

        items: Iterator[Any] = iter(effect.items)
        window = max(1, effect.concurrency) * 4  # a few queued per worker: memory stays bounded
        with ThreadPoolExecutor(max_workers=max(1, effect.concurrency), thread_name_prefix="cellcast") as pool:
            in_flight: dict[Future[Any], Any] = {}
            try:
                while True:
                    for item in items:
                        in_flight[pool.submit(one, item)] = item
                        if len(in_flight) >= window:
                            break
                    if not in_flight:
                        return
                    done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                    for future in done:
                        effect.on_result(in_flight.pop(future), future.result())
            finally:
                for future in in_flight:
                    future.cancel()
