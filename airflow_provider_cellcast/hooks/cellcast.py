"""The Cellcast hook: the only module that speaks HTTP to Cellcast."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import cached_property
from typing import Any, Literal, TypedDict, TypeVar, cast
from urllib.parse import urlsplit

import requests
import tenacity
from airflow.providers.http.hooks.http import HttpHook
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from airflow_provider_cellcast import DEFAULT_BASE_URL, __version__
from airflow_provider_cellcast._compat import mask_secret
from airflow_provider_cellcast.envelope import Envelope, parse_response
from airflow_provider_cellcast.exceptions import (
    CellcastAuthenticationError,
    CellcastConfigurationError,
    CellcastConnectionError,
    CellcastError,
    CellcastInputError,
    CellcastInvalidResponseError,
    CellcastMessageNotCancellableError,
    CellcastMessageNotFoundError,
    CellcastPartialSendError,
    CellcastRateLimitError,
    CellcastSendConnectionLostError,
    CellcastSendOutcomeUnknownError,
    CellcastSendRecoverableError,
    CellcastServerError,
    CellcastUnsuccessfulError,
)
from airflow_provider_cellcast.progress import CancelProgress, ProgressStore
from airflow_provider_cellcast.ratelimit import Pacer, build_pacer
from airflow_provider_cellcast.settings import CellcastSettings
from airflow_provider_cellcast.statuses import (
    CANCELABLE,
    CANCELED,
    NOT_FOUND,
    StatusCheck,
    StatusRules,
    normalise_status,
)
from airflow_provider_cellcast.texts import first_and_more
from airflow_provider_cellcast.validation import (
    MAX_CONTACTS_PER_REQUEST,
    mask_phone,
    validate_contacts,
    validate_country_code,
    validate_message_id,
    validate_message_text,
    validate_message_type,
    validate_reference,
    validate_send_timing,
)

CANCEL_ENDPOINT = "/api/v1/gateway/cancelScheduleQuickMessage"
SEND_SMS_ENDPOINT = "/api/v1/gateway"
MESSAGE_REPORT_ENDPOINT = "/api/v2/report/message"
TOKEN_VERIFY_ENDPOINT = "/api/v1/user/token/verify"
ACCOUNT_ENDPOINT = "/api/v1/apiClient/account"

#: The ``message`` of a result an earlier try of the same task instance settled.
SETTLED_EARLIER = "settled by an earlier try of this task"
#: Messages per page when listing by reference: well inside any page size a list API allows.
LIST_PAGE_SIZE = 100

#: What happened to one message ID a cancel was asked for (the word "outcome" in logs and docs).
Outcome = Literal["cancelled", "already_cancelled", "failed"]
_T = TypeVar("_T")


class SendResult(TypedDict):
    """What a send queued: one message ID per accepted contact, in the order Cellcast gave them.

    Phone numbers appear here masked (:func:`~airflow_provider_cellcast.validation.mask_phone`).
    """

    message_ids: list[str]
    queued: list[dict[str, str]]
    invalid_contacts: list[str]
    unsubscribed_contacts: list[str]
    #: The ``customString`` the messages carry, if any.
    reference: str | None
    #: True when the messages were found by their reference on a retry instead of being sent.
    adopted: bool


class CancelResult(TypedDict):
    """What happened to one message ID (JSON-serialisable, pushed to XCom)."""

    message_id: str
    type: str
    outcome: Outcome
    message: str | None
    error: str | None
    status_code: int | None


def _is_loopback(hostname: str | None) -> bool:
    if not hostname:
        return False
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def _request_never_sent(error: requests.RequestException) -> bool:
    """Whether ``requests`` failed before any byte of the request could reach the server."""
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


class CellcastHook(HttpHook):
    """Talks to the Cellcast gateway API with the token of an Airflow connection.

    The connection (type ``cellcast``) holds the API token in its password field and, optionally,
    the API base URL in its host field (default ``https://api.cellcast.com``). Its extras may set
    any field of :class:`CellcastSettings`; keyword arguments here override them.

    The connection is read once and one pooled ``requests`` session serves every call of the hook,
    including the worker threads of bulk cancels. Transient faults (HTTP 429, 502, 503, 504,
    connection failures, timeouts of idempotent calls) are retried with exponential backoff and
    jitter, honouring ``Retry-After``; everything else raises a typed
    :class:`~airflow_provider_cellcast.exceptions.CellcastError` at once.

    The hook is the one place that knows what is safe to repeat: a cancel is (a refused one is
    looked up), a send is not (:meth:`send_sms` raises errors Airflow never retries when messages
    may already be queued), whoever calls it: an operator, the notifier or a ``@task``.

    What :class:`~airflow.providers.http.hooks.http.HttpHook` offers works through the same
    connection, pooled session, pacing, timeouts and typed errors: ``run(endpoint, data)`` (with the
    hook's ``method``), ``run_with_advanced_retry`` and ``run_and_check`` return the
    ``requests.Response`` of any Cellcast endpoint, and raise a ``CellcastError`` for any answer
    that is not a success (``check_response`` reads the envelope, never logging its body).

    .. code-block:: python

        from airflow.sdk import task


        @task
        def cancel(message_id: str) -> dict:
            from airflow_provider_cellcast.hooks.cellcast import CellcastHook

            return dict(CellcastHook("cellcast_default").cancel_scheduled_message(message_id, "sms"))

    :param cellcast_conn_id: the Airflow connection ID.
    :param method: the HTTP method of the inherited ``run()`` (the hook's own methods choose theirs).
    :param sleep: how the hook waits between attempts and for its pace (tests pass a recorder).
    :param settings_overrides: any :class:`CellcastSettings` field, e.g. ``timeout=10``.
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
        **settings_overrides: Any,
    ) -> None:
        # Our session mounts its own adapter, with a pool sized for the bulk workers.
        super().__init__(method=method, http_conn_id=cellcast_conn_id, tcp_keep_alive=False)
        self.cellcast_conn_id = cellcast_conn_id
        self._sleep = sleep
        self._settings_overrides = settings_overrides
        self._session: requests.Session | None = None

    # -- connection form of Airflow 2.11-3.1 (3.2+ reads get_provider_info() and skips these) ----------

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Hidden, relabelled and placeholder standard fields: the provider info's ``ui-field-behaviour``."""
        from airflow_provider_cellcast import get_provider_info

        behaviour = get_provider_info()["connection-types"][0]["ui-field-behaviour"]
        return {
            "hidden_fields": list(behaviour["hidden-fields"]),
            "relabeling": dict(behaviour["relabeling"]),
            "placeholders": dict(behaviour["placeholders"]),
        }

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """The extra fields as WTForms fields, built from the provider info's ``conn-fields``.

        Same names, labels and descriptions. Airflow before 3.2 accepts only string, integer,
        password and boolean fields, so fractional numbers are text fields: the hook's settings
        check every value (and name the field) when a task uses the connection.
        """
        from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
        from flask_babel import lazy_gettext
        from wtforms import BooleanField, IntegerField, StringField
        from wtforms.validators import NumberRange, Optional

        from airflow_provider_cellcast import get_provider_info

        widgets: dict[str, Any] = {}
        for name, spec in get_provider_info()["connection-types"][0]["conn-fields"].items():
            schema = spec["schema"]
            types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            label, description = lazy_gettext(spec["label"]), spec["description"]
            if "boolean" in types:
                widgets[name] = BooleanField(label, description=description, default=schema.get("default", False))
            elif "integer" in types:
                limits = NumberRange(min=schema.get("minimum"), max=schema.get("maximum"))
                widgets[name] = IntegerField(
                    label, validators=[Optional(), limits], widget=BS3TextFieldWidget(), description=description
                )
            else:
                widgets[name] = StringField(
                    label, validators=[Optional()], widget=BS3TextFieldWidget(), description=description
                )
        return widgets

    # -- connection and session ---------------------------------------------------------------------

    @cached_property
    def connection(self) -> Any:
        """The Airflow connection, fetched once."""
        return self.get_connection(self.cellcast_conn_id)

    @cached_property
    def settings(self) -> CellcastSettings:
        """Effective settings: defaults, then connection extras, then hook arguments."""
        extras = self.connection.extra_dejson or {}
        return CellcastSettings.from_extras(extras, self.cellcast_conn_id).override(**self._settings_overrides)

    @cached_property
    def api_base_url(self) -> str:
        """The API base URL from the connection, checked for transport security."""
        conn = self.connection
        host = (conn.host or "").strip() or self.default_host
        if "://" not in host:
            host = f"{conn.schema or 'https'}://{host}"
        parts = urlsplit(host)
        if conn.port and parts.port is None and parts.hostname:
            host = f"{host.rstrip('/')}:{conn.port}"
            parts = urlsplit(host)
        elif conn.port and parts.port not in (None, conn.port):
            raise CellcastConfigurationError(
                f"Connection {self.cellcast_conn_id!r} names two ports, {parts.port} in its API base URL and "
                f"{conn.port} in its port field: keep one"
            )
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise CellcastConfigurationError(
                f"Connection {self.cellcast_conn_id!r} has an invalid API base URL {host!r}: "
                f"use a URL such as {DEFAULT_BASE_URL}"
            )
        if parts.scheme == "http" and not _is_loopback(parts.hostname):
            if not self.settings.allow_insecure_http:
                raise CellcastConfigurationError(
                    f"Connection {self.cellcast_conn_id!r} points at plain http://{parts.netloc}: the API "
                    "token would travel unencrypted. Use https://, or set the extra "
                    '"allow_insecure_http": true if this is a trusted test server.'
                )
            self.log.warning(
                "Connection %r sends the Cellcast API token over plain HTTP to %s (allow_insecure_http)",
                self.cellcast_conn_id,
                parts.netloc,
            )
        return host.rstrip("/")

    def get_conn(
        self, headers: dict[Any, Any] | None = None, extra_options: dict[str, Any] | None = None
    ) -> requests.Session:
        """The hook's pooled session, created on first use with the Bearer token and TLS settings.

        Unlike ``HttpHook.get_conn`` this never turns connection extras into HTTP headers (our
        extras are settings) and builds the session once per hook instead of once per request.
        ``headers`` are therefore not stored on the shared session: the inherited ``run()`` sends
        them with its own request. ``extra_options`` are the per-call options ``run()`` passes on
        to :meth:`run_and_check` (``timeout``, ``check_response``, ``allow_redirects``).
        """
        # What the inherited run() reads after calling get_conn(): the base URL and the options.
        self.base_url = self.api_base_url
        self.merged_extra = dict(extra_options or {})
        if self._session is None:
            token = self._token
            session = requests.Session()
            session.headers.update(
                {
                    "Authorization": f"Bearer {token}",
                    "Accept": "application/json",
                    "User-Agent": f"airflow-provider-cellcast/{__version__}",
                }
            )
            session.verify = self.settings.verify
            pool = max(10, self.settings.max_concurrency)
            adapter = requests.adapters.HTTPAdapter(pool_connections=2, pool_maxsize=pool)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            self._session = session
        return self._session

    @cached_property
    def _token(self) -> str:
        """The API token from the connection's password field, registered with the secrets masker."""
        token = (self.connection.password or "").strip()
        if not token:
            raise CellcastConfigurationError(
                f"Connection {self.cellcast_conn_id!r} has no API token: put the Cellcast API token "
                "in its password field (labelled 'API token' in the UI)"
            )
        # The task SDK masks connection passwords it fetched; this covers every other way in.
        mask_secret(token)
        return token

    def url_from_endpoint(self, endpoint: str | None) -> str:
        """The URL a request to ``endpoint`` goes to: the connection's checked API base URL, then ``endpoint``."""
        if not endpoint:
            return self.api_base_url
        return f"{self.api_base_url}/{endpoint.lstrip('/')}"

    def close(self) -> None:
        """Release the pooled connections."""
        if self._session is not None:
            self._session.close()
            self._session = None

    @cached_property
    def _pacer(self) -> Pacer:
        # Shared by every task of the account through Redis when rate_limit_redis_conn_id is set.
        return build_pacer(
            self.settings,
            base_url=self.api_base_url,
            token=self._token,
            sleep=self._sleep,
            log=self.log,
        )

    # -- one request ----------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        endpoint: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        files: Any = None,
        data: Any = None,
        idempotent: bool = True,
        what: str | None = None,
        message_id: str | None = None,
    ) -> Envelope:
        """Send one API request with retries for transient faults; return the parsed envelope.

        :param idempotent: whether repeating the request is harmless. When false (a send), a
            request is only repeated if it certainly did not reach Cellcast: after HTTP 429 or a
            connection that was never established.
        :param what: how error texts name the request.
        :param message_id: recorded on raised errors.
        """
        session = self.get_conn()
        what = what or f"{method} {endpoint}"
        prepared = session.prepare_request(
            requests.Request(
                method, f"{self.api_base_url}{endpoint}", json=json, params=params, files=files, data=data
            )
        )

        def attempt() -> Envelope:
            started = time.monotonic()
            response = self._send(session, prepared, timeout=None, what=what, message_id=message_id)
            self.log.debug(
                "Cellcast %s %s -> HTTP %s in %.0f ms",
                method,
                endpoint,
                response.status_code,
                (time.monotonic() - started) * 1000,
            )
            return parse_response(
                response.status_code,
                response.content,
                headers=response.headers,
                what=what,
                message_id=message_id,
            )

        try:
            return self._with_retries(attempt, idempotent=idempotent, what=what)
        except CellcastAuthenticationError as error:
            raise CellcastAuthenticationError(
                f"{error}. Check the API token in the password field of Airflow connection {self.cellcast_conn_id!r}.",
                status_code=error.status_code,
                api_message=error.api_message,
                message_id=message_id,
            ) from error

    def _send(
        self,
        session: requests.Session,
        prepared: requests.PreparedRequest,
        *,
        timeout: Any,
        what: str,
        message_id: str | None = None,
        allow_redirects: bool = True,
    ) -> requests.Response:
        """Send one prepared request at the account's pace; a failure without answer is typed."""
        settings = self.settings
        environment = session.merge_environment_settings(
            prepared.url, session.proxies, session.stream, session.verify, session.cert
        )
        self._pacer.acquire()
        try:
            return session.send(
                prepared,
                timeout=timeout or (settings.connect_timeout, settings.timeout),
                allow_redirects=allow_redirects,
                **environment,
            )
        except requests.RequestException as error:
            never_sent = _request_never_sent(error)
            problem = "could not connect" if never_sent else f"got no complete answer ({type(error).__name__})"
            raise CellcastConnectionError(
                f"Cellcast {problem} for {what} at {self.api_base_url}",
                request_sent=not never_sent,
                message_id=message_id,
            ) from error

    def run_and_check(
        self,
        session: requests.Session,
        prepped_request: requests.PreparedRequest,
        extra_options: dict[Any, Any],
    ) -> requests.Response:
        """Send a request prepared by the inherited ``run()``: paced, with timeouts, typed errors.

        ``extra_options`` may set ``timeout`` (default: the connection's timeouts),
        ``allow_redirects`` and ``check_response`` (default true: see :meth:`check_response`).
        """
        options = extra_options or {}
        path = urlsplit(prepped_request.url or "").path
        response = self._send(
            session,
            prepped_request,
            timeout=options.get("timeout"),
            what=f"{prepped_request.method} {path}",
            allow_redirects=options.get("allow_redirects", True),
        )
        if options.get("check_response", True):
            self.check_response(response)
        return response

    def check_response(self, response: requests.Response) -> None:
        """Raise the typed :class:`CellcastError` for an answer that is not a success.

        Reads the HTTP status and the envelope's verdict (HTTP 200 with ``status: false`` fails
        too); never logs the body, whose ``stack`` field is server internals.
        """
        request = response.request
        parse_response(
            response.status_code,
            response.content,
            headers=response.headers,
            what=f"{request.method} {urlsplit(request.url or '').path}",
        )

    def _with_retries(self, call: Callable[[], _T], *, idempotent: bool, what: str) -> _T:
        settings = self.settings

        def is_transient(error: BaseException) -> bool:
            if not isinstance(error, CellcastError) or not error.transient:
                return False
            if idempotent or isinstance(error, CellcastRateLimitError):
                return True
            return isinstance(error, CellcastConnectionError) and not error.request_sent

        backoff = tenacity.wait_exponential_jitter(
            initial=settings.backoff_seconds, max=settings.max_backoff_seconds, jitter=settings.backoff_seconds
        )

        def wait(state: tenacity.RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            hint = getattr(error, "retry_after", None)
            seconds = min(float(hint), settings.max_backoff_seconds) if hint is not None else backoff(state)
            if isinstance(error, CellcastRateLimitError):
                # Everybody sharing this hook backs off, not only the refused request.
                self._pacer.pause(seconds)
            return seconds

        def before_sleep(state: tenacity.RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            self.log.warning(
                "%s; attempt %d of %d failed, retrying in %.1f s",
                error,
                state.attempt_number,
                settings.max_attempts,
                state.upcoming_sleep,
            )

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(settings.max_attempts)
            | _StopWhenWaitBudgetSpent(settings.max_retry_seconds),
            wait=wait,
            retry=tenacity.retry_if_exception(is_transient),
            before_sleep=before_sleep,
            sleep=self._sleep,
            reraise=True,
        )
        return retrying(call)

    # -- API methods ----------------------------------------------------------------------------------

    def test_connection(self) -> tuple[bool, str]:
        """Check the token with a GET to the token-verify endpoint (never a POST)."""
        try:
            envelope = self.verify_token()
        except CellcastError as error:
            return False, str(error)
        return True, f"Cellcast accepted the API token at {self.api_base_url} ({envelope.message or 'verified'})"

    def verify_token(self) -> Envelope:
        """``GET /api/v1/user/token/verify``: raises :class:`CellcastAuthenticationError` for a bad token."""
        return self.request("GET", TOKEN_VERIFY_ENDPOINT, what="token verification")

    def get_account(self) -> dict[str, Any]:
        """Account name, e-mail and SMS/MMS balances (``GET /api/v1/apiClient/account``)."""
        data = self.request("GET", ACCOUNT_ENDPOINT, what="account lookup").data
        return dict(data) if isinstance(data, Mapping) else {}

    def get_message(self, message_id: str) -> dict[str, Any]:
        """One message's detail and status (``GET /api/v2/report/message/{id}``).

        :raises CellcastMessageNotFoundError: the ID does not exist on this account.
        """
        message_id = validate_message_id(message_id)
        what = f"status lookup of message {message_id}"
        try:
            envelope = self.request("GET", f"{MESSAGE_REPORT_ENDPOINT}/{message_id}", what=what, message_id=message_id)
        except CellcastUnsuccessfulError as error:
            raise self._not_found(message_id, error) from error
        except CellcastError as error:
            if error.status_code == 404:
                raise self._not_found(message_id, error) from error
            raise
        if not isinstance(envelope.data, Mapping) or not envelope.data:
            raise self._not_found(message_id, None)
        return dict(envelope.data)

    def _not_found(self, message_id: str, cause: CellcastError | None) -> CellcastMessageNotFoundError:
        return CellcastMessageNotFoundError(
            f"Cellcast has no message {message_id} on the account of connection {self.cellcast_conn_id!r}: "
            "check the ID and that the connection's token belongs to the account that sent it",
            status_code=cause.status_code if cause else None,
            api_message=cause.api_message if cause else None,
            message_id=message_id,
        )

    def list_messages(
        self,
        *,
        custom_string: str | None = None,
        status: str | None = None,
        message_type: str | None = None,
        page_size: int = LIST_PAGE_SIZE,
    ) -> Iterator[dict[str, Any]]:
        """Messages of the account, page after page (``GET /api/v2/report/message``).

        Filters are sent as Cellcast's query (``customString``, ``status``, ``campType``) and
        checked again on every item, so that a service that ignored a filter costs pages, never a
        wrong answer. A generator: memory stays one page, whatever the campaign's size.
        """
        params: dict[str, Any] = {"limit": page_size}
        if custom_string is not None:
            params["customString"] = custom_string
        if status is not None:
            params["status"] = status
        if message_type is not None:
            params["campType"] = message_type
        page = 1
        while True:
            what = f"message list page {page}"
            data = self.request("GET", MESSAGE_REPORT_ENDPOINT, params={**params, "page": page}, what=what).data
            items = data.get("items") if isinstance(data, Mapping) else None
            if not isinstance(items, list):
                raise CellcastInvalidResponseError(f"Cellcast answered the {what} without an items list")
            for item in items:
                if not isinstance(item, Mapping):
                    continue
                if custom_string is not None and item.get("customString") != custom_string:
                    continue
                if status is not None and normalise_status(item.get("status")) != normalise_status(status):
                    continue
                yield dict(item)
            if not items or not data.get("hasNextPage"):
                return
            page += 1

    def message_ids_by_reference(
        self, custom_string: str, *, status: str | None = None, message_type: str | None = None
    ) -> list[str]:
        """IDs of the messages carrying a reference (optionally in one status, of one type), all pages.

        Every page is read before the caller acts: cancelling shrinks a list filtered on
        ``scheduled``, and paging through a list that shrinks skips entries.
        """
        reference = validate_reference(custom_string)
        if message_type is not None:
            message_type = validate_message_type(message_type)
        found = self.list_messages(custom_string=reference, status=status, message_type=message_type)
        return list(dict.fromkeys(str(item["_id"]) for item in found if isinstance(item.get("_id"), str)))

    def find_sent_by_reference(self, custom_string: str) -> SendResult | None:
        """What earlier sends with this reference queued, as a :class:`SendResult`; ``None`` if nothing."""
        reference = validate_reference(custom_string)
        result = _empty_send_result(reference)
        result["adopted"] = True
        seen: set[str] = set()
        for item in self.list_messages(custom_string=reference):
            message_id = item.get("_id")
            if isinstance(message_id, str) and message_id not in seen:
                seen.add(message_id)
                result["message_ids"].append(message_id)
                result["queued"].append({"message_id": message_id, "contact": mask_phone(item.get("receiver", ""))})
        return result if result["message_ids"] else None

    def check_statuses(
        self, message_ids: Iterable[str], rules: StatusRules, known: Mapping[str, str] | None = None
    ) -> StatusCheck:
        """Look up every ID not already done and classify it with ``rules`` (one polling round).

        ``known`` holds statuses from earlier rounds: an ID once seen in a target status is not
        asked about again, so a campaign costs fewer requests per round as it progresses. IDs are
        looked up concurrently at the account's pace (one round of N IDs takes about N /
        ``requests_per_second``). An ID Cellcast does not know counts as ``not_found``; other
        errors propagate as typed :class:`CellcastError`.
        """
        known = known or {}
        ids = list(message_ids)
        statuses = {message_id: known.get(message_id) for message_id in ids}
        to_ask = [mid for mid, status in statuses.items() if status is None or rules.verdict(status) != "done"]
        for message_id, status in self._paced_map(self._current_status, to_ask, label="status check"):
            statuses[message_id] = status
        check = StatusCheck()
        for message_id in ids:
            status = statuses[message_id] or "unknown"
            check.statuses[message_id] = status
            getattr(check, rules.verdict(status)).append(message_id)
        return check

    def _current_status(self, message_id: str) -> str:
        try:
            return normalise_status(self.get_message(message_id).get("status"))
        except CellcastMessageNotFoundError:
            return NOT_FOUND

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
    ) -> SendResult:
        """Send or schedule an SMS to ``contacts`` (``POST /api/v1/gateway``).

        Every value is checked before any request (:class:`CellcastInputError` naming the field).
        More than 1,000 contacts are split into several requests. A send is not idempotent, so:

        * a request is repeated only when it certainly did not reach Cellcast (HTTP 429, a
          connection that was never established); other refusals Cellcast stated (4xx, ``status:
          false``) are raised as they are: nothing was queued, a task retry is safe;
        * when the request reached Cellcast but its answer was lost (connection dropped, timeout,
          any 5xx, an unreadable answer), :class:`CellcastSendOutcomeUnknownError` is raised (for a
          lost connection its subclass :class:`CellcastSendConnectionLostError`): an
          ``AirflowFailException``, never retried by Airflow, because messages may be queued;
        * when a later request fails after earlier ones queued messages,
          :class:`CellcastPartialSendError` is raised, carrying what was queued in
          ``partial_result``.

        :param contacts: phone numbers: a list, a comma-separated string or a rendered list.
        :param schedule_at: an aware datetime, an ISO 8601 string with an offset, or a
            ``timedelta`` from now; more than a minute in the past is refused. Sent as UTC ISO 8601.
        :param delay_ms: alternatively, a delay in milliseconds (at most 86,400,000).
        :param custom_string: a reference stored with every message (Cellcast's ``customString``).
        :param recover_by_reference: ``custom_string`` is unique to this send (one task instance):
            a single-request send (at most 1,000 contacts) whose answer was lost then raises the
            retryable :class:`CellcastSendRecoverableError` instead of the never-retried
            :class:`CellcastSendOutcomeUnknownError`.
        :param adopt_existing: with ``recover_by_reference``, first look the reference up
            (:meth:`find_sent_by_reference`): messages found are returned, marked ``adopted``, and
            nothing is sent. The send operator sets it on every try after the first.
        """
        message = validate_message_text(message)
        numbers = validate_contacts(contacts)
        now = datetime.now(timezone.utc)
        schedule_text, delay = validate_send_timing(schedule_at, delay_ms, now=now)
        body: dict[str, Any] = {"message": message}
        if sender:
            body["sender"] = sender
        country = validate_country_code(country_code)
        if country is not None:
            body["countryCode"] = country
        reference = validate_reference(custom_string) if custom_string else None
        if recover_by_reference and reference is None:
            raise CellcastInputError(
                "custom_string", custom_string, "recover_by_reference needs a custom_string unique to the send"
            )
        if reference:
            body["customString"] = reference
        if adopt_existing and recover_by_reference and reference:
            adopted = self.find_sent_by_reference(reference)
            if adopted is not None:
                self.log.warning(
                    "Adopted %d message(s) that an earlier try queued with reference %r: not sending again",
                    len(adopted["message_ids"]),
                    reference,
                )
                return adopted
            self.log.info("No message carries reference %r yet: the earlier try queued nothing; sending", reference)
        if schedule_text is not None:
            body["scheduleAt"] = schedule_text
        if delay is not None:
            body["delay"] = delay
        when = f"scheduled for {schedule_text}" if schedule_text else (f"after {delay} ms" if delay else "now")
        self.log.info(
            "Sending an SMS to %d contact(s) %s through connection %r", len(numbers), when, self.cellcast_conn_id
        )
        total = _empty_send_result(reference)
        recoverable = recover_by_reference and len(numbers) <= MAX_CONTACTS_PER_REQUEST
        for start in range(0, len(numbers), MAX_CONTACTS_PER_REQUEST):
            chunk = numbers[start : start + MAX_CONTACTS_PER_REQUEST]
            what = f"SMS send to {len(chunk)} contact(s)"
            try:
                envelope = self.request(
                    "POST", SEND_SMS_ENDPOINT, json={**body, "contacts": chunk}, idempotent=False, what=what
                )
                _merge_send(total, envelope.data, what)
            except CellcastError as error:
                failure = self._send_failure(error, total, reference if recoverable else None)
                if failure is error:
                    raise
                raise failure from error
        self.log.info(
            "Cellcast queued %d message(s); %d invalid and %d unsubscribed contact(s) skipped",
            len(total["message_ids"]),
            len(total["invalid_contacts"]),
            len(total["unsubscribed_contacts"]),
        )
        return total

    def _send_failure(self, error: CellcastError, queued: SendResult, unique_reference: str | None) -> CellcastError:
        """The error a failed send request raises: ``error`` itself only if nothing can have been queued."""
        unknown = _outcome_unknown(error)
        if queued["message_ids"]:
            self.log.error(
                "A send request failed after %d message(s) were already queued: %s",
                len(queued["message_ids"]),
                first_and_more(queued["message_ids"], 20),
            )
            also = " (its messages may have been queued too)" if unknown else ""
            return CellcastPartialSendError(
                f"Only part of the send went through: {len(queued['message_ids'])} message(s) were queued "
                f"before a later request failed{also}: {error}. The queued message IDs are in the error's "
                "partial_result (the send operator pushes them to XCom 'send_result') and were not "
                "cancelled. Failed without retries so that they are not sent twice.",
                partial_result=queued,
                status_code=error.status_code,
                api_message=error.api_message,
            )
        if not unknown:
            return error
        if unique_reference:
            return CellcastSendRecoverableError(
                f"{error}. The request reached Cellcast, so the messages may have been queued. If the task "
                f"is retried (retries > 0, or cleared), the next try first looks up reference "
                f"{unique_reference!r}: it adopts what was queued, and sends only if nothing was.",
                reference=unique_reference,
                status_code=error.status_code,
                api_message=error.api_message,
            )
        advice = (
            "The request reached Cellcast, so the messages may have been queued even though no usable "
            "answer came back. Failed without retries so that the campaign is not sent twice: check "
            "the Cellcast dashboard (or the message report) before sending again."
        )
        common: dict[str, Any] = {"status_code": error.status_code, "api_message": error.api_message}
        if isinstance(error, CellcastConnectionError):
            return CellcastSendConnectionLostError(f"{error}. {advice}", request_sent=True, **common)
        return CellcastSendOutcomeUnknownError(f"{error}. {advice}", **common)

    def cancel_scheduled_message(self, message_id: str, message_type: str = "sms") -> CancelResult:
        """Cancel one scheduled SMS or MMS; safe to repeat.

        When Cellcast does not carry out the cancel, the message is looked up: if it is already
        cancelled the outcome is ``already_cancelled`` (so re-running a DAG, or retrying after a
        timeout whose cancel did reach Cellcast, succeeds); otherwise a typed error says why.

        :raises CellcastMessageNotCancellableError: it was already sent (not retried by Airflow).
        :raises CellcastMessageNotFoundError: no such message on this account.
        :raises CellcastError: any other failure.
        """
        message_id = validate_message_id(message_id)
        message_type = validate_message_type(message_type)
        what = f"cancel of {message_type} message {message_id}"
        try:
            envelope = self.request(
                "POST",
                CANCEL_ENDPOINT,
                json={"messageId": message_id, "type": message_type},
                what=what,
                message_id=message_id,
            )
        except CellcastUnsuccessfulError as refusal:
            return self._explain_refused_cancel(message_id, message_type, refusal)
        return _result(message_id, message_type, "cancelled", message=envelope.message)

    def _explain_refused_cancel(
        self, message_id: str, message_type: str, refusal: CellcastUnsuccessfulError
    ) -> CancelResult:
        try:
            report = self.get_message(message_id)
        except CellcastMessageNotFoundError as missing:
            raise missing from refusal
        except CellcastError as lookup_error:
            self.log.warning("Could not look up message %s after a refused cancel: %s", message_id, lookup_error)
            raise refusal from None
        status = normalise_status(report.get("status"))
        if status == CANCELED:
            return _result(message_id, message_type, "already_cancelled", message=refusal.api_message)
        if status == CANCELABLE:
            raise CellcastUnsuccessfulError(
                f"{refusal} The message is still scheduled (for {report.get('scheduleAt') or 'an unknown time'}): "
                f"check that message_type {message_type!r} is the type it was sent as.",
                status_code=refusal.status_code,
                api_message=refusal.api_message,
                message_id=message_id,
            ) from refusal
        sent_at = report.get("send_time") or report.get("updatedAt")
        raise CellcastMessageNotCancellableError(
            f"Cannot cancel {message_type} message {message_id}: Cellcast reports it as {status!r}"
            f"{f' since {sent_at}' if sent_at else ''}, so it has already gone out or ended.",
            status_code=refusal.status_code,
            api_message=refusal.api_message,
            message_id=message_id,
            message_status=status,
            sent_at=str(sent_at) if sent_at else None,
        ) from refusal

    def cancel_scheduled_messages(
        self,
        message_ids: Iterable[str],
        message_type: str = "sms",
        *,
        progress_store: ProgressStore | None = None,
        progress_every: float = 5.0,
    ) -> list[CancelAttempt]:
        """Cancel many messages concurrently at the configured pace; never raises per ID.

        Returns one :class:`CancelAttempt` per distinct ID, in input order. Workers share the
        session, the pace (``requests_per_second``) and 429 pauses. Progress is logged at most
        every ``progress_every`` seconds.

        With a ``progress_store`` (the operator passes the task instance's, see
        :mod:`airflow_provider_cellcast.progress`) the settled IDs are saved as the work goes (every
        1 % of the IDs or every second) and IDs that an earlier try settled are not asked again:
        their result says ``settled by an earlier try of this task``. The record is dropped once
        every ID is settled.
        """
        ids = list(dict.fromkeys(validate_message_id(message_id) for message_id in message_ids))
        message_type = validate_message_type(message_type)
        if not ids:
            return []
        progress = CancelProgress(ids, message_type)
        earlier = self._restore_progress(progress, progress_store, len(ids))
        outcomes = {
            message_id: CancelAttempt(
                _result(message_id, message_type, cast("Outcome", outcome), message=SETTLED_EARLIER)
            )
            for message_id, outcome in earlier.items()
        }
        # Saved often enough that a retry repeats at most about 1 % of the work (or 1 s of it).
        save_every, last_saved, unsaved = max(1, len(ids) // 100), time.monotonic(), 0
        for message_id, attempt in self._paced_map(
            lambda message_id: self._attempt_cancel(message_id, message_type),
            [message_id for message_id in ids if message_id not in earlier],
            label="cancel",
            progress_every=progress_every,
            failed=lambda attempt: attempt.error is not None,
        ):
            outcomes[message_id] = attempt
            progress.mark(message_id, attempt.result["outcome"])
            unsaved += 1
            if progress_store is not None and (unsaved >= save_every or time.monotonic() - last_saved >= 1.0):
                self._save_progress(progress_store, progress)
                last_saved, unsaved = time.monotonic(), 0
        if progress_store is not None:
            if all(attempt.error is None for attempt in outcomes.values()):
                self._save_progress(progress_store, None)
            elif unsaved:
                self._save_progress(progress_store, progress)
        return [outcomes[message_id] for message_id in ids]

    def _restore_progress(
        self, progress: CancelProgress, store: ProgressStore | None, total: int
    ) -> dict[str, str]:
        """IDs an earlier try of this task settled, from ``store`` (none when it has no usable record)."""
        if store is None:
            return {}
        try:
            record = store.load()
        except Exception as error:  # a progress store that cannot be read only costs repeated work
            self.log.warning("Could not read the progress of an earlier try (%s): cancelling every ID", error)
            return {}
        if not progress.restore(record):
            return {}
        earlier = progress.settled()
        self.log.info(
            "An earlier try of this task settled %d of %d message(s): cancelling the other %d",
            len(earlier),
            total,
            total - len(earlier),
        )
        return earlier

    def _save_progress(self, store: ProgressStore, progress: CancelProgress | None) -> None:
        """Save ``progress`` (``None``: everything settled, drop the record); a failure only costs work."""
        try:
            if progress is None:
                store.clear()
            else:
                store.save(progress.to_record())
        except Exception as error:
            self.log.warning("Could not save the cancel progress (%s): a retry would repeat more requests", error)

    def _paced_map(
        self,
        call: Callable[[str], _T],
        items: Sequence[str],
        *,
        label: str,
        progress_every: float = 5.0,
        failed: Callable[[_T], bool] = lambda _: False,
    ) -> Iterator[tuple[str, _T]]:
        """``call(item)`` for every item on ``max_concurrency`` threads at the account's pace.

        Yields ``(item, result)`` as they complete. At most a few requests per worker are queued
        at a time, so memory stays bounded whatever the number of items (100,000 IDs included).
        Workers share the session, the pace (``requests_per_second``) and 429 pauses. Progress
        is logged at most every ``progress_every`` seconds.
        """
        if not items:
            return
        self.get_conn()  # resolve connection problems once, before starting workers
        workers = min(self.settings.max_concurrency, len(items))
        window = workers * 4
        pending_items = iter(items)
        done_count = failed_count = 0
        started = last_report = time.monotonic()
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"cellcast-{label}") as pool:
            in_flight: dict[Future[_T], str] = {}
            while True:
                for item in pending_items:
                    in_flight[pool.submit(call, item)] = item
                    if len(in_flight) >= window:
                        break
                if not in_flight:
                    break
                done, _ = wait(in_flight, timeout=progress_every, return_when=FIRST_COMPLETED)
                for future in done:
                    item = in_flight.pop(future)
                    result = future.result()
                    done_count += 1
                    failed_count += failed(result)
                    yield item, result
                now = time.monotonic()
                if len(items) > 1 and (now - last_report >= progress_every or done_count == len(items)):
                    last_report = now
                    self.log.info(
                        "Cellcast %s progress: %d/%d done, %d failed, %.1f requests/s",
                        label,
                        done_count,
                        len(items),
                        failed_count,
                        done_count / max(now - started, 1e-9),
                    )

    def _attempt_cancel(self, message_id: str, message_type: str) -> CancelAttempt:
        try:
            return CancelAttempt(self.cancel_scheduled_message(message_id, message_type))
        except CellcastError as error:
            return CancelAttempt(
                _result(
                    message_id,
                    message_type,
                    "failed",
                    message=error.api_message,
                    error=str(error),
                    status_code=error.status_code,
                ),
                error=error,
            )


class _StopWhenWaitBudgetSpent(tenacity.stop.stop_base):
    """Stop before the time spent waiting between attempts would pass ``seconds``.

    Time spent in requests does not count: the timeouts times the attempts bound that.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        return retry_state.idle_for + (retry_state.upcoming_sleep or 0.0) > self.seconds


@dataclass(frozen=True)
class CancelAttempt:
    """One ID's :class:`CancelResult` plus, when it failed, the typed error behind it."""

    result: CancelResult
    error: CellcastError | None = field(default=None, compare=False)

    @property
    def message_id(self) -> str:
        return self.result["message_id"]


def _result(
    message_id: str,
    message_type: str,
    outcome: Outcome,
    *,
    message: str | None = None,
    error: str | None = None,
    status_code: int | None = None,
) -> CancelResult:
    return {
        "message_id": message_id,
        "type": message_type,
        "outcome": outcome,
        "message": message,
        "error": error,
        "status_code": status_code,
    }


def _empty_send_result(reference: str | None) -> SendResult:
    return SendResult(
        message_ids=[],
        queued=[],
        invalid_contacts=[],
        unsubscribed_contacts=[],
        reference=reference,
        adopted=False,
    )


def _outcome_unknown(error: CellcastError) -> bool:
    """Whether a failed send request may still have queued messages.

    Certainly nothing was queued after a refusal Cellcast stated (4xx, 401, 429, ``status:
    false``) or a connection that was never established. A connection broken after sending, any
    5xx (a proxy's 502/504 often hides a request the service carried out) and an unreadable
    answer leave the outcome unknown.
    """
    if isinstance(error, CellcastConnectionError):
        return error.request_sent
    return isinstance(error, CellcastServerError | CellcastInvalidResponseError)


def _merge_send(total: SendResult, data: Any, what: str) -> None:
    """Add one send answer's ``data`` to ``total``, insisting on the documented shape."""
    queue = data.get("queueResponse") if isinstance(data, Mapping) else None
    if not isinstance(queue, list):
        raise CellcastInvalidResponseError(
            f"Cellcast answered the {what} without a queueResponse list: the messages may or may not be "
            "queued; check the Cellcast dashboard before sending again"
        )
    for entry in queue:
        message_id = entry.get("MessageId") if isinstance(entry, Mapping) else None
        if not isinstance(message_id, str):
            continue
        total["message_ids"].append(message_id)
        total["queued"].append({"message_id": message_id, "contact": mask_phone(entry.get("Contact", ""))})
    for key, target in (("invalidContacts", "invalid_contacts"), ("unsubscribeContacts", "unsubscribed_contacts")):
        listed = data.get(key)
        if isinstance(listed, list):
            total[target].extend(mask_phone(item) for item in listed)  # type: ignore[literal-required]

