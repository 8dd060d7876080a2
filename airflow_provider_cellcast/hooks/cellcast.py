"""The Cellcast hook: the Airflow connection, its form, the HttpHook surface; the client does the rest."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import requests
from airflow.providers.http.hooks.http import HttpHook

from airflow_provider_cellcast import DEFAULT_BASE_URL
from airflow_provider_cellcast._compat import get_async_connection, get_async_extra_dejson, mask_secret
from airflow_provider_cellcast.client import AsyncCellcastClient, CellcastClient
from airflow_provider_cellcast.client.reports import LIST_PAGE_SIZE
from airflow_provider_cellcast.client.results import (  # re-exported: public names of the hook module
    SETTLED_EARLIER,
    CancelAttempt,
    CancelOutcomes,
    CancelResult,
    Outcome,
    SendResult,
)
from airflow_provider_cellcast.client.transport import as_requests_response, from_prepared
from airflow_provider_cellcast.client.wire import USER_AGENT, base_url_from_fields, check_token
from airflow_provider_cellcast.envelope import Envelope, parse_response
from airflow_provider_cellcast.exceptions import CellcastConfigurationError, CellcastError
from airflow_provider_cellcast.settings import CellcastSettings

if TYPE_CHECKING:
    from airflow_provider_cellcast.client.reply_cursor import Reply
    from airflow_provider_cellcast.client.transport import Transport
    from airflow_provider_cellcast.progress import ProgressStore
    from airflow_provider_cellcast.statuses import StatusCheck, StatusRules

__all__ = [
    "SETTLED_EARLIER",
    "CancelAttempt",
    "CancelOutcomes",
    "CancelResult",
    "CellcastHook",
    "Outcome",
    "SendResult",
]


class CellcastHook(HttpHook):
    """Talks to the Cellcast gateway API with the token of an Airflow connection.

    The connection (type ``cellcast``): the API token in its password field, optionally the API
    base URL in its host field (default ``https://api.cellcast.com``), any
    :class:`~airflow_provider_cellcast.settings.CellcastSettings` field as an extra (keyword
    arguments here override them). Read once, under a lock, it gives a
    :class:`~airflow_provider_cellcast.client.CellcastClient` that owns every HTTP detail (auth,
    deadlines, pace, retries, envelopes, typed errors) and what is safe to repeat: a cancel is, a
    send is not. The inherited ``HttpHook`` surface (``run``, ``run_with_advanced_retry``,
    ``run_and_check``, ``check_response``) goes through the same connection, pace, deadlines and
    typed errors, and never follows a redirect.

    .. code-block:: python

        from airflow.sdk import task


        @task
        def cancel(message_id: str) -> dict:
            from airflow_provider_cellcast.hooks.cellcast import CellcastHook

            return dict(CellcastHook("cellcast_default").cancel_scheduled_message(message_id, "sms"))

    :param cellcast_conn_id: the Airflow connection ID.
    :param method: the HTTP method of the inherited ``run()`` (the hook's own methods choose theirs).
    :param sleep: how the client waits (tests pass a recorder); ``transport``: what sends (tests
        pass a scripted one); ``settings_overrides``: any ``CellcastSettings`` field.
    """

    conn_name_attr = "cellcast_conn_id"
    default_conn_name = "cellcast_default"
    conn_type = "cellcast"
    hook_name = "Cellcast"
    #: The API base URL when the connection's host is empty.
    default_host = DEFAULT_BASE_URL

    def __init__(
        self,
        cellcast_conn_id: str = default_conn_name,
        *,
        method: str = "POST",
        sleep: Callable[[float], None] = time.sleep,
        transport: Transport | None = None,
        **settings_overrides: Any,
    ) -> None:
        super().__init__(method=method, http_conn_id=cellcast_conn_id, tcp_keep_alive=False)
        self.cellcast_conn_id = cellcast_conn_id
        self._sleep = sleep
        self._transport = transport
        self._settings_overrides = settings_overrides
        # One lock for everything built lazily: on free-threaded or 3.12+ Pythons cached_property
        # no longer locks, and 64 cancel workers must share one connection lookup and one pace.
        self._lock = threading.RLock()
        self._connection: Any = None
        self._settings: CellcastSettings | None = None
        self._client: CellcastClient | None = None
        self._session: requests.Session | None = None

    # -- connection form of Airflow 2.11-3.1 (3.2+ reads get_provider_info() and skips these) ----------

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Hidden, relabelled and placeholder standard fields: the provider info's ``ui-field-behaviour``."""
        from airflow_provider_cellcast.hooks.form import ui_field_behaviour

        return ui_field_behaviour()

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """The extra fields as WTForms fields, built from the provider info's ``conn-fields``."""
        from airflow_provider_cellcast.hooks.form import connection_form_widgets

        return connection_form_widgets()

    # -- the connection, read once ----------------------------------------------------------------------

    @property
    def _where(self) -> str:
        return f"Connection {self.cellcast_conn_id!r}"

    @property
    def connection(self) -> Any:
        """The Airflow connection, fetched once."""
        with self._lock:
            if self._connection is None:
                self._connection = self.get_connection(self.cellcast_conn_id)
            return self._connection

    @property
    def settings(self) -> CellcastSettings:
        """Effective settings: defaults, then connection extras, then hook arguments."""
        with self._lock:
            if self._settings is None:
                self._settings = self._settings_from(self.connection.extra_dejson or {})
            return self._settings

    def _settings_from(self, extras: dict[str, Any]) -> CellcastSettings:
        return CellcastSettings.from_extras(extras, self.cellcast_conn_id).override(**self._settings_overrides)

    def _base_url_of(self, conn: Any) -> str:
        return base_url_from_fields(conn.host, conn.schema, conn.port, default=self.default_host, where=self._where)

    def _token_of(self, conn: Any) -> str:
        token = check_token(conn.password, self._where)
        mask_secret(token)  # the task SDK masks passwords it fetched; this covers every other way in
        return token

    @property
    def client(self) -> CellcastClient:
        """The Cellcast client of this connection, built once."""
        with self._lock:
            if self._client is None:
                conn = self.connection
                self._client = CellcastClient(
                    self._token_of(conn),
                    base_url=self._base_url_of(conn),
                    settings=self.settings,
                    transport=self._transport,
                    sleep=self._sleep,
                    name=f"Airflow connection {self.cellcast_conn_id!r}",
                    log=self.log,
                )
            return self._client

    async def get_async_client(self) -> AsyncCellcastClient:
        """An :class:`~airflow_provider_cellcast.client.AsyncCellcastClient` of this connection.

        The connection is fetched without blocking the event loop (triggers, ``async_notify``);
        close the client when done (``async with await hook.get_async_client() as client``).
        """
        conn = await get_async_connection(self.cellcast_conn_id, self)
        return AsyncCellcastClient(
            self._token_of(conn),
            base_url=self._base_url_of(conn),
            settings=self._settings_from(await get_async_extra_dejson(conn)),
            name=f"Airflow connection {self.cellcast_conn_id!r}",
            log=self.log,
        )

    @property
    def api_base_url(self) -> str:
        """The API base URL from the connection, checked (https, or http to loopback; no credentials)."""
        return self.client.base_url

    def close(self) -> None:
        """Release the pooled connections (a later call builds them again)."""
        with self._lock:
            client, self._client = self._client, None
            session, self._session = self._session, None
        if client is not None:
            client.close()
        if session is not None:
            session.close()

    # -- the HttpHook surface -------------------------------------------------------------------------

    def get_conn(
        self, headers: dict[Any, Any] | None = None, extra_options: dict[str, Any] | None = None
    ) -> requests.Session:
        """A session that prepares the inherited ``run()``'s requests with the Bearer token.

        Unlike ``HttpHook.get_conn`` this never turns connection extras into HTTP headers (our
        extras are settings) and is built once per hook. ``headers`` are not stored on it: the
        inherited ``run()`` sends them with its own request. The request itself goes out through
        the client (:meth:`run_and_check`).
        """
        client = self.client
        # What the inherited run() reads after calling get_conn(): the base URL and the options.
        self.base_url = client.base_url
        self.merged_extra = dict(extra_options or {})
        with self._lock:
            if self._session is None:
                session = requests.Session()
                session.trust_env = False
                session.headers.update(
                    {
                        "Authorization": f"Bearer {client.context.token}",
                        "Accept": "application/json",
                        "User-Agent": USER_AGENT,
                    }
                )
                self._session = session
            return self._session

    def url_from_endpoint(self, endpoint: str | None) -> str:
        """The URL a request to ``endpoint`` goes to: the connection's checked API base URL, then ``endpoint``."""
        base = self.api_base_url
        return f"{base}/{endpoint.lstrip('/')}" if endpoint else base

    def run_and_check(
        self, session: requests.Session, prepped_request: requests.PreparedRequest, extra_options: dict[Any, Any]
    ) -> requests.Response:
        """Send a request prepared by the inherited ``run()`` through the client: paced, one attempt.

        ``extra_options`` may set ``timeout`` (seconds for the attempt; default the connection's
        ``timeout``) and ``check_response`` (default true: see :meth:`check_response`).
        ``allow_redirects`` is ignored: Cellcast calls never follow redirects.
        """
        options = extra_options or {}
        url = prepped_request.url or ""
        base = self.api_base_url
        if not (url == base or url.startswith(base + "/") or url.startswith(base + "?")):
            raise CellcastConfigurationError(f"{self._where}: run() may only call the connection's API at {base}")
        request, deadline = from_prepared(prepped_request, options.get("timeout"))
        what = f"{request.method} {url[len(base) :].split('?')[0] or '/'}"
        answer = self.client.transmit(request, what=what, deadline=deadline)
        response = as_requests_response(answer, prepped_request)
        if options.get("check_response", True):
            self.check_response(response)
        return response

    def check_response(self, response: requests.Response) -> None:
        """Raise the typed ``CellcastError`` for an answer that is not a success.

        Reads the HTTP status and the envelope's verdict (HTTP 200 with ``status: false`` fails
        too); never logs the body, whose ``stack`` field is server internals.
        """
        request = response.request
        path = (request.url or "").removeprefix(self.api_base_url).split("?")[0] if request else ""
        parse_response(
            response.status_code, response.content, headers=response.headers, what=f"{request.method} {path}"
        )

    # -- the Cellcast API: one line each, the client does the work -----------------------------------

    def test_connection(self) -> tuple[bool, str]:
        """Check the token with a GET to the token-verify endpoint (never a POST)."""
        try:
            envelope = self.verify_token()
        except CellcastError as error:
            return False, str(error)
        return True, f"Cellcast accepted the API token at {self.api_base_url} ({envelope.message or 'verified'})"

    def verify_token(self) -> Envelope:
        """``GET /api/v1/user/token/verify``: raises ``CellcastAuthenticationError`` for a bad token."""
        return self.client.verify_token()

    def get_account(self) -> dict[str, Any]:
        """Account name, e-mail and SMS/MMS balances (``GET /api/v1/apiClient/account``)."""
        return self.client.get_account()

    def get_message(self, message_id: str) -> dict[str, Any]:
        """One message's detail and status; raises ``CellcastMessageNotFoundError`` for an unknown ID."""
        return self.client.get_message(message_id)

    def list_messages(
        self,
        *,
        custom_string: str | None = None,
        status: str | None = None,
        message_type: str | None = None,
        page_size: int = LIST_PAGE_SIZE,
    ) -> Iterator[dict[str, Any]]:
        """Messages of the account, page after page (``GET /api/v2/report/message``); filters re-checked."""
        return self.client.list_messages(
            custom_string=custom_string, status=status, message_type=message_type, page_size=page_size
        )

    def get_replies(self) -> Iterator[Reply]:
        """Inbound replies, every page, in Cellcast's order; ``from`` normalised (``GET .../getResponses``)."""
        return self.client.get_replies()

    def get_opt_outs(self) -> Iterator[dict[str, Any]]:
        """The opt-out list, every page (``GET /api/v1/apiClient/getOptout``)."""
        return self.client.get_opt_outs()

    def message_ids_by_reference(
        self, custom_string: str, *, status: str | None = None, message_type: str | None = None
    ) -> list[str]:
        """IDs of the messages carrying a reference (optionally in one status, of one type), all pages."""
        return self.client.message_ids_by_reference(custom_string, status=status, message_type=message_type)

    def find_sent_by_reference(self, custom_string: str) -> SendResult | None:
        """What earlier sends with this reference queued, as a ``SendResult``; ``None`` if nothing."""
        return self.client.find_sent_by_reference(custom_string)

    def check_statuses(
        self,
        message_ids: Iterable[str],
        rules: StatusRules,
        known: dict[str, str] | None = None,
        *,
        reference: str | None = None,
        from_date: date | None = None,
    ) -> StatusCheck:
        """One polling round over every ID not already done, classified with ``rules``."""
        return self.client.check_statuses(message_ids, rules, known, reference=reference, from_date=from_date)

    def cancel_scheduled_message(self, message_id: str, message_type: str = "sms") -> CancelResult:
        """Cancel one scheduled SMS or MMS; safe to repeat (see :mod:`airflow_provider_cellcast.client.cancel`)."""
        return self.client.cancel_scheduled_message(message_id, message_type)

    def cancel_scheduled_messages(
        self,
        message_ids: Iterable[str],
        message_type: str = "sms",
        *,
        progress_store: ProgressStore | None = None,
        progress_every: float = 30.0,
    ) -> CancelOutcomes:
        """Cancel many messages concurrently at the account's pace, optionally resuming a failed try."""
        return self.client.cancel_scheduled_messages(
            message_ids, message_type, progress_store=progress_store, progress_every=progress_every
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
        """Send or schedule an SMS, safely: see :meth:`airflow_provider_cellcast.client.CellcastClient.send_sms`."""
        return self.client.send_sms(
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
        """Send an MMS now, safely: see :meth:`airflow_provider_cellcast.client.CellcastClient.send_mms`."""
        return self.client.send_mms(message, contacts, media=media, gif=gif, sender=sender, country_code=country_code)
