"""Input rules for Cellcast requests, stated once.

The operators check rendered template values with these functions before any network call, the
hook checks again before an ID enters a URL path or a request body, the emulator applies the same
rules to what it receives, and the example DAGs reuse the patterns for their trigger forms.
Standard library only: DAG files import this module at every parse.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from airflow_provider_cellcast.exceptions import CellcastInputError

#: Cellcast message and template IDs are MongoDB ObjectIds: 24 hexadecimal characters.
MESSAGE_ID_PATTERN = r"^[0-9a-fA-F]{24}$"
#: The same rule for a trigger form, where stray spaces from a copy and paste are forgiven.
MESSAGE_ID_FORM_PATTERN = r"^\s*[0-9a-fA-F]{24}\s*$"
MESSAGE_TYPES: tuple[str, ...] = ("sms", "mms")

_MESSAGE_ID_RE = re.compile(MESSAGE_ID_PATTERN)


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
    return candidate.lower()


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

    A string holding a rendered list (``"['675...', '676...']"``) counts as that list.

    Every entry is checked before the first error is raised, so that one error names every bad
    entry at once.
    """
    if isinstance(value, str):
        value = _list_in_string(value)
        if isinstance(value, str):
            return [validate_message_id(value, field)]
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
        shown = "; ".join(problems[:5])
        more = f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
        raise CellcastInputError(field, value, f"{len(problems)} invalid entries in {field}: {shown}{more}")
    if not ids:
        raise CellcastInputError(field, value, f"{field} is an empty list: give at least one message ID")
    return list(dict.fromkeys(ids))


#: Contacts per send request: Cellcast's documented maximum.
MAX_CONTACTS_PER_REQUEST = 1000


def mask_phone(value: Any) -> str:
    """A phone number fit for logs: every digit but the last three hidden (``+********678``).

    Phone numbers are personal data: the hook's results, the operators' logs and the emulator's
    journal all show them through this function.
    """
    text = str(value)
    hidden = sum(char.isdigit() for char in text) - 3
    masked = []
    for char in text:
        if char.isdigit() and hidden > 0:
            hidden -= 1
            masked.append("*")
        else:
            masked.append(char)
    return "".join(masked)


#: Longest documented ``delay`` of a send, in milliseconds (24 hours).
MAX_DELAY_MS = 86_400_000


def validate_contacts(contacts: Any, field: str = "contacts") -> list[str]:
    """Phone numbers as a list of non-empty strings (Cellcast itself sorts out invalid numbers).

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
