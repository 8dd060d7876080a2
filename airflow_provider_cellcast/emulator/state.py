"""In-memory service state of the Cellcast emulator: messages, account, templates, senders, opt-outs
and replies.

One :class:`EmulatorState` lives behind each emulator app. Its lock guards the service state, so
HTTP handlers (on the server's event loop) and test code (on the test thread) can both use it.
It also holds the test harness (:mod:`.harness`: clock, faults, journal and counters, rate
limit), each thread-safe on its own, and offers their methods under the names tests use.

Message statuses move with time, evaluated lazily whenever a message is read: a ``scheduled``
message whose ``scheduleAt`` has passed becomes ``sent`` (``send_time = scheduleAt``), and a
``sent`` message becomes ``delivered`` ``delivery_delay_seconds`` later. A final status
(``canceled``, ``dead``...: :data:`.rules.FINAL_STATUSES`) never changes. The clock is injectable
and can be moved forward (:meth:`EmulatorState.advance_clock`), so tests never need to sleep.

Example::

    state = EmulatorState(EmulatorConfig(token="t"))
    [msg] = state.send("sms", ["+61400000001"], "Hi", schedule_at=state.now() + timedelta(hours=1))
    state.advance_clock(3600)
    assert state.get_message(msg.id).status == "sent"
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from typing import Any

from airflow_provider_cellcast.emulator import rules
from airflow_provider_cellcast.emulator.config import EmulatorConfig, check_setting, credits, credits_json, parse_sender
from airflow_provider_cellcast.emulator.contacts import normalise_contact
from airflow_provider_cellcast.emulator.harness.access import HarnessMixin
from airflow_provider_cellcast.emulator.harness.clock import EmulatorClock
from airflow_provider_cellcast.emulator.harness.faults import FAULT_KINDS, Fault, FaultBook
from airflow_provider_cellcast.emulator.harness.journal import JOURNAL_SIZE, REPORT_PATH_KEY, Journal
from airflow_provider_cellcast.emulator.harness.ratelimit import RateLimiter
from airflow_provider_cellcast.emulator.inbound import InboundBook, OptOut, Reply
from airflow_provider_cellcast.emulator.models import (
    DEFAULT_TEMPLATE_ID,
    DEFAULT_TEMPLATE_TEXT,
    Account,
    InsufficientBalanceError,
    StoredMessage,
    parse_seed,
    sms_parts,
)
from airflow_provider_cellcast.emulator.rules import (
    CANCEL_SUCCESS,
    MAX_DELAY_MS,
    MESSAGE_NOT_FOUND,
    MESSAGE_STATUSES,
    STATUS_ALIASES,
    EmulatorStateError,
    RuleError,
)
from airflow_provider_cellcast.emulator.timestamps import Clock, format_timestamp, parse_date, parse_timestamp, utc_now

__all__ = [
    "DEFAULT_TEMPLATE_ID",
    "DEFAULT_TEMPLATE_TEXT",
    "FAULT_KINDS",
    "JOURNAL_SIZE",
    "MAX_DELAY_MS",
    "MESSAGE_STATUSES",
    "REPORT_PATH_KEY",
    "STATUS_ALIASES",
    "Account",
    "Clock",
    "EmulatorConfig",
    "EmulatorState",
    "EmulatorStateError",
    "Fault",
    "InsufficientBalanceError",
    "RuleError",
    "StoredMessage",
    "format_timestamp",
    "normalise_status",
    "parse_date",
    "parse_timestamp",
    "sms_parts",
    "utc_now",
]


# Statuses of messages that never reached the phone: a reply cannot answer them.
_NOT_SENT = frozenset({"scheduled", "canceled", "queued", "pending"})


def normalise_status(value: str, field_name: str = "status") -> str:
    """Return a canonical status name, accepting Cellcast's "delievered" spelling."""
    return rules.message_status(value, field_name)


class EmulatorState(HarnessMixin):
    """Everything the emulator remembers: service state under one lock, plus the test harness.

    :param config: behaviour settings; kept as the defaults :meth:`reset` returns to.
    :param clock: the real clock to build on (default: system UTC time); the emulator's time is
        this clock plus the offset set by :meth:`advance_clock`.

    Example::

        state = EmulatorState(EmulatorConfig(token="secret"), clock=lambda: fixed_time)
        msg = state.seed_message({"status": "scheduled", "scheduleAt": "2030-01-01 00:00:00"})
        ok, text = state.cancel(msg.id, "sms")
    """

    def __init__(self, config: EmulatorConfig | None = None, clock: Clock | None = None) -> None:
        self._lock = threading.RLock()
        self._initial_config = dataclasses.replace(config) if config else EmulatorConfig()
        self.clock = EmulatorClock(clock)
        self.fault_book = FaultBook()
        self.journal_book = Journal()
        self.rate_limiter = RateLimiter()
        self.inbound = InboundBook()
        self._random_id_part = os.urandom(5)
        self._id_counter = itertools.count(int.from_bytes(os.urandom(3), "big"))
        self._sequence = itertools.count(1)
        #: Bumped by :meth:`reset` and :meth:`release_waits`: pending hangs end when it changes.
        self.generation = 0
        self._init_mutable()

    def _init_mutable(self) -> None:
        self.config = dataclasses.replace(self._initial_config)
        self.account = Account(
            name=self.config.account_name,
            email=self.config.account_email,
            sms_balance=credits(self.config.sms_balance),
            mms_balance=credits(self.config.mms_balance),
        )
        self._messages: dict[str, StoredMessage] = {}
        self._templates: dict[str, str] = {DEFAULT_TEMPLATE_ID: DEFAULT_TEMPLATE_TEXT}
        self._senders: dict[str, str] = dict(parse_sender(entry) for entry in self.config.senders)
        self.inbound.clear()

    # ----------------------------------------------------------------- lifecycle and clock
    def reset(self) -> None:
        """Forget messages, replies, opt-outs, faults, journal and clock offset; restore config,
        senders and balances."""
        with self._lock:
            self._init_mutable()
            self.clock.reset()
            self.fault_book.clear()
            self.journal_book.reset()
            self.rate_limiter.reset()
            self.generation += 1

    def release_waits(self) -> None:
        """End every pending ``hang``/``latency`` wait now (used when the server stops)."""
        with self._lock:
            self.generation += 1

    def configure(self, **settings: Any) -> EmulatorConfig:
        """Change run-time settings (see :data:`.config.RUNTIME_FIELDS`); all or nothing.

        A balance given here becomes the account's balance now (and the setting shown).
        """
        checked = {name: check_setting(name, value) for name, value in settings.items()}
        with self._lock:
            for name, value in checked.items():
                if name in ("sms_balance", "mms_balance"):
                    setattr(self.account, name, credits(value))
                setattr(self.config, name, value)
            return dataclasses.replace(self.config)

    # ----------------------------------------------------------------- IDs
    def _new_id(self) -> str:
        """A new ObjectId-like ID; call with the lock held."""
        # Built like a MongoDB ObjectId (time, random, counter), so IDs look and sort like Cellcast's.
        seconds = int(self.now().timestamp()) & 0xFFFFFFFF
        while True:
            counter = next(self._id_counter) & 0xFFFFFF
            candidate = (seconds.to_bytes(4, "big") + self._random_id_part + counter.to_bytes(3, "big")).hex()
            if candidate not in self._messages and candidate not in self._templates:
                return candidate

    # ----------------------------------------------------------------- time transitions
    def _advance(self, message: StoredMessage, now: datetime) -> None:
        if not message.auto_advance or message.status in rules.FINAL_STATUSES:
            return
        if message.status == "queued":
            message.status = "sent"
            message.send_time = message.send_time or message.created_at
            message.updated_at = message.send_time
        if message.status == "scheduled" and message.schedule_at is not None and message.schedule_at <= now:
            message.status = "sent"
            message.send_time = message.schedule_at
            message.updated_at = message.schedule_at
        if message.status == "sent":
            sent_at = message.send_time or message.updated_at
            delivered_at = sent_at + timedelta(seconds=self.config.delivery_delay_seconds)
            if delivered_at <= now:
                message.status = "delivered"
                message.updated_at = delivered_at

    # ----------------------------------------------------------------- messages
    def get_message(self, message_id: str) -> StoredMessage | None:
        """Return a copy of the message (after time transitions), or ``None`` when unknown."""
        with self._lock:
            message = self._messages.get(message_id.strip().lower())
            if message is None:
                return None
            self._advance(message, self.now())
            return dataclasses.replace(message)

    def list_messages(
        self,
        *,
        message_type: str | None = None,
        status: str | None = None,
        from_date: date | None = None,
        to_date: date | None = None,
        custom_string: str | None = None,
    ) -> list[StoredMessage]:
        """Messages matching every given filter, newest first.

        ``from_date``/``to_date`` are creation days in the account's time zone (``date_filter_zone
        ="account"``, the default) or in UTC (``"utc"``).
        """
        with self._lock:
            now = self.now()
            zone: tzinfo = self.config.zone() if self.config.date_filter_zone == "account" else timezone.utc
            found = []
            for message in self._messages.values():
                self._advance(message, now)
                created = message.created_at.astimezone(zone).date()
                if (
                    (message_type and message.type != message_type)
                    or (status and message.status != status)
                    or (from_date and created < from_date)
                    or (to_date and created > to_date)
                    or (custom_string is not None and message.custom_string != custom_string)
                ):
                    continue
                found.append(dataclasses.replace(message))
        found.sort(key=lambda m: (m.created_at, m.sequence), reverse=True)
        return found

    def seed_message(self, spec: Mapping[str, Any]) -> StoredMessage:
        """Store a message built from control-plane fields, without charging the account.

        Keys (all optional): ``_id``, ``type``, ``status`` (default ``scheduled``; any status,
        ``dead``, ``aborted``, ``unknown`` and ``pending`` included), ``message``, ``sender``,
        ``receiver``, ``scheduleAt``, ``send_time``, ``createdAt`` (times without an offset are
        UTC), ``customString``, ``media``, ``replyStop``, ``auto_advance`` (false keeps the
        status forever).
        """
        values = parse_seed(spec)
        with self._lock:
            now = self.now()
            values["created_at"] = values["created_at"] or now
            if values["status"] == "scheduled" and values["schedule_at"] is None:
                values["schedule_at"] = now + timedelta(hours=1)
            if values["status"] in ("sent", "delivered") and values["send_time"] is None:
                values["send_time"] = now
            if values["id"] is None:
                values["id"] = self._new_id()
            elif values["id"] in self._messages:
                raise EmulatorStateError(f"message {values['id']} already exists", 409)
            values["updated_at"] = max(values["created_at"], values["send_time"] or values["created_at"])
            message = StoredMessage(**values, sequence=next(self._sequence))
            self._messages[message.id] = message
            return dataclasses.replace(message)

    def set_status(self, message_id: str, status: Any, *, auto_advance: Any = None) -> StoredMessage:
        """Give a stored message another status now (e.g. ``dead``: a final failure); return it.

        ``auto_advance`` (when given) also freezes or frees its later transitions. Raises
        :class:`EmulatorStateError` (404) for an unknown ID.
        """
        canonical = rules.message_id(message_id, "message_id")
        status = rules.message_status(status, "status")
        if auto_advance is not None and not isinstance(auto_advance, bool):
            raise RuleError("auto_advance", "auto_advance must be true or false")
        with self._lock:
            message = self._messages.get(canonical)
            if message is None:
                raise EmulatorStateError("Message not found", 404)
            now = self.now()
            self._advance(message, now)
            message.status = status
            message.updated_at = now
            if status == "scheduled" and (message.schedule_at is None or message.schedule_at <= now):
                message.schedule_at = now + timedelta(hours=1)
            if status in ("sent", "delivered") and message.send_time is None:
                message.send_time = now
            if auto_advance is not None:
                message.auto_advance = auto_advance
            return dataclasses.replace(message)

    def send(
        self,
        message_type: str,
        receivers: Iterable[str],
        text: str,
        *,
        sender: str | None = None,
        schedule_at: datetime | None = None,
        custom_string: str | None = None,
        media: str | None = None,
        reply_stop: bool = False,
        submitted: Sequence[str] | None = None,
    ) -> list[StoredMessage]:
        """Store one message per receiver (E.164) and charge the account, all or nothing.

        Without ``schedule_at`` (or with one not in the future) the messages are ``sent`` at once.
        ``submitted`` gives each receiver as the request wrote it. Raises
        :class:`InsufficientBalanceError` when the balance does not cover every message.
        """
        receivers = list(receivers)
        written = list(submitted) if submitted is not None else receivers
        parts = sms_parts(text) if message_type == "sms" else 1
        with self._lock:
            now = self.now()
            balance_field = f"{message_type}_balance"
            needed = credits(parts * len(receivers))
            balance: Decimal = getattr(self.account, balance_field)
            if needed > balance:
                raise InsufficientBalanceError(
                    f"Insufficient {message_type.upper()} balance: {credits_json(needed)} credits needed, "
                    f"{credits_json(balance)} left"
                )
            setattr(self.account, balance_field, balance - needed)
            scheduled = schedule_at is not None and schedule_at > now
            stored = []
            for receiver, as_written in zip(receivers, written, strict=True):
                message = StoredMessage(
                    id=self._new_id(),
                    type=message_type,
                    status="scheduled" if scheduled else "sent",
                    message=text,
                    sender=sender or rules.SHARED_SENDER,
                    receiver=receiver,
                    created_at=now,
                    updated_at=now,
                    schedule_at=schedule_at,
                    send_time=None if scheduled else now,
                    custom_string=custom_string,
                    media=media,
                    credits=parts,
                    sequence=next(self._sequence),
                    reply_stop=reply_stop,
                    submitted=as_written,
                )
                self._messages[message.id] = message
                stored.append(dataclasses.replace(message))
            return stored

    def cancel(self, message_id: str, message_type: str) -> tuple[bool, str]:
        """Cancel a scheduled message; return ``(cancelled, text for the answer)``.

        Unknown IDs and IDs of the other type are "message not found" (live wording; the service
        looks the job up by ID and type); a message that is no longer ``scheduled`` cannot be
        cancelled. The credits of a cancelled message go back to the account.
        """
        with self._lock:
            message = self._messages.get(message_id)
            if message is None or message.type != message_type:
                return False, MESSAGE_NOT_FOUND
            now = self.now()
            self._advance(message, now)
            if message.status != "scheduled":
                return False, "Job not found or already processed"
            message.status = "canceled"
            message.updated_at = now
            balance_field = f"{message.type}_balance"
            setattr(self.account, balance_field, getattr(self.account, balance_field) + credits(message.credits))
            return True, CANCEL_SUCCESS

    # ----------------------------------------------------------------- templates and senders
    def template(self, template_id: str) -> str | None:
        """The text of a template, or ``None`` when unknown."""
        with self._lock:
            return self._templates.get(template_id)

    def add_template(self, text: str, template_id: str | None = None) -> str:
        """Store an SMS template; return its ID."""
        if not isinstance(text, str) or not text:
            raise RuleError("text", "text is required")
        with self._lock:
            tid = rules.message_id(template_id, "id") if template_id is not None else self._new_id()
            self._templates[tid] = text
            return tid

    def register_sender(self, sender: Any, name: Any = None) -> tuple[str, str]:
        """Register a sender ID (alphanumeric or a number) to the account; return ``(sender, name)``."""
        checked, default_name = parse_sender(sender)
        if name is not None and not isinstance(name, str):
            raise RuleError("name", "name must be a string")
        with self._lock:
            self._senders[checked] = name or default_name
            return checked, self._senders[checked]

    def senders(self) -> list[tuple[str, str]]:
        """The registered senders as ``(sender, name)``, in registration order (not ``#SharedNum#``)."""
        with self._lock:
            return list(self._senders.items())

    def is_registered_sender(self, sender: str) -> bool:
        """Whether the account may send as ``sender`` (``#SharedNum#`` always)."""
        with self._lock:
            return sender == rules.SHARED_SENDER or sender in self._senders

    # ----------------------------------------------------------------- opt-outs and replies
    def add_optouts(self, numbers: Iterable[Any]) -> list[str]:
        """Unsubscribe numbers (strings, or ``{"number", "first_name", "last_name"}``); return them (E.164)."""
        entries = []
        for raw in numbers:
            spec = raw if isinstance(raw, Mapping) else {"number": raw}
            check = normalise_contact(spec.get("number"))
            if check.number is None:
                raise RuleError("numbers", f"invalid number in numbers: {check.error}")
            first, last = spec.get("first_name") or "", spec.get("last_name") or ""
            if not isinstance(first, str) or not isinstance(last, str):
                raise RuleError("numbers", "first_name and last_name must be strings")
            entries.append(OptOut(id="", number=check.number, created_at=self.now(), first_name=first, last_name=last))
        for entry in entries:
            with self._lock:
                entry.id = self._new_id()
            self.inbound.add_optout(entry)
        return [entry.number for entry in entries]

    def is_opted_out(self, number: str) -> bool:
        """Whether ``number`` (E.164) is unsubscribed."""
        return self.inbound.is_opted_out(number)

    def optouts(self) -> list[OptOut]:
        """The opt-out list, newest first."""
        return self.inbound.optouts()

    def inject_reply(
        self, sender: Any, body: Any, message_id: str | None = None, received_at: datetime | str | None = None
    ) -> Reply:
        """Receive an inbound reply from ``sender``; a STOP reply unsubscribes the number.

        ``message_id`` names the message replied to; without it, the latest message sent to that
        number before the reply is taken, if any. ``received_at`` defaults to now (a time without
        an offset is UTC).
        """
        check = normalise_contact(sender)
        if check.number is None:
            raise RuleError("from", f"from is invalid: {check.error}")
        if not isinstance(body, str):
            raise RuleError("body", "body must be a string")
        answered = rules.message_id(message_id, "message_id") if message_id not in (None, "") else None
        received = parse_timestamp(received_at, "received_at") if received_at not in (None, "") else self.now()
        with self._lock:
            if answered is None:
                earlier = [
                    m
                    for m in self._messages.values()
                    if m.receiver == check.number and m.created_at <= received and m.status not in _NOT_SENT
                ]
                if earlier:
                    answered = max(earlier, key=lambda m: (m.send_time or m.created_at, m.sequence)).id
        reply = self.inbound.add_reply(Reply(sender=check.number, body=body, received_at=received, message_id=answered))
        if rules.is_stop_reply(body):
            self.add_optouts([check.number])
        return reply

    def replies(self) -> list[Reply]:
        """Every inbound reply, in the order ``replies_order`` says (newest first by default)."""
        return self.inbound.replies(newest_first=self.config.replies_order == "newest-first")
