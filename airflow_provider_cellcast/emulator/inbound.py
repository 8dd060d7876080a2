"""Inbound traffic of the emulated account: replies received, and the opt-out (unsubscribe) list.

Standard library only. :class:`InboundBook` keeps both under its own lock;
:class:`~.state.EmulatorState` owns one and decides which message a reply answers. A reply whose
body is a STOP word (:data:`.rules.STOP_WORDS`: "STOP", "stop all", "Unsubscribe"..., trimmed,
any case) adds its number to the opt-outs, whatever message it answers.

How they are shown (``GET /api/v1/apiClient/getResponses`` and ``getOptout``):

* numbers as ``61XXXXXXXXX`` (international, no ``+``): the emulator's choice, undocumented;
* ``received_at`` in the account's time zone without an offset (``2031-01-15 23:00:00``) by
  default: Cellcast documents no zone, and this is the reading a UTC client gets wrong;
  ``received_at_format="utc"`` answers ``2031-01-15T12:00:00.000Z``;
* ``message_id`` ``""`` by default, as in Cellcast's documented sample;
  ``reply_message_id="known"`` fills in the message replied to when the emulator knows it.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from airflow_provider_cellcast.emulator.contacts import international_number
from airflow_provider_cellcast.emulator.timestamps import format_timestamp

__all__ = ["InboundBook", "OptOut", "Reply"]


@dataclass
class Reply:
    """One inbound reply: from a number (E.164), a body, when, and the message it answers if known."""

    sender: str
    body: str
    received_at: datetime
    message_id: str | None = None
    sequence: int = 0

    def item(self, *, zone: tzinfo, time_format: str, show_message_id: bool) -> dict[str, Any]:
        """The reply as ``getResponses`` lists it (``data.items[]``)."""
        if time_format == "utc":
            received = format_timestamp(self.received_at)
        else:
            received = self.received_at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
        return {
            "from": international_number(self.sender),
            "body": self.body,
            "received_at": received,
            "message_id": (self.message_id or "") if show_message_id else "",
        }


@dataclass
class OptOut:
    """One unsubscribed number (E.164) with the contact's names, as Cellcast's opt-out list keeps it."""

    id: str
    number: str
    created_at: datetime
    first_name: str = ""
    last_name: str = ""
    sequence: int = 0

    def item(self) -> dict[str, Any]:
        """The opt-out as ``getOptout`` lists it (``data.items[]``)."""
        return {
            "_id": self.id,
            "number": international_number(self.number),
            "first_name": self.first_name,
            "last_name": self.last_name,
            "createdAt": format_timestamp(self.created_at),
        }


class InboundBook:
    """Replies (in arrival order) and opt-outs (one per number); thread-safe, returns copies."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sequence = 0
        self._replies: list[Reply] = []
        self._optouts: dict[str, OptOut] = {}

    def _next(self) -> int:
        self._sequence += 1
        return self._sequence

    def add_reply(self, reply: Reply) -> Reply:
        """Store a reply; return it as stored."""
        with self._lock:
            stored = dataclasses.replace(reply, sequence=self._next())
            self._replies.append(stored)
            return dataclasses.replace(stored)

    def replies(self, newest_first: bool = True) -> list[Reply]:
        """Every reply, newest (by ``received_at``, then arrival) first unless told otherwise."""
        with self._lock:
            found = [dataclasses.replace(r) for r in self._replies]
        found.sort(key=lambda r: (r.received_at, r.sequence), reverse=newest_first)
        return found

    def add_optout(self, optout: OptOut) -> OptOut:
        """Unsubscribe a number; a number already on the list keeps its first entry."""
        with self._lock:
            kept = self._optouts.get(optout.number)
            if kept is None:
                kept = dataclasses.replace(optout, sequence=self._next())
                self._optouts[optout.number] = kept
            return dataclasses.replace(kept)

    def is_opted_out(self, number: str) -> bool:
        """Whether ``number`` (E.164) is on the opt-out list."""
        with self._lock:
            return number in self._optouts

    def optouts(self) -> list[OptOut]:
        """The opt-out list, newest first."""
        with self._lock:
            found = [dataclasses.replace(o) for o in self._optouts.values()]
        found.sort(key=lambda o: (o.created_at, o.sequence), reverse=True)
        return found

    def clear(self) -> None:
        """Forget replies and opt-outs."""
        with self._lock:
            self._replies.clear()
            self._optouts.clear()
