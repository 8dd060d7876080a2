"""Times in the emulator: the clock type, Cellcast's timestamp format, and reading times clients send.

Standard library only. Cellcast (MongoDB) shows times as ``2024-08-14T14:58:00.981Z``
(:func:`format_timestamp`). Clients send ``"Y-m-d H:i:s"`` or ISO 8601 (:func:`parse_timestamp`);
how a time without an offset is read is the caller's choice (``naive_tz``), because the Cellcast
API and the control plane read it differently (see :mod:`.sending`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Any

from airflow_provider_cellcast.emulator.rules import RuleError

#: A callable returning the current time as an aware UTC datetime.
Clock = Callable[[], datetime]

__all__ = ["Clock", "format_timestamp", "parse_date", "parse_timestamp", "utc_now"]

_TIMESTAMP_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*(Z|[+-]\d{2}:?\d{2})?$",
    re.IGNORECASE,
)
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def utc_now() -> datetime:
    """The real clock, as an aware UTC datetime."""
    return datetime.now(timezone.utc)


def format_timestamp(value: datetime | None) -> str | None:
    """Format like Cellcast (MongoDB): ``2024-08-14T14:58:00.981Z``; ``None`` stays ``None``."""
    if value is None:
        return None
    value = value.astimezone(timezone.utc)
    return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond // 1000:03d}Z"


def parse_timestamp(
    value: Any,
    field_name: str = "scheduleAt",
    *,
    naive_tz: tzinfo = timezone.utc,
    ignore_offset: bool = False,
) -> datetime:
    """Parse ``"Y-m-d H:i:s"`` or ISO 8601 (``2024-08-14T14:58:00.981Z``) into an aware UTC datetime.

    :param naive_tz: the zone of a time written without an offset (default UTC).
    :param ignore_offset: read the wall time in ``naive_tz`` even when the text carries ``Z`` or
        an offset (a service that drops what it does not expect).
    :raises RuleError: the text is neither form, or names no real date and time.
    """
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=naive_tz)).astimezone(timezone.utc)
    match = _TIMESTAMP_RE.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise RuleError(
            field_name, f"{field_name} must be a time as 'YYYY-MM-DD HH:MM:SS' or ISO 8601 ('2024-08-14T14:58:00.981Z')"
        )
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    zone: tzinfo = naive_tz
    if offset and not ignore_offset:
        zone = timezone.utc
        if offset.upper() != "Z":
            sign = -1 if offset[0] == "-" else 1
            digits = offset[1:].replace(":", "")
            zone = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    try:
        parsed = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
            int((fraction or "0")[:6].ljust(6, "0")),
            tzinfo=zone,
        )
    except ValueError as error:
        raise RuleError(field_name, f"{field_name} is not a valid date and time: {error}") from error
    return parsed.astimezone(timezone.utc)


def parse_date(value: str, field_name: str) -> date:
    """Parse a ``YYYY-MM-DD`` query value."""
    if not _DATE_RE.match(value):
        raise RuleError(field_name, f"{field_name} must be a date as YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise RuleError(field_name, f"{field_name} is not a valid date: {error}") from error
