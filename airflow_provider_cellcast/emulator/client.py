"""A small ``requests`` client for a running Cellcast emulator's control plane.

Use it against an emulator started elsewhere (``cellcast-emulator`` in a container, say); the
in-process :class:`~airflow_provider_cellcast.emulator.server.CellcastEmulator` has the same methods.
Imports only ``requests`` and the standard library.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Any

import requests


class EmulatorClientError(RuntimeError):
    """The emulator refused a control-plane or convenience request.

    :ivar status_code: the HTTP status of the emulator's answer.
    """

    def __init__(self, text: str, status_code: int | None = None) -> None:
        super().__init__(text)
        self.status_code = status_code


class _Unset(enum.Enum):
    UNSET = enum.auto()


_UNSET = _Unset.UNSET


def _time_text(value: datetime | str) -> str:
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return aware.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    return value


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class EmulatorClient:
    """Drive a Cellcast emulator: reset it, seed messages, inject faults, read its journal.

    :param base_url: the emulator's URL, e.g. ``http://127.0.0.1:8079``.
    :param token: API token used by :meth:`schedule_campaign` when none is given there.
    :param timeout: seconds to wait for each control-plane answer.

    Example::

        emulator = EmulatorClient("http://127.0.0.1:8079", token="test-token")
        emulator.reset()
        msg = emulator.seed_message(status="scheduled", schedule_at="2030-01-01 09:00:00")
        emulator.inject_fault("status", status=503, retry_after=2, message_id=msg["_id"], count=1)
        ...  # run the DAG or hook under test
        assert emulator.message(msg["_id"])["status"] == "canceled"
        assert emulator.request_count("/api/v1/gateway/cancelScheduleQuickMessage") == 2
        assert emulator.rate_limited_count() == 0
    """

    def __init__(self, base_url: str, *, token: str | None = None, timeout: float = 10.0) -> None:
        self._base_url = base_url.rstrip("/")
        self._default_token = token
        self.timeout = timeout
        self._session = requests.Session()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_url!r})"

    @property
    def token(self) -> str | None:
        """The API token this client sends by default (the emulator's token, when known)."""
        return self._default_token

    @property
    def base_url(self) -> str:
        """The emulator's base URL, without a trailing slash."""
        return self._base_url

    def close(self) -> None:
        """Close the HTTP session."""
        self._session.close()

    # ----------------------------------------------------------------- plumbing
    def _call(self, method: str, path: str, body: Any = None) -> Any:
        response = self._session.request(method, f"{self.base_url}{path}", json=body, timeout=self.timeout)
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if response.status_code >= 400:
            text = payload.get("message") if isinstance(payload, dict) else response.text[:200]
            raise EmulatorClientError(f"{method} {path}: HTTP {response.status_code}: {text}", response.status_code)
        return payload

    # ----------------------------------------------------------------- state
    def reset(self) -> None:
        """Forget messages, faults, journal, opt-outs and clock offset; restore settings and balances."""
        self._call("POST", "/_emulator/reset")

    def seed_message(
        self,
        *,
        message_id: str | None = None,
        type: str = "sms",
        status: str = "scheduled",
        message: str | None = None,
        sender: str | None = None,
        receiver: str | None = None,
        schedule_at: datetime | str | None = None,
        send_time: datetime | str | None = None,
        created_at: datetime | str | None = None,
        custom_string: str | None = None,
        auto_advance: bool = True,
    ) -> dict[str, Any]:
        """Store a message directly (no credits charged) and return it as the control plane shows it.

        A ``scheduled`` message without ``schedule_at`` is due in one hour (emulator time).
        ``auto_advance=False`` freezes its status.
        """
        body: dict[str, Any] = {"type": type, "status": status, "auto_advance": auto_advance}
        optional = {
            "_id": message_id,
            "message": message,
            "sender": sender,
            "receiver": receiver,
            "scheduleAt": _time_text(schedule_at) if schedule_at is not None else None,
            "send_time": _time_text(send_time) if send_time is not None else None,
            "createdAt": _time_text(created_at) if created_at is not None else None,
            "customString": custom_string,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        result: dict[str, Any] = self._call("POST", "/_emulator/messages", body)
        return result

    def message(self, message_id: str) -> dict[str, Any]:
        """One stored message (report fields plus ``type``); raises :class:`EmulatorClientError` if unknown."""
        result: dict[str, Any] = self._call("GET", f"/_emulator/messages/{message_id}")
        return result

    def messages(self) -> list[dict[str, Any]]:
        """Every stored message, newest first."""
        result: list[dict[str, Any]] = self._call("GET", "/_emulator/messages")["messages"]
        return result

    def add_template(self, text: str, template_id: str | None = None) -> str:
        """Store an SMS template; return its ID."""
        body = {"text": text} if template_id is None else {"text": text, "id": template_id}
        return str(self._call("POST", "/_emulator/templates", body)["id"])

    def add_optouts(self, numbers: Iterable[str]) -> None:
        """Unsubscribe numbers: later sends to them are answered in ``unsubscribeContacts``."""
        self._call("POST", "/_emulator/optouts", {"numbers": list(numbers)})

    def schedule_campaign(
        self,
        token: str | None = None,
        contacts: Sequence[str] = ("+61400000000",),
        message: str = "Scheduled through the Cellcast emulator",
        *,
        schedule_at: datetime | str | None = None,
        delay_ms: int | None = None,
        sender: str | None = None,
        custom_string: str | None = None,
    ) -> list[str]:
        """Schedule an SMS campaign through the public send endpoint; return its message IDs.

        Without ``schedule_at`` or ``delay_ms`` the campaign is due in one hour. ``token``
        defaults to the client's token.
        """
        token = token or self._default_token
        if not token:
            raise EmulatorClientError("schedule_campaign needs an API token")
        body: dict[str, Any] = {"message": message, "contacts": list(contacts)}
        if schedule_at is not None:
            body["scheduleAt"] = _time_text(schedule_at)
        else:
            body["delay"] = 3_600_000 if delay_ms is None else delay_ms
        if sender is not None:
            body["sender"] = sender
        if custom_string is not None:
            body["customString"] = custom_string
        response = self._session.post(
            f"{self.base_url}/api/v1/gateway",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=self.timeout,
        )
        payload = response.json()
        if response.status_code != 200 or payload.get("status") is not True:
            raise EmulatorClientError(
                f"send refused: HTTP {response.status_code}: {payload.get('message')}", response.status_code
            )
        return [item["MessageId"] for item in payload["data"]["queueResponse"]]

    # ----------------------------------------------------------------- faults
    def inject_fault(
        self,
        kind: str,
        *,
        count: int | _Unset | None = _UNSET,
        message_id: str | None = None,
        path: str | None = None,
        method: str | None = None,
        status: int | None = None,
        retry_after: float | str | datetime | None = None,
        latency_ms: float | None = None,
        hang_seconds: float | None = None,
        when: str | None = None,
        message: str | None = None,
        body: Any = None,
    ) -> dict[str, Any]:
        """Register a fault and return it (with its ``id``).

        :param kind: ``status``, ``latency``, ``hang``, ``drop``, ``html``, ``empty``,
            ``malformed``, ``unexpected_json`` or ``app_status_false``.
        :param count: how many matching requests it applies to; ``None`` means every one. Default:
            1, or every request when ``message_id`` is given.
        :param message_id: only requests about this message (cancel body, report path).
        :param path: only this path (exact, or a shell pattern like ``/api/v2/report/message/*``).
        :param method: only this HTTP method.
        :param status: HTTP status to answer (``status``: 503, ``html``/``empty``: 502 by default).
        :param retry_after: ``Retry-After`` value: seconds, an HTTP date string, or a datetime.
        :param latency_ms: extra delay of a ``latency`` fault.
        :param hang_seconds: how long a ``hang`` lasts (default 600; reset ends it early).
        :param when: ``"before"`` (default; nothing is applied) or ``"after"`` (the request is
            applied, then the answer is delayed, dropped or replaced). ``drop`` defaults to after.
        :param message: the answer's ``message`` for ``status`` and ``app_status_false``.
        :param body: the JSON an ``unexpected_json`` fault answers (default ``{"foo": 1}``).
        """
        spec: dict[str, Any] = {"kind": kind}
        retry_text: Any = retry_after
        if isinstance(retry_after, datetime):
            aware = retry_after if retry_after.tzinfo else retry_after.replace(tzinfo=timezone.utc)
            retry_text = format_datetime(aware.astimezone(timezone.utc), usegmt=True)
        if count is not _UNSET:
            spec["count"] = count
        optional = {
            "message_id": message_id,
            "path": path,
            "method": method,
            "status": status,
            "retry_after": retry_text,
            "latency_ms": latency_ms,
            "hang_seconds": hang_seconds,
            "when": when,
            "message": message,
            "body": body,
        }
        spec.update({k: v for k, v in optional.items() if v is not None})
        result: dict[str, Any] = self._call("POST", "/_emulator/faults", spec)
        return result

    def faults(self) -> list[dict[str, Any]]:
        """Faults still pending."""
        result: list[dict[str, Any]] = self._call("GET", "/_emulator/faults")["faults"]
        return result

    def clear_faults(self) -> None:
        """Remove every pending fault."""
        self._call("DELETE", "/_emulator/faults")

    # ----------------------------------------------------------------- journal, settings, clock
    def requests_log(self) -> list[dict[str, Any]]:
        """API requests received, oldest first: method, path, query, masked body, status, auth_valid, fault."""
        result: list[dict[str, Any]] = self._call("GET", "/_emulator/requests")["requests"]
        return result

    def clear_requests_log(self) -> None:
        """Empty the request journal."""
        self._call("DELETE", "/_emulator/requests")

    def stats(self) -> dict[str, Any]:
        """Request counters since the last reset (never truncated, unlike the journal).

        ``{"requests": N, "by_path": {path: N}, "by_status": {"200": N, "429": N}, "rate_limited": N}``;
        reports of every message count under ``/api/v2/report/message/{messageId}``.
        """
        result: dict[str, Any] = self._call("GET", "/_emulator/stats")
        return result

    def clear_stats(self) -> None:
        """Zero the request counters (the journal stays)."""
        self._call("DELETE", "/_emulator/stats")

    def request_count(self, path: str) -> int:
        """How many API requests arrived for ``path``, whatever their answer.

        Example: ``emulator.request_count("/api/v1/gateway/cancelScheduleQuickMessage")``.
        """
        return int(self.stats()["by_path"].get(path, 0))

    def status_count(self, status: int) -> int:
        """How many API requests were answered with HTTP ``status`` (injected faults included)."""
        return int(self.stats()["by_status"].get(str(status), 0))

    def rate_limited_count(self) -> int:
        """How many requests the rate limit refused with HTTP 429 (not counting injected 429 faults)."""
        return int(self.stats()["rate_limited"])

    def configure(
        self,
        *,
        rate_limit_per_second: float | _Unset | None = _UNSET,
        latency_ms: float | _Unset = _UNSET,
        retry_after_on_429: bool | _Unset = _UNSET,
        delivery_delay_seconds: float | _Unset = _UNSET,
        sms_balance: int | _Unset = _UNSET,
        mms_balance: int | _Unset = _UNSET,
    ) -> dict[str, Any]:
        """Change settings (``rate_limit_per_second=None`` removes the limit); return them all."""
        given = {
            "rate_limit_per_second": rate_limit_per_second,
            "latency_ms": latency_ms,
            "retry_after_on_429": retry_after_on_429,
            "delivery_delay_seconds": delivery_delay_seconds,
            "sms_balance": sms_balance,
            "mms_balance": mms_balance,
        }
        result: dict[str, Any] = self._call(
            "POST", "/_emulator/config", {k: v for k, v in given.items() if v is not _UNSET}
        )
        return result

    def now(self) -> datetime:
        """The emulator's current time."""
        return _parse_time(self._call("GET", "/_emulator/clock")["now"])

    def advance_clock(self, seconds: float) -> datetime:
        """Move the emulator's time forward by ``seconds``; return the new time."""
        return _parse_time(self._call("POST", "/_emulator/clock", {"advance_seconds": seconds})["now"])
