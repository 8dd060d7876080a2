"""The control-plane calls of :class:`~.client.EmulatorClient` that drive the test harness.

Faults, the request journal and counters, settings and modes, and the clock. Imports only
``requests`` (through the client) and the standard library.
"""

from __future__ import annotations

import enum
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Any

__all__ = ["EmulatorClientError", "HarnessCalls", "parse_time", "time_text"]


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


def time_text(value: datetime | str) -> str:
    """A time for the control plane: a datetime as ISO 8601 UTC (naive means UTC), a string as is."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return aware.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    return value


def parse_time(value: str) -> datetime:
    """A control-plane time (``...Z``) as an aware datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class HarnessCalls:
    """Faults, journal, counters, settings and clock calls; mixed into :class:`~.client.EmulatorClient`."""

    def _call(self, method: str, path: str, body: Any = None) -> Any:  # pragma: no cover
        # The client that mixes this in sends the request; the harness calls only name it.
        raise NotImplementedError

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
            ``malformed``, ``unexpected_json``, ``app_status_false`` or ``cast_error`` (the report's
            live "internal server error" with a Mongo CastError; it aims at the report path unless
            ``path`` is given).
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

        ``{"requests": N, "by_path": {path: N}, "by_status": {"200": N, "429": N}, "rate_limited": N,
        "in_flight": N, "peak_in_flight": N}`` (``peak_in_flight``: the most requests being handled at
        once, e.g. to see that a client's calls overlap);
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
        sms_balance: float | _Unset = _UNSET,
        mms_balance: float | _Unset = _UNSET,
        account_timezone: str | _Unset = _UNSET,
        custom_string_mode: str | _Unset = _UNSET,
        custom_string_max_length: int | _Unset | None = _UNSET,
        schedule_at_mode: str | _Unset = _UNSET,
        contacts_mode: str | _Unset = _UNSET,
        list_filter_custom_string: bool | _Unset = _UNSET,
        date_filter_zone: str | _Unset = _UNSET,
        mms_schedule_fields: str | _Unset = _UNSET,
        reply_message_id: str | _Unset = _UNSET,
        replies_order: str | _Unset = _UNSET,
        received_at_format: str | _Unset = _UNSET,
    ) -> dict[str, Any]:
        """Change settings and modes (all or nothing); return them all, with the balances.

        ``rate_limit_per_second=None`` removes the limit; a balance becomes the account's balance
        now (decimals allowed). Modes (defaults first, the strict reading of the live service):
        ``custom_string_mode`` ``"refuse"``/``"strip"``; ``custom_string_max_length`` 255 or
        ``None``; ``schedule_at_mode`` ``"naive-local"``/``"all-local"``; ``account_timezone``
        ``"Australia/Sydney"``; ``contacts_mode`` ``"strict"``/``"lenient"``;
        ``list_filter_custom_string`` ``True``/``False``; ``date_filter_zone``
        ``"account"``/``"utc"``; ``mms_schedule_fields`` ``"ignore"``/``"honour"``;
        ``reply_message_id`` ``"empty"``/``"known"``; ``replies_order``
        ``"newest-first"``/``"oldest-first"``; ``received_at_format`` ``"local"``/``"utc"``.
        """
        # Only the settings given are sent, so that the others keep their current values.
        given = {name: value for name, value in locals().items() if name != "self" and value is not _UNSET}
        result: dict[str, Any] = self._call("POST", "/_emulator/config", given)
        return result

    def now(self) -> datetime:
        """The emulator's current time."""
        return parse_time(self._call("GET", "/_emulator/clock")["now"])

    def advance_clock(self, seconds: float) -> datetime:
        """Move the emulator's time forward by ``seconds``; return the new time."""
        return parse_time(self._call("POST", "/_emulator/clock", {"advance_seconds": seconds})["now"])
