"""The two faces of the Cellcast client: :class:`CellcastClient` (sync) and :class:`AsyncCellcastClient`.

Each method is one line: it hands a plan of the endpoint modules (:mod:`.cancel`,
:mod:`.reports`, :mod:`.send`, :mod:`.mms`, :mod:`.replies`, :mod:`.account`) to its driver.
Neither class knows Airflow: the hook
(:class:`~airflow_provider_cellcast.hooks.cellcast.CellcastHook`) builds them from a connection;
anybody can build them from a token.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from datetime import date, datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from airflow_provider_cellcast import DEFAULT_BASE_URL
from airflow_provider_cellcast.client import account, cancel, mms, replies, reports, send
from airflow_provider_cellcast.client.plan import CallContext, Pace, Plan, Transmit, call
from airflow_provider_cellcast.client.results import CancelOutcomes, CancelResult, SendResult
from airflow_provider_cellcast.client.transport import RequestsTransport, SyncRunner, Transport
from airflow_provider_cellcast.client.wire import ApiRequest, HttpRequest, HttpResponse, check_base_url, check_token
from airflow_provider_cellcast.envelope import Envelope
from airflow_provider_cellcast.ratelimit import Pacer, build_async_pacer, build_pacer
from airflow_provider_cellcast.settings import CellcastSettings

if TYPE_CHECKING:
    from airflow_provider_cellcast.client.aio import AsyncTransport
    from airflow_provider_cellcast.client.reply_cursor import Reply, ReplyCursor
    from airflow_provider_cellcast.progress import ProgressStore
    from airflow_provider_cellcast.ratelimit import AsyncPacer
    from airflow_provider_cellcast.statuses import StatusCheck, StatusRules

T = TypeVar("T")
_LOG = logging.getLogger("airflow_provider_cellcast.client")


def _context(token: str, base_url: str, settings: CellcastSettings | None, name: str, log: Any) -> CallContext:
    settings = settings or CellcastSettings()
    checked_url, insecure = check_base_url(base_url, allow_insecure_http=settings.allow_insecure_http, where=name)
    if insecure:
        (log or _LOG).warning(
            "%s sends the Cellcast API token over plain HTTP to %s (allow_insecure_http)", name, checked_url
        )
    return CallContext(checked_url, check_token(token, name), settings, name, log or _LOG)


class CellcastClient:
    """The Cellcast API for synchronous code: workers, ``@task`` functions, scripts.

    One pooled session, the account's pace, deadlines and the retry policy for every call; typed
    :class:`~airflow_provider_cellcast.exceptions.CellcastError` for every failure.

    .. code-block:: python

        from airflow_provider_cellcast.client import CellcastClient

        with CellcastClient("my-api-token") as client:
            print(client.cancel_scheduled_message("675161d8a000000000000000", "sms")["outcome"])

    :param token: the account's API token.
    :param base_url: the API base URL (checked: https, or http to loopback, no credentials).
    :param settings: timeouts, retries, pace, limits (:class:`~airflow_provider_cellcast.settings.CellcastSettings`).
    :param transport: what sends the requests (default :class:`~.transport.RequestsTransport`);
        tests pass a scripted one.
    :param pacer: the account's pace (default: from ``settings``, shared through Redis when set).
    :param sleep: how waits happen (tests pass a recorder).
    :param name: how error texts name the account, e.g. ``"connection 'cellcast_default'"``.
    """

    def __init__(
        self,
        token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        settings: CellcastSettings | None = None,
        transport: Transport | None = None,
        pacer: Pacer | None = None,
        sleep: Callable[[float], None] = time.sleep,
        name: str = "the Cellcast client",
        log: Any = None,
    ) -> None:
        self.context = _context(token, base_url, settings, name, log)
        ctx = self.context
        self.transport: Transport = transport or RequestsTransport(ctx.settings)
        self.pacer: Pacer = pacer or build_pacer(
            ctx.settings, base_url=ctx.base_url, token=ctx.token, sleep=sleep, log=ctx.log
        )
        self._runner = SyncRunner(self.transport, self.pacer, sleep=sleep)

    @property
    def base_url(self) -> str:
        return self.context.base_url

    @property
    def settings(self) -> CellcastSettings:
        return self.context.settings

    def run(self, plan: Plan[T]) -> T:
        """Carry out any plan of the endpoint modules with this client's driver."""
        return self._runner.run(plan)

    def request(self, request: ApiRequest) -> Envelope:
        """One API call with the retry policy; the success envelope, or a typed error."""
        return self.run(call(self.context, request))

    def transmit(self, request: HttpRequest, *, what: str, deadline: float | None = None) -> HttpResponse:
        """Send a prepared request once, at the account's pace, within ``deadline`` (default ``timeout``).

        No retries and no envelope reading: the HttpHook surface (``run()``) decides those.
        """

        def plan() -> Plan[HttpResponse]:
            yield Pace()
            response: HttpResponse = yield Transmit(request, deadline or self.settings.timeout, what)
            return response

        return self.run(plan())

    def verify_token(self) -> Envelope:
        return self.run(account.verify_token(self.context))

    def get_account(self) -> dict[str, Any]:
        return self.run(account.get_account(self.context))

    def get_message(self, message_id: str) -> dict[str, Any]:
        return self.run(reports.get_message(self.context, message_id))

    def list_messages(
        self,
        *,
        custom_string: str | None = None,
        status: str | None = None,
        message_type: str | None = None,
        page_size: int = reports.LIST_PAGE_SIZE,
    ) -> Iterator[dict[str, Any]]:
        """Messages of the account, page after page; memory stays one page (a generator)."""
        query = reports.list_query(
            custom_string=custom_string, status=status, message_type=message_type, page_size=page_size
        )
        page = 1
        while True:
            items, more = self.run(reports.list_page(self.context, query, page))
            yield from (item for item in items if reports.matches(item, query))
            if not more:
                return
            page += 1

    def message_ids_by_reference(
        self, custom_string: str, *, status: str | None = None, message_type: str | None = None
    ) -> list[str]:
        return self.run(
            reports.message_ids_by_reference(self.context, custom_string, status=status, message_type=message_type)
        )

    def find_sent_by_reference(self, custom_string: str) -> SendResult | None:
        return self.run(reports.find_sent_by_reference(self.context, custom_string))

    def statuses_by_reference(self, custom_string: str, *, from_date: date | None = None) -> dict[str, str]:
        """``{message_id: status}`` of every message carrying a reference (all pages, one pass)."""
        return self.run(reports.statuses_by_reference(self.context, custom_string, from_date=from_date))

    def check_statuses(
        self,
        message_ids: Iterable[str],
        rules: StatusRules,
        known: dict[str, str] | None = None,
        *,
        reference: str | None = None,
        from_date: date | None = None,
        listed: dict[str, str] | None = None,
    ) -> StatusCheck:
        return self.run(
            reports.check_statuses(
                self.context, message_ids, rules, known, reference=reference, from_date=from_date, listed=listed
            )
        )

    def cancel_scheduled_message(self, message_id: str, message_type: str = "sms") -> CancelResult:
        return self.run(cancel.cancel_one(self.context, message_id, message_type))

    def cancel_scheduled_messages(
        self,
        message_ids: Iterable[str],
        message_type: str = "sms",
        *,
        progress_store: ProgressStore | None = None,
        progress_every: float = 30.0,
    ) -> CancelOutcomes:
        return self.run(
            cancel.cancel_many(
                self.context, message_ids, message_type, progress_store=progress_store, progress_every=progress_every
            )
        )

    def send_sms(
        self,
        message: str,
        contacts: Sequence[str] | str,
        *,
        sender: str | None = None,
        schedule_at: datetime | timedelta | str | None = None,
        delay_ms: int | None = None,
        country_code: int | str | None = None,
        custom_string: str | None = None,
        recover_by_reference: bool = False,
        adopt_existing: bool = False,
        reply_stop_to_opt_out: bool | None = None,
        opt_out: bool | None = None,
        opt_out_list_id: str | None = None,
        verify_schedule: bool = True,
    ) -> SendResult:
        """Send or schedule an SMS to ``contacts`` (``POST /api/v1/gateway``).

        Every value is checked before any request (``CellcastInputError`` naming the field). More
        than 1,000 contacts are split into several requests. A send is not idempotent, so:

        * a request is repeated only when it certainly did not reach Cellcast (HTTP 429, a
          connection that was never established); other refusals Cellcast stated (4xx, ``status:
          false``) are raised as they are: nothing was queued, a task retry is safe;
        * when the request reached Cellcast but its answer was lost (connection dropped, timeout,
          any 5xx, an unreadable answer), ``CellcastSendOutcomeUnknownError`` is raised (for a lost
          connection its subclass ``CellcastSendConnectionLostError``): an ``AirflowFailException``,
          never retried by Airflow, because messages may be queued;
        * when a later request fails after earlier ones queued messages, ``CellcastPartialSendError``
          is raised, carrying what was queued in ``partial_result``.

        :param contacts: phone numbers: a list, a comma-separated string or a rendered list.
        :param schedule_at: an aware datetime, an ISO 8601 string with an offset, or a
            ``timedelta`` from now; more than a minute in the past is refused. Sent as UTC ISO 8601.
        :param delay_ms: alternatively, a delay in milliseconds (at most 86,400,000).
        :param custom_string: a reference stored with every message (Cellcast's ``customString``).
        :param recover_by_reference: ``custom_string`` is unique to this send (one task instance):
            a single-request send (at most 1,000 contacts) whose answer was lost then raises the
            retryable ``CellcastSendRecoverableError`` instead of the never-retried
            ``CellcastSendOutcomeUnknownError``.
        :param adopt_existing: with ``recover_by_reference``, first look the reference up: messages
            found are returned, marked ``adopted``, and nothing is sent. The send operator sets it
            on every try after the first.
        :param reply_stop_to_opt_out: Cellcast's ``replyStopToOptOut`` (sent only when given):
            a reply of STOP unsubscribes the number; Cellcast's default is off.
        :param opt_out: Cellcast's ``optout`` (sent only when given).
        :param opt_out_list_id: Cellcast's ``optoutId``: a custom opt-out list (24 hex characters).
        :param verify_schedule: after a scheduled send, read back the ``scheduleAt`` Cellcast
            understood and, more than a minute off, cancel what was queued and raise
            ``CellcastScheduleMismatchError``.

        Contacts are normalised first: Australian mobiles become ``61XXXXXXXXX``; numbers that
        cannot be valid are listed in ``invalid_contacts`` with their reason and never sent.
        """
        return self.run(
            send.send_sms(
                self.context,
                message,
                contacts,
                sender=sender,
                schedule_at=schedule_at,
                delay_ms=delay_ms,
                country_code=country_code,
                custom_string=custom_string,
                recover_by_reference=recover_by_reference,
                adopt_existing=adopt_existing,
                reply_stop_to_opt_out=reply_stop_to_opt_out,
                opt_out=opt_out,
                opt_out_list_id=opt_out_list_id,
                verify_schedule=verify_schedule,
            )
        )

    def send_mms(
        self,
        message: str,
        contacts: Sequence[str] | str,
        *,
        media: Any = None,
        gif: str | None = None,
        sender: str | None = None,
        country_code: int | str | None = None,
    ) -> SendResult:
        """Send an MMS now (``POST /api/v1/gatewaymms``, multipart), as safely as :meth:`send_sms`.

        :param media: a PNG or JPEG of at most 230 KB: ``bytes``, a local path, or anything with
            ``open()`` (``pathlib.Path``, ``ObjectStoragePath``); checked by its first bytes and
            size before any request (``CellcastInputError`` naming ``media``).
        :param gif: instead of ``media``, the URL of an animation.

        A request that reached Cellcast and whose answer was lost raises
        ``CellcastSendOutcomeUnknownError`` (never retried by Airflow): Cellcast documents no
        ``customString`` for MMS, so nothing can be looked up by reference.
        See :mod:`airflow_provider_cellcast.client.mms`.
        """
        return self.run(
            mms.send_mms(
                self.context, message, contacts, media=media, gif=gif, sender=sender, country_code=country_code
            )
        )

    def get_replies(self) -> Iterator[Reply]:
        """Inbound replies, page after page, in Cellcast's order (``from`` normalised).

        See :mod:`airflow_provider_cellcast.client.reply_cursor`.
        """
        page, more = 0, True
        while more:
            page += 1
            items, more = self.run(replies.replies_page(self.context, page))
            yield from items

    def get_opt_outs(self) -> Iterator[dict[str, Any]]:
        """The opt-out list, page after page (``number`` normalised)."""
        page, more = 0, True
        while more:
            page += 1
            items, more = self.run(replies.opt_outs_page(self.context, page))
            yield from items

    def reply_snapshot(self) -> ReplyCursor:
        return self.run(replies.snapshot(self.context))

    def new_replies(self, cursor: ReplyCursor) -> tuple[list[Reply], ReplyCursor]:
        return self.run(replies.read_new(self.context, cursor))

    def close(self) -> None:
        """Release the pooled connections."""
        self.transport.close()

    def __enter__(self) -> CellcastClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncCellcastClient:
    """The Cellcast API for the event loop (triggers, ``async_notify``): the same plans, awaited.

    No thread is started: requests go through ``aiohttp``, waits are ``asyncio.sleep``, a
    status round runs its lookups as tasks.

    .. code-block:: python

        from airflow_provider_cellcast.client import AsyncCellcastClient


        async def main() -> None:
            async with AsyncCellcastClient("my-api-token") as client:
                report = await client.get_message("675161d8a000000000000000")
                print(report["status"])

    Parameters as for :class:`CellcastClient`, with an async ``transport``, ``pacer`` and ``sleep``.
    """

    def __init__(
        self,
        token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        settings: CellcastSettings | None = None,
        transport: AsyncTransport | None = None,
        pacer: AsyncPacer | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        name: str = "the Cellcast client",
        log: Any = None,
    ) -> None:
        import asyncio

        from airflow_provider_cellcast.client.aio import AiohttpTransport, AsyncRunner

        self.context = _context(token, base_url, settings, name, log)
        ctx = self.context
        wait = sleep or asyncio.sleep
        self.transport: AsyncTransport = transport or AiohttpTransport(ctx.settings)
        self.pacer: AsyncPacer = pacer or build_async_pacer(
            ctx.settings, base_url=ctx.base_url, token=ctx.token, sleep=wait, log=ctx.log
        )
        self._runner = AsyncRunner(self.transport, self.pacer, sleep=wait)

    @property
    def settings(self) -> CellcastSettings:
        return self.context.settings

    async def run(self, plan: Plan[T]) -> T:
        """Carry out any plan of the endpoint modules with this client's driver."""
        return await self._runner.run(plan)

    async def request(self, request: ApiRequest) -> Envelope:
        return await self.run(call(self.context, request))

    async def verify_token(self) -> Envelope:
        return await self.run(account.verify_token(self.context))

    async def get_message(self, message_id: str) -> dict[str, Any]:
        return await self.run(reports.get_message(self.context, message_id))

    async def message_ids_by_reference(
        self, custom_string: str, *, status: str | None = None, message_type: str | None = None
    ) -> list[str]:
        return await self.run(
            reports.message_ids_by_reference(self.context, custom_string, status=status, message_type=message_type)
        )

    async def check_statuses(
        self,
        message_ids: Iterable[str],
        rules: StatusRules,
        known: dict[str, str] | None = None,
        *,
        reference: str | None = None,
        from_date: date | None = None,
    ) -> StatusCheck:
        return await self.run(
            reports.check_statuses(self.context, message_ids, rules, known, reference=reference, from_date=from_date)
        )

    async def send_sms(self, message: str, contacts: Sequence[str] | str, *, sender: str | None = None) -> SendResult:
        """Send an SMS now (what ``async_notify`` needs); the sync client has every option."""
        return await self.run(send.send_sms(self.context, message, contacts, sender=sender))

    async def get_replies(self) -> list[Reply]:
        return await self.run(replies.all_replies(self.context))

    async def get_opt_outs(self) -> list[dict[str, Any]]:
        return await self.run(replies.all_opt_outs(self.context))

    async def reply_snapshot(self) -> ReplyCursor:
        return await self.run(replies.snapshot(self.context))

    async def new_replies(self, cursor: ReplyCursor) -> tuple[list[Reply], ReplyCursor]:
        return await self.run(replies.read_new(self.context, cursor))

    async def close(self) -> None:
        await self.transport.close()
        closer = getattr(self.pacer, "close", None)
        if closer is not None:
            await closer()

    async def __aenter__(self) -> AsyncCellcastClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
