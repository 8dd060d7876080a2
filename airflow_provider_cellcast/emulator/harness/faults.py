"""Injected faults: what a test registers so that the next request (or every request about one
message) fails the way a real network, proxy or Cellcast itself can fail.

:class:`FaultBook` keeps the pending faults; :mod:`..middleware` takes the first one matching each
``/api/`` request and answers it.

=====================  ============================================================================
kind                   answer
=====================  ============================================================================
``status``             an error envelope with ``status`` (default 503), ``Retry-After`` if given
``latency``            the normal answer, ``latency_ms`` later
``hang``               no answer for ``hang_seconds`` (default 600), then a 504 (``before``) or the
                       normal answer (``after``)
``drop``               half an answer, then the connection closes (default ``after``: applied)
``html``               a proxy's HTML error page (default 502)
``empty``              an empty body (default 502)
``malformed``          truncated JSON with HTTP 200
``unexpected_json``    valid JSON of another shape (``body``, default ``{"foo": 1}``)
``app_status_false``   an app envelope with ``status: false`` (HTTP 200)
``cast_error``         the report's live failure: ``status: false``, "internal server error" and a
                       Mongo ``CastError`` in ``error`` (HTTP 200); aimed at
                       ``/api/v2/report/message/*`` unless ``path`` says otherwise
=====================  ============================================================================
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime
from fnmatch import fnmatchcase
from typing import Any

from airflow_provider_cellcast.emulator import rules
from airflow_provider_cellcast.emulator.rules import RuleError

__all__ = ["CAST_ERROR_DEFAULT_PATH", "FAULT_KINDS", "Fault", "FaultBook", "build_fault"]

#: Fault kinds understood by the emulator (see the module docstring).
FAULT_KINDS: tuple[str, ...] = (
    "status",
    "latency",
    "hang",
    "drop",
    "html",
    "empty",
    "malformed",
    "unexpected_json",
    "app_status_false",
    "cast_error",
)
#: Where a ``cast_error`` fault applies when no ``path`` is given: the one-message report, where
#: the live service was seen to answer it.
CAST_ERROR_DEFAULT_PATH = "/api/v2/report/message/*"
_DEFAULT_STATUS = {
    "status": 503,
    "html": 502,
    "empty": 502,
    "malformed": 200,
    "unexpected_json": 200,
    "app_status_false": 200,
    "cast_error": 200,
    "drop": 200,
}


@dataclass
class Fault:
    """One injected fault.

    A fault matches a request by ``path`` (exact, or a shell pattern such as
    ``/api/v2/report/message/*``), ``method`` and ``message_id`` (the cancel body's ``messageId``
    or the report path's ID). ``remaining`` is how many more requests it applies to (``None``:
    every matching request). ``when`` is ``"before"`` (the fault answers instead of the emulator:
    nothing is applied to state) or ``"after"`` (the request is applied, then the fault replaces
    or delays the answer).
    """

    id: int
    kind: str
    remaining: int | None = 1
    message_id: str | None = None
    path: str | None = None
    method: str | None = None
    status: int | None = None
    retry_after: str | None = None
    latency_ms: float | None = None
    hang_seconds: float = 600.0
    when: str = "before"
    message: str | None = None
    body: Any = None
    hits: int = 0

    def matches(self, method: str, path: str, message_id: str | None) -> bool:
        """Whether this fault applies to a request."""
        if self.method and self.method.upper() != method.upper():
            return False
        if self.path and not (self.path == path or fnmatchcase(path, self.path)):
            return False
        return not (self.message_id and self.message_id != message_id)

    def describe(self) -> dict[str, Any]:
        """The fault as the control plane shows it."""
        return dataclasses.asdict(self)


def _retry_after_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return format_datetime(value.astimezone(timezone.utc), usegmt=True)
    if isinstance(value, bool):
        raise RuleError("retry_after", "retry_after must be seconds or an HTTP date")
    if isinstance(value, (int, float)):
        if value < 0:
            raise RuleError("retry_after", "retry_after must not be negative")
        return str(int(value)) if float(value).is_integer() else str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise RuleError("retry_after", "retry_after must be seconds or an HTTP date")


def _count_of(spec: Mapping[str, Any], message_id: str | None) -> int | None:
    if "count" not in spec:
        # A fault about one message applies to every request about it; otherwise to the next one.
        return None if message_id else 1
    count = spec["count"]
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise RuleError("count", "count must be a positive integer, or null for every matching request")
    return count


def build_fault(fault_id: int, spec: Mapping[str, Any]) -> Fault:
    """A :class:`Fault` from control-plane fields; raises :class:`RuleError` on a bad field."""
    known = {f.name for f in dataclasses.fields(Fault)} - {"id", "remaining", "hits"} | {"count"}
    unknown = sorted(set(spec) - known)
    if unknown:
        raise RuleError(unknown[0], f"unknown fault field(s): {', '.join(unknown)}")
    kind = spec.get("kind")
    if kind not in FAULT_KINDS:
        raise RuleError("kind", f"kind must be one of {', '.join(FAULT_KINDS)}")
    message_id = spec.get("message_id")
    if message_id is not None:
        message_id = rules.message_id(message_id, "message_id")
    status = spec.get("status")
    if status is None:
        status = _DEFAULT_STATUS.get(kind)
    elif isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise RuleError("status", "status must be an HTTP status code (100-599)")
    when = spec.get("when") or ("after" if kind == "drop" else "before")
    if when not in ("before", "after"):
        raise RuleError("when", "when must be 'before' or 'after'")
    latency_ms = spec.get("latency_ms")
    if kind == "latency" and latency_ms is None:
        raise RuleError("latency_ms", "latency_ms is required for a latency fault")
    hang_seconds = spec.get("hang_seconds")
    for name, value in (("latency_ms", latency_ms), ("hang_seconds", hang_seconds)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
            raise RuleError(name, f"{name} must be a non-negative number")
    for name in ("path", "method", "message"):
        if spec.get(name) is not None and not isinstance(spec.get(name), str):
            raise RuleError(name, f"{name} must be a string")
    path = spec.get("path")
    if kind == "cast_error" and path is None:
        path = CAST_ERROR_DEFAULT_PATH
    return Fault(
        id=fault_id,
        kind=kind,
        remaining=_count_of(spec, message_id),
        message_id=message_id,
        path=path,
        method=spec.get("method"),
        status=status,
        retry_after=_retry_after_text(spec.get("retry_after")),
        latency_ms=latency_ms,
        hang_seconds=600.0 if hang_seconds is None else float(hang_seconds),
        when=when,
        message=spec.get("message"),
        body=spec.get("body"),
    )


class FaultBook:
    """The pending faults, oldest first; thread-safe. Methods return copies."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._faults: list[Fault] = []

    def add(self, spec: Mapping[str, Any]) -> Fault:
        """Register a fault from control-plane fields (see :class:`Fault`)."""
        with self._lock:
            fault = build_fault(next(self._ids), spec)
            self._faults.append(fault)
            return dataclasses.replace(fault)

    def take(self, method: str, path: str, message_id: str | None) -> Fault | None:
        """The first fault matching this request, counted as used (the oldest fault wins)."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path, message_id):
                    fault.hits += 1
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining <= 0:
                            self._faults.remove(fault)
                    return dataclasses.replace(fault)
            return None

    def pending(self) -> list[Fault]:
        """Faults not used up yet."""
        with self._lock:
            return [dataclasses.replace(f) for f in self._faults]

    def clear(self) -> None:
        """Remove every pending fault."""
        with self._lock:
            self._faults.clear()
