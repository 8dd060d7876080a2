"""Which inbound replies a sensor or a trigger wants: from some contacts, with a body matching a pattern.

Light enough for DAG-parse time (the standard library, the contact rules and the provider's
exceptions): the reply sensor and the inbound trigger check their ``pattern`` and ``contacts``
here when a DAG file is parsed, and select replies with the same functions when they run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from airflow_provider_cellcast.contacts import comparable_number, mask_phone
from airflow_provider_cellcast.exceptions import CellcastInputError
from airflow_provider_cellcast.validation import validate_contacts


def is_template(value: Any) -> bool:
    """Whether ``value`` is still a Jinja template (checked again once rendered)."""
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def compile_pattern(pattern: Any, field: str = "pattern") -> re.Pattern[str] | None:
    """The regular expression a reply's body must match (searched anywhere: anchor with ``^``); ``None``: any."""
    if pattern is None or pattern == "":
        return None
    if isinstance(pattern, re.Pattern):
        return pattern
    if not isinstance(pattern, str):
        raise CellcastInputError(field, pattern, f"{field} must be a regular expression (a string)")
    try:
        return re.compile(pattern)
    except re.error as error:
        raise CellcastInputError(
            field, pattern, f"{field} {pattern!r} is not a valid regular expression: {error}"
        ) from None


def contact_keys(contacts: Any, field: str = "contacts") -> dict[str, int]:
    """``{number as replies show it: index in contacts}`` for the contacts given (any common form)."""
    keys: dict[str, int] = {}
    for index, raw in enumerate(validate_contacts(contacts, field)):
        keys.setdefault(comparable_number(raw), index)
    return keys


def select(
    replies: Iterable[Mapping[str, Any]], keys: Mapping[str, int] | None, regex: re.Pattern[str] | None
) -> list[tuple[Mapping[str, Any], int | None]]:
    """Replies from one of ``keys`` (any sender if ``None``) whose body matches ``regex``, with their contact index."""
    chosen: list[tuple[Mapping[str, Any], int | None]] = []
    for reply in replies:
        index = keys.get(str(reply.get("from", ""))) if keys is not None else None
        if keys is not None and index is None:
            continue
        if regex is not None and not regex.search(str(reply.get("body", ""))):
            continue
        chosen.append((reply, index))
    return chosen


def masked(reply: Mapping[str, Any], contact_index: int | None = None) -> dict[str, Any]:
    """A reply fit for a log, an XCom or an event payload: the number masked (``*********951``).

    ``contact_index`` (when the reply came from one of the contacts a task was given) tells which
    of them, so a DAG can find the number in its own list without it being written anywhere.
    """
    shown = dict(reply)
    shown["from"] = mask_phone(reply.get("from", ""))
    if contact_index is not None:
        shown["contact_index"] = contact_index
    return shown


def describe_contacts(keys: Mapping[str, int] | None) -> str:
    """``"+********951 and 2 more"``-style text for a log line (masked)."""
    if keys is None:
        return "any number"
    shown = [mask_phone(key) for key in list(keys)[:3]]
    more = len(keys) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")
