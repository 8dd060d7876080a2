"""The async driver: ``aiohttp`` sends, tasks run plans concurrently, nothing blocks the loop.

Used by the triggers (which run in the triggerer's event loop next to many others) and by
``CellcastNotifier.async_notify``. It carries out the same plans as the sync driver
(:mod:`.plan`), so request building, the retry policy, pacing and envelope reading are the ones
the sync client uses; only the I/O differs:

* the attempt deadline is aiohttp's own total timeout (connect, headers and body together);
* redirects are not followed; ``trust_env`` is off (no ``~/.netrc``) and the proxy the
  environment names is passed explicitly (:func:`~.wire.environment_proxy`);
* the body is read raw and decoded by the same :class:`~.wire.BodyReader`, with its size limit;
* waits are ``asyncio.sleep``; a :class:`~.plan.Map` runs tasks, never threads.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, Protocol, TypeVar

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
from airflow_provider_cellcast.ratelimit import AsyncPacer
from airflow_provider_cellcast.settings import CellcastSettings

T = TypeVar("T")
_CHUNK = 64 * 1024


class AsyncTransport(Protocol):
    """Sends one request and reads the whole answer (see :class:`~.plan.Transmit`)."""

    async def send(
        self, request: HttpRequest, *, deadline: float, what: str, message_id: str | None = None
    ) -> HttpResponse:
        """The answer, or ``CellcastConnectionError`` / ``CellcastInvalidResponseError``."""

    async def close(self) -> None:
        """Release pooled connections."""


def _ssl_context(verify: bool | str) -> ssl.SSLContext | bool:
    verify = environment_verify(verify)
    if isinstance(verify, bool):
        return verify
    return _context_for_ca_bundle(verify)


@functools.lru_cache(maxsize=8)
def _context_for_ca_bundle(path: str) -> ssl.SSLContext:
    # Loading a CA bundle takes tens of milliseconds of the event loop: once per bundle, not per client.
    return ssl.create_default_context(cafile=path)


class AiohttpTransport:
    """Sends requests with one ``aiohttp`` session, created on first use inside the running loop."""

    def __init__(self, settings: CellcastSettings) -> None:
        self.settings = settings
        self._session: Any = None

    def _client_session(self) -> Any:
        import aiohttp

        if self._session is None:
            self._session = aiohttp.ClientSession(
                # The body is decoded by BodyReader, within its size limit.
                auto_decompress=False,
                # No ~/.netrc and no environment credentials; the proxy is passed per request.
                trust_env=False,
                cookie_jar=aiohttp.DummyCookieJar(),
                connector=aiohttp.TCPConnector(limit=max(10, self.settings.max_concurrency)),
            )
        return self._session

    async def send(
        self, request: HttpRequest, *, deadline: float, what: str, message_id: str | None = None
    ) -> HttpResponse:
        import aiohttp

        session = self._client_session()
        timeout = aiohttp.ClientTimeout(total=deadline, connect=min(self.settings.connect_timeout, deadline))
        expired = never_sent = False
        try:
            async with session.request(
                request.method,
                request.url,
                headers=dict(request.headers),
                data=request.body,
                allow_redirects=False,
                timeout=timeout,
                proxy=environment_proxy(request.url),
                ssl=_ssl_context(self.settings.verify) if request.url.startswith("https:") else True,
            ) as response:
                reader = BodyReader(
                    self.settings.max_response_bytes,
                    response.headers.get("Content-Encoding"),
                    what,
                    response.headers.get("Content-Length"),
                )
                async for chunk in response.content.iter_chunked(_CHUNK):
                    reader.feed(chunk)
                body = reader.finish()
                headers = {key.lower(): value for key, value in response.headers.items()}
                return HttpResponse(response.status, headers, body)
        except CellcastError:
            raise
        except asyncio.TimeoutError as error:
            # A connect timeout (aiohttp 3.10+) sent nothing, as requests' ConnectTimeout in the sync driver.
            cause: BaseException = error
            if isinstance(error, getattr(aiohttp, "ConnectionTimeoutError", ())):
                never_sent = True
            else:
                expired = True
        except aiohttp.ClientConnectorError as error:
            cause, never_sent = error, True
        except (aiohttp.ClientError, OSError) as error:
            cause = error
        raise CellcastConnectionError(
            no_answer_text(request.url, what, deadline=deadline, expired=expired, never_sent=never_sent, error=cause),
            request_sent=not never_sent,
            message_id=message_id,
        ) from cause

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class AsyncRunner:
    """Carries out plans on the running event loop; a :class:`~.plan.Map` runs as tasks.

    :param sleep: how waits happen (default ``asyncio.sleep``; tests pass a recorder).
    """

    def __init__(
        self, transport: AsyncTransport, pacer: AsyncPacer, *, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    ) -> None:
        self.transport = transport
        self.pacer = pacer
        self.sleep = sleep

    async def run(self, plan: Plan[T]) -> T:
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
                value = await self._perform(effect)
            except Exception as failure:
                error = failure

    async def _perform(self, effect: Any) -> Any:
        if isinstance(effect, Transmit):
            return await self.transport.send(
                effect.request, deadline=effect.deadline, what=effect.what, message_id=effect.message_id
            )
        if isinstance(effect, Pace):
            await self.pacer.acquire()
        elif isinstance(effect, Wait):
            await self.sleep(effect.seconds)
        elif isinstance(effect, PauseAccount):
            await self.pacer.pause(effect.seconds)
        elif isinstance(effect, Map):
            await self._map(effect)
        else:  # pragma: no cover - every effect is handled above
            raise TypeError(f"unknown effect {effect!r}")
        return None

    async def _map(self, effect: Map[Any, Any]) -> None:
        async def one(item: Any) -> Any:
            try:
                return await self.run(effect.plan(item))
            except CellcastError as failure:
                return failure

        items: Iterator[Any] = iter(effect.items)
        limit = max(1, effect.concurrency)
        in_flight: dict[asyncio.Task[Any], Any] = {}
        try:
            while True:
                for item in items:
                    in_flight[asyncio.ensure_future(one(item))] = item
                    if len(in_flight) >= limit:
                        break
                if not in_flight:
                    return
                done, _ = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    effect.on_result(in_flight.pop(task), task.result())
        finally:
            for task in in_flight:
                task.cancel()
            if in_flight:
                await asyncio.gather(*in_flight, return_exceptions=True)
