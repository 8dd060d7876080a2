"""Input rules for Cellcast requests, stated once.

The hook checks every value with these functions before it enters a URL path or a request body,
so that bad input fails before any network call with a :class:`CellcastInputError` naming the
field and the accepted values. Operators call them for values they need before the hook (the
cancel operator's rendered IDs), and the example DAGs reuse the patterns for their trigger forms.
The emulator does not: it has its own reading of Cellcast's rules, so that tests compare two.
Imports only the provider's exceptions (and so Airflow's exception classes) and
:mod:`~airflow_provider_cellcast.texts`: light enough for DAG-parse time.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import Any

from airflow_provider_cellcast.contacts import mask_phone
from airflow_provider_cellcast.exceptions import CellcastInputError
from airflow_provider_cellcast.texts import first_and_more

__all__ = ["mask_phone"]  # re-exported: it lived here before contacts.py

#: Cellcast message and template IDs are MongoDB ObjectIds: 24 hexadecimal characters.
MESSAGE_ID_PATTERN = r"^[0-9a-fA-F]{24}$"
MESSAGE_TYPES: tuple[str, ...] = ("sms", "mms")

_MESSAGE_ID_RE = re.compile(MESSAGE_ID_PATTERN)
_CANONICAL_ID_RE = re.compile(r"^[0-9a-f]{24}$")


def _shorten(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def validate_message_id(value: Any, field: str = "message_id") -> str:
    """Return ``value`` as a canonical message ID (stripped, lower case) or raise :class:`CellcastInputError`."""
    if not isinstance(value, str):
        raise CellcastInputError(
            field,
            value,
            f"{field} must be a string of 24 hexadecimal characters (a Cellcast message ID such as "
            f"'675161d8a000000000000000'), got {type(value).__name__} {_shorten(value)}",
        )
    candidate = value.strip()
    if not _MESSAGE_ID_RE.match(candidate):
        raise CellcastInputError(
            field,
            value,
            f"{field} {_shorten(value)} is not a Cellcast message ID: expected 24 hexadecimal "
            f"characters, such as '675161d8a000000000000000'",
        )
    # The caller's string itself when already canonical: 100,000 IDs are not copied.
    return candidate if _CANONICAL_ID_RE.match(candidate) else candidate.lower()


def validate_message_type(value: Any, field: str = "message_type") -> str:
    """Return ``value`` as ``"sms"`` or ``"mms"`` (any case and surrounding spaces accepted)."""
    candidate = value.strip().lower() if isinstance(value, str) else None
    if candidate not in MESSAGE_TYPES:
        raise CellcastInputError(
            field,
            value,
            f"{field} {_shorten(value)} is not accepted: use one of {', '.join(MESSAGE_TYPES)}",
        )
    return candidate


def _list_in_string(value: str) -> str | list[Any]:
    """A list that Jinja rendered to text (``"['a', 'b']"``) when the DAG does not render natively."""
    text = value.strip()
    if not (text.startswith("[") and text.endswith("]")):
        return value
    for parse in (json.loads, ast.literal_eval):
        try:
            parsed = parse(text)
        except (ValueError, SyntaxError):
            continue
        if isinstance(parsed, list):
            return parsed
    return value


def validate_message_ids(value: Any, field: str = "message_id") -> list[str]:
    """Validate one ID or a collection of IDs; return them canonical, de-duplicated, in input order.

    A string holding a rendered list (``"['675...', '676...']"``) counts as that list, and so does
    text with several IDs one per line or separated by commas, semicolons or spaces (as pasted
    into a trigger form).

    Every entry is checked before the first error is raised, so that one error names every bad
    entry at once.
    """
    if isinstance(value, str):
        value = _list_in_string(value)
        if isinstance(value, str):
            # Pasted into a form: one per line, or separated by commas, semicolons or spaces.
            parts = [part for part in re.split(r"[\s,;]+", value) if part]
            if len(parts) <= 1:
                return [validate_message_id(value, field)]
            value = parts
    if isinstance(value, dict) or not isinstance(value, Iterable):
        raise CellcastInputError(
            field,
            value,
            f"{field} must be a message ID or a list of message IDs, got {type(value).__name__}",
        )
    ids: list[str] = []
    problems: list[str] = []
    for position, item in enumerate(value):
        try:
            ids.append(validate_message_id(item, f"{field}[{position}]"))
        except CellcastInputError as error:
            problems.append(str(error))
    if problems:
        shown = first_and_more(problems, 5, separator="; ")
        raise CellcastInputError(field, value, f"{len(problems)} invalid entries in {field}: {shown}")
    if not ids:
        raise CellcastInputError(field, value, f"{field} is an empty list: give at least one message ID")
    return list(dict.fromkeys(ids))


#: Contacts per send request: Cellcast's documented maximum.
MAX_CONTACTS_PER_REQUEST = 1000


#: Longest documented ``delay`` of a send, in milliseconds (24 hours).
MAX_DELAY_MS = 86_400_000


def validate_contacts(contacts: Any, field: str = "contacts") -> list[str]:
    """Phone numbers as a list of non-empty strings, as given (:mod:`~airflow_provider_cellcast.contacts` normalises).

    Also accepts a rendered list (``"['+614...', '+614...']"``) or comma-separated text.
    """
    if isinstance(contacts, str):
        contacts = _list_in_string(contacts)
    if isinstance(contacts, str):
        contacts = contacts.replace(";", ",").split(",")
    if isinstance(contacts, dict) or not isinstance(contacts, Iterable):
        raise CellcastInputError(field, "<hidden>", f"{field} must be a list of phone numbers")
    numbers = [str(item).strip() for item in contacts if str(item).strip()]
    if not numbers:
        raise CellcastInputError(field, "<hidden>", f"{field} is empty: give at least one phone number")
    return numbers


def validate_delay_ms(value: Any, field: str = "delay_ms") -> int:
    """A send delay in whole milliseconds between 0 and 24 hours."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise CellcastInputError(field, value, f"{field} must be a number of milliseconds")
    try:
        delay = int(value)
    except ValueError:
        raise CellcastInputError(field, value, f"{field} {value!r} is not a number of milliseconds") from None
    if not 0 <= delay <= MAX_DELAY_MS:
        raise CellcastInputError(field, value, f"{field} must be between 0 and {MAX_DELAY_MS} (24 hours)")
    return delay


def format_schedule_at(value: Any, field: str = "schedule_at") -> str:
    """``scheduleAt`` for Cellcast: UTC, ISO 8601 with milliseconds and ``Z``, as the docs' example.

    Accepts an aware ``datetime`` or an ISO 8601 string with an offset. A naive time is refused:
    Cellcast reads UTC, and guessing the zone would move a campaign by hours.
    """
    when = value
    if isinstance(value, str):
        try:
            when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise CellcastInputError(
                field, value, f"{field} {value!r} is not an ISO 8601 time such as '2026-12-01T09:30:00Z'"
            ) from None
    if not isinstance(when, datetime):
        raise CellcastInputError(field, value, f"{field} must be an aware datetime or an ISO 8601 string")
    if when.tzinfo is None or when.utcoffset() is None:
        raise CellcastInputError(
            field, value, f"{field} {value!r} has no time zone: give one, e.g. '2026-12-01T09:30:00+00:00'"
        )
    utc = when.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


#: A ``schedule_at`` this far in the past is refused: Cellcast would send the campaign at once,
#: which is what a late retry, a cleared task or a backfill must not do by accident.
PAST_SCHEDULE_GRACE = timedelta(minutes=1)


def validate_message_text(value: Any, field: str = "message") -> str:
    """The text of an SMS: a non-empty string."""
    if not isinstance(value, str) or not value.strip():
        raise CellcastInputError(field, value, f"{field} must be a non-empty text")
    return value


def refuse_schedule_and_delay(schedule_at: Any, delay_ms: Any) -> None:
    """A send is either scheduled at a time or delayed, never both."""
    if schedule_at is not None and delay_ms is not None:
        raise CellcastInputError("schedule_at", schedule_at, "give schedule_at or delay_ms, not both")


def validate_send_timing(schedule_at: Any, delay_ms: Any, *, now: datetime) -> tuple[str | None, int | None]:
    """``scheduleAt`` text and ``delay`` for a send, checked together.

    ``schedule_at`` may be an aware ``datetime``, an ISO 8601 string with an offset, or a
    ``timedelta`` from ``now``. A time more than :data:`PAST_SCHEDULE_GRACE` before ``now`` is
    refused, so that a late retry does not send a campaign at once.
    """
    refuse_schedule_and_delay(schedule_at, delay_ms)
    delay = None if delay_ms is None else validate_delay_ms(delay_ms)
    if schedule_at is None:
        return None, delay
    when = now + schedule_at if isinstance(schedule_at, timedelta) else schedule_at
    text = format_schedule_at(when, "schedule_at")
    if datetime.fromisoformat(text.replace("Z", "+00:00")) < now - PAST_SCHEDULE_GRACE:
        raise CellcastInputError(
            "schedule_at",
            schedule_at,
            f"schedule_at {text} is in the past (now {format_schedule_at(now)}): Cellcast would send "
            "the campaign at once. Give a future time, or no schedule_at to send now.",
        )
    return text, delay


def validate_country_code(value: Any, field: str = "country_code") -> int | None:
    """Cellcast's ``countryCode`` for national numbers: digits only, e.g. ``61``."""
    if value is None:
        return None
    if isinstance(value, bool) or not str(value).strip().isdigit():
        raise CellcastInputError(field, value, f"{field} must be a number such as 61")
    return int(value)


#: Cellcast's rule for a ``customString``: letters, digits and dashes only (Quick Send page, v3 API).
REFERENCE_PATTERN = r"^[A-Za-z0-9-]+$"
#: The longest reference accepted. Cellcast documents no limit; 64 is our choice: room for a
#: readable prefix and a hash, and short enough for any database field.
MAX_REFERENCE_LENGTH = 64
_REFERENCE_RE = re.compile(REFERENCE_PATTERN)


def validate_reference(value: Any, field: str = "custom_string") -> str:
    """A campaign reference (Cellcast's ``customString``): letters, digits and dashes, at most 64.

    Cellcast refuses other characters or silently strips them; either way a reference with them
    could not be found again, so a retry would resend and a cancel by reference would miss.
    """
    if not isinstance(value, str) or not value.strip():
        raise CellcastInputError(
            field, value, f"{field} must be a campaign reference (Cellcast's customString): letters, digits, dashes"
        )
    text = value.strip()
    if len(text) > MAX_REFERENCE_LENGTH:
        raise CellcastInputError(
            field, value, f"{field} is {len(text)} characters long: a reference has at most {MAX_REFERENCE_LENGTH}"
        )
    if not _REFERENCE_RE.match(text):
        others = sorted({char for char in text if not (char.isascii() and (char.isalnum() or char == "-"))})
        raise CellcastInputError(
            field,
            value,
            f"{field} {_shorten(text)} has characters Cellcast does not keep in a customString "
            f"({' '.join(repr(char) for char in others[:8])}): use only letters, digits and dashes",
        )
    return text
