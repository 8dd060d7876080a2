"""Which inbound replies are new, without trusting Cellcast's time zone, order or message IDs.

Cellcast's reply list (``GET /api/v1/apiClient/getResponses``) has no "since" filter, an
undocumented order, ``received_at`` in an undocumented time zone (the account's local time
without an offset, as far as anyone knows) and, in its documented sample, an empty
``message_id``. So "new" is decided from the list itself:

* every reply gets a **fingerprint**: a hash of its normalised number, its body and its raw
  ``received_at`` text (never parsed for this), so two identical "YES" texts from one phone in
  one second are one fingerprint seen twice: fingerprints are counted as a multiset;
* a :class:`ReplyCursor` remembers what the list looked like at the last read: the fingerprints
  of its first :data:`TOP_SIZE` replies and, when the whole list was read, the count of every
  fingerprint;
* when the list is **newest first** (detected from the ``received_at`` texts of one page, which
  needs no time zone: they share one), new replies are the ones listed before the point where
  the remembered first replies resume. Reading stops there: one request when up to about 15
  replies arrived since the last read, one more page per 20 beyond;
* in any other order (oldest first, or a page that cannot tell) every page is read and the
  multiset of the whole list is compared with the remembered one.

Standard library and the provider's contact rules only: no I/O (the plans in :mod:`.replies`
read the pages).
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TypedDict

from airflow_provider_cellcast.contacts import comparable_number

#: Fingerprints of the first replies listed that a cursor keeps (where the old list resumes).
TOP_SIZE = 5
NEWEST_FIRST = "newest-first"
OLDEST_FIRST = "oldest-first"
#: A page whose times go both ways (or a daylight-saving change in it).
MIXED = "mixed"
_ORDERS = (NEWEST_FIRST, OLDEST_FIRST, MIXED)
_OFFSET_RE = re.compile(r"([+-]\d{2})(\d{2})$")
_CURSOR_VERSION = 1

Reply = TypedDict(
    "Reply",
    {
        # The sender, normalised like the contacts of a send (61XXXXXXXXX for Australian mobiles).
        "from": str,
        "body": str,
        # As Cellcast wrote it: the time zone is undocumented.
        "received_at": str | None,
        # UTC ISO 8601, only when Cellcast's text carries an offset (``Z`` or ``+10:00``).
        "received_at_utc": str | None,
        # The message replied to; ``None`` when Cellcast leaves it empty (its documented sample).
        "message_id": str | None,
        # A hash of the normalised number, the body and the raw received_at: an idempotency key.
        "fingerprint": str,
    },
)


def utc_time(text: Any) -> str | None:
    """``received_at`` as UTC ISO 8601 when it carries an offset; ``None`` otherwise (never guessed)."""
    if not isinstance(text, str) or not text.strip():
        return None
    value = _OFFSET_RE.sub(r"\1:\2", text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    if when.tzinfo is None:
        return None
    return when.astimezone(timezone.utc).isoformat()


def fingerprint(number: str, body: str, received_at: str | None) -> str:
    """The reply's identity: a hash of the normalised number, the body and the raw ``received_at``."""
    text = "\x1f".join((number, body, received_at or ""))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:20]


def read_reply(item: Mapping[str, Any]) -> Reply:
    """One item of ``data.items[]`` as a :data:`Reply`."""
    number = comparable_number(item.get("from", ""))
    body = item.get("body")
    body = body if isinstance(body, str) else ("" if body is None else str(body))
    received = item.get("received_at")
    received_text = received if isinstance(received, str) and received.strip() else None
    message_id = item.get("message_id")
    return {
        "from": number,
        "body": body,
        "received_at": received_text,
        "received_at_utc": utc_time(received_text),
        "message_id": message_id if isinstance(message_id, str) and message_id.strip() else None,
        "fingerprint": fingerprint(number, body, received_text),
    }


def _sort_key(text: str | None) -> datetime | None:
    if not text:
        return None
    value = _OFFSET_RE.sub(r"\1:\2", text.strip().replace("Z", "+00:00"))
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when.astimezone(timezone.utc).replace(tzinfo=None) if when.tzinfo else when


def detect_order(replies: Sequence[Reply]) -> str | None:
    """:data:`NEWEST_FIRST`, :data:`OLDEST_FIRST`, :data:`MIXED` or ``None`` (cannot tell).

    Compares neighbouring ``received_at`` texts of one page: they share one time zone, whatever
    it is, so no zone is assumed. Equal or unreadable times say nothing.
    """
    times = [key for key in (_sort_key(reply["received_at"]) for reply in replies) if key is not None]
    down = sum(1 for a, b in itertools.pairwise(times) if a > b)
    up = sum(1 for a, b in itertools.pairwise(times) if a < b)
    if down and up:
        return MIXED
    if down:
        return NEWEST_FIRST
    if up:
        return OLDEST_FIRST
    return None


def pick_order(detected: str | None, remembered: str | None) -> str | None:
    """The order to read with: a clear page wins; an unclear or mixed page keeps the remembered one."""
    if detected in (NEWEST_FIRST, OLDEST_FIRST):
        return detected
    return remembered or detected


@dataclass(frozen=True)
class ReplyCursor:
    """What the reply list looked like at the last read (JSON-serialisable with :meth:`to_json`).

    :ivar order: the order detected so far (``None``: not known yet).
    :ivar top: fingerprints of the first :data:`TOP_SIZE` replies listed, in list order.
    :ivar seen: how often each fingerprint was listed, when the whole list was read; ``None``
        when only its first page(s) were (newest first: not needed).
    """

    order: str | None = None
    top: tuple[str, ...] = ()
    seen: Mapping[str, int] | None = field(default=None)

    @classmethod
    def of(cls, listed: Sequence[Reply], order: str | None, *, complete: bool) -> ReplyCursor:
        """The cursor of a list read from page 1 (``complete``: to its last page)."""
        prints = [reply["fingerprint"] for reply in listed]
        return cls(order, tuple(prints[:TOP_SIZE]), dict(Counter(prints)) if complete else None)

    def to_json(self) -> dict[str, Any]:
        return {
            "v": _CURSOR_VERSION,
            "order": self.order,
            "top": list(self.top),
            "seen": None if self.seen is None else dict(self.seen),
        }

    @classmethod
    def from_json(cls, value: Any) -> ReplyCursor | None:
        """The cursor :meth:`to_json` wrote; ``None`` for anything else (a new snapshot is taken)."""
        if not isinstance(value, Mapping) or value.get("v") != _CURSOR_VERSION:
            return None
        order, top, seen = value.get("order"), value.get("top"), value.get("seen")
        if order not in (None, *_ORDERS) or not isinstance(top, list) or not all(isinstance(t, str) for t in top):
            return None
        if seen is not None and not (
            isinstance(seen, Mapping) and all(isinstance(v, int) and not isinstance(v, bool) for v in seen.values())
        ):
            return None
        return cls(order, tuple(top), None if seen is None else {str(k): int(v) for k, v in seen.items()})


def resume_index(listed: Sequence[str], top: Sequence[str], complete: bool) -> tuple[int | None, bool]:
    """Where the remembered first replies ``top`` resume in a newest-first list of fingerprints.

    Returns ``(index, False)``: the replies before ``index`` are new; ``(None, True)``: read the
    next page to decide; ``(None, False)``: the remembered replies are not in the list any more.
    A match must cover all of ``top`` unless the list ends first (``complete``).
    """
    size = len(top)
    for index in range(len(listed)):
        window = listed[index : index + size]
        if list(window) != list(top[: len(window)]):
            continue
        if len(window) == size or complete:
            return index, False
        return None, True
    return None, not complete


def new_in_multiset(listed: Iterable[Reply], seen: Mapping[str, int]) -> list[Reply]:
    """The replies of ``listed`` beyond the counts in ``seen`` (list order kept; the last ones count as new)."""
    left = Counter(seen)
    found: list[Reply] = []
    for reply in reversed(list(listed)):
        if left[reply["fingerprint"]] > 0:
            left[reply["fingerprint"]] -= 1
        else:
            found.append(reply)
    found.reverse()
    return found


def chronological(replies: Sequence[Reply], order: str | None) -> list[Reply]:
    """Replies oldest first: as listed when the list is oldest first, else reversed (newest first)."""
    return list(replies) if order == OLDEST_FIRST else list(reversed(replies))
