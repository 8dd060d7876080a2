"""In-memory service state of the Cellcast emulator: messages, account, templates and opt-outs.

One :class:`EmulatorState` lives behind each emulator app. Its lock guards the service state, so
HTTP handlers (on the server's event loop) and test code (on the test thread) can both use it.
It also holds the test harness (:mod:`.harness`: clock, faults, journal and counters, rate
limit), each thread-safe on its own, and offers their methods under the names tests use.

Message statuses move with time, evaluated lazily whenever a message is read: a ``scheduled``
message whose ``scheduleAt`` has passed becomes ``sent`` (``send_time = scheduleAt``), and a
``sent`` message becomes ``delivered`` ``delivery_delay_seconds`` later. A ``canceled`` message
never changes. The clock is injectable and can be moved forward (:meth:`EmulatorState.advance_clock`),
so tests never need to sleep.

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
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from airflow_provider_cellcast.emulator import rules
from airflow_provider_cellcast.emulator.config import EmulatorConfig, check_setting
from airflow_provider_cellcast.emulator.contacts import normalise_contact
from airflow_provider_cellcast.emulator.harness.clock import EmulatorClock
from airflow_provider_cellcast.emulator.harness.faults import FAULT_KINDS, Fault, FaultBook
from airflow_provider_cellcast.emulator.harness.journal import JOURNAL_SIZE, REPORT_PATH_KEY, Journal
from airflow_provider_cellcast.emulator.harness.ratelimit import RateLimiter
from airflow_provider_cellcast.emulator.models import (
    DEFAULT_TEMPLATE_ID,
    DEFAULT_TEMPLATE_TEXT,
    Account,
    InsufficientBalanceError,
    StoredMessage,
    sms_parts,
)
from airflow_provider_cellcast.emulator.rules import (
    MAX_DELAY_MS,
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


def normalise_status(value: str, field_name: str = "status") -> str:
    """Return a canonical status name, accepting Cellcast's "delievered" spelling."""
    return rules.message_status(value, field_name)


class EmulatorState:
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
            sms_balance=self.config.sms_balance,
            mms_balance=self.config.mms_balance,
        )
        self._messages: dict[str, StoredMessage] = {}
        self._templates: dict[str, str] = {DEFAULT_TEMPLATE_ID: DEFAULT_TEMPLATE_TEXT}
        self._optouts: set[str] = set()

    # ----------------------------------------------------------------- lifecycle and clock
    def reset(self) -> None:
        """Forget messages, faults, journal, opt-outs and clock offset; restore config and balances."""
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

    def now(self) -> datetime:
        """The emulator's current time (aware UTC)."""
        return self.clock.now()

    def advance_clock(self, seconds: float) -> datetime:
        """Move the emulator's time forward (or back, if negative); return the new time."""
        return self.clock.advance(seconds)

    def set_clock(self, when: datetime | str) -> datetime:
        """Move the emulator's time so that it reads ``when`` now (a time without offset is UTC)."""
        return self.clock.set(parse_timestamp(when, "now"))

    @property
    def clock_offset_seconds(self) -> float:
        """How far the emulator's time is from the real clock, in seconds."""
        return self.clock.offset_seconds

    def configure(self, **settings: Any) -> EmulatorConfig:
        """Change run-time settings (see :data:`.config.RUNTIME_FIELDS`) and balances; all or nothing."""
        checked = {name: check_setting(name, value) for name, value in settings.items()}
        with self._lock:
            for name, value in checked.items():
                if name in ("sms_balance", "mms_balance"):
                    setattr(self.account, name, value)
                else:
                    setattr(self.config, name, value)
            return dataclasses.replace(self.config)

    # ----------------------------------------------------------------- IDs
    def _new_id(self) -> str:
        # Built like a MongoDB ObjectId (time, random, counter), so IDs look and sort like Cellcast's.
        seconds = int(self.now().timestamp()) & 0xFFFFFFFF
        while True:
            counter = next(self._id_counter) & 0xFFFFFF
            candidate = (seconds.to_bytes(4, "big") + self._random_id_part + counter.to_bytes(3, "big")).hex()
            if candidate not in self._messages and candidate not in self._templates:
                return candidate

    # ----------------------------------------------------------------- time transitions
    def _advance(self, message: StoredMessage, now: datetime) -> None:
        if not message.auto_advance:
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
        """Messages matching every given filter, newest first."""
        with self._lock:
            now = self.now()
            found = []
            for message in self._messages.values():
                self._advance(message, now)
                created = message.created_at.date()
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

        Keys (all optional): ``_id``, ``type``, ``status`` (default ``scheduled``), ``message``,
        ``sender``, ``receiver``, ``scheduleAt``, ``send_time``, ``createdAt``, ``customString``,
        ``media``, ``auto_advance`` (false keeps the status forever).
        """
        known = {
            "_id", "id", "type", "status", "message", "sender", "receiver", "scheduleAt", "send_time",
            "createdAt", "customString", "media", "auto_advance",
        }  # fmt: skip
        unknown = sorted(set(spec) - known)
        if unknown:
            raise EmulatorStateError(f"unknown message field(s): {', '.join(unknown)}")
        message_type = rules.message_type(spec.get("type", "sms"), "type")
        status = rules.message_status(spec.get("status", "scheduled"), "status")
        raw_id = spec.get("_id", spec.get("id"))
        message_id = rules.message_id(raw_id, "_id") if raw_id is not None else None
        receiver = normalise_contact(spec.get("receiver", "+61400000000"))
        if receiver.number is None:
            raise EmulatorStateError(f"receiver is invalid: {receiver.error}")
        text = spec.get("message", "Message seeded into the Cellcast emulator")
        sender = spec.get("sender") or "#SharedNum#"
        custom = spec.get("customString")
        media = spec.get("media")
        for name, value in (("message", text), ("sender", sender), ("customString", custom), ("media", media)):
            if value is not None and not isinstance(value, str):
                raise EmulatorStateError(f"{name} must be a string")
        auto_advance = spec.get("auto_advance", True)
        if not isinstance(auto_advance, bool):
            raise EmulatorStateError("auto_advance must be true or false")
        with self._lock:
            now = self.now()
            created = parse_timestamp(spec["createdAt"], "createdAt") if spec.get("createdAt") else now
            schedule_at = parse_timestamp(spec["scheduleAt"], "scheduleAt") if spec.get("scheduleAt") else None
            send_time = parse_timestamp(spec["send_time"], "send_time") if spec.get("send_time") else None
            if status == "scheduled" and schedule_at is None:
                schedule_at = now + timedelta(hours=1)
            if status in ("sent", "delivered") and send_time is None:
                send_time = now
            if message_id is None:
                message_id = self._new_id()
            elif message_id in self._messages:
                raise EmulatorStateError(f"message {message_id} already exists", 409)
            message = StoredMessage(
                id=message_id,
                type=message_type,
                status=status,
                message=text,
                sender=sender,
                receiver=receiver.number,
                created_at=created,
                updated_at=max(created, send_time or created),
                schedule_at=schedule_at,
                send_time=send_time,
                custom_string=custom,
                media=media,
                credits=sms_parts(text) if message_type == "sms" else 1,
                auto_advance=auto_advance,
                sequence=next(self._sequence),
            )
            self._messages[message_id] = message
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
    ) -> list[StoredMessage]:
        """Store one message per receiver (E.164) and charge the account, all or nothing.

        Without ``schedule_at`` (or with one not in the future) the messages are ``sent`` at once.
        Raises :class:`InsufficientBalanceError` when the balance does not cover every message.
        """
        receivers = list(receivers)
        credits = sms_parts(text) if message_type == "sms" else 1
        with self._lock:
            now = self.now()
            balance_field = f"{message_type}_balance"
            needed = credits * len(receivers)
            balance = getattr(self.account, balance_field)
            if needed > balance:
                raise InsufficientBalanceError(
                    f"Insufficient {message_type.upper()} balance: {needed} credits needed, {balance} left"
                )
            setattr(self.account, balance_field, balance - needed)
            scheduled = schedule_at is not None and schedule_at > now
            stored = []
            for receiver in receivers:
                message = StoredMessage(
                    id=self._new_id(),
                    type=message_type,
                    status="scheduled" if scheduled else "sent",
                    message=text,
                    sender=sender or "#SharedNum#",
                    receiver=receiver,
                    created_at=now,
                    updated_at=now,
                    schedule_at=schedule_at,
                    send_time=None if scheduled else now,
                    custom_string=custom_string,
                    media=media,
                    credits=credits,
                    sequence=next(self._sequence),
                )
                self._messages[message.id] = message
                stored.append(dataclasses.replace(message))
            return stored

    def cancel(self, message_id: str, message_type: str) -> tuple[bool, str]:
        """Cancel a scheduled message; return ``(cancelled, text for the answer)``.

        Unknown IDs and IDs of the other type are "not found" (the real service looks the job up by
        ID and type); a message that is no longer ``scheduled`` cannot be cancelled. The credits of
        a cancelled message go back to the account.
        """
        with self._lock:
            message = self._messages.get(message_id)
            if message is None or message.type != message_type:
                return False, "Message not found"
            now = self.now()
            self._advance(message, now)
            if message.status != "scheduled":
                return False, "Job not found or already processed"
            message.status = "canceled"
            message.updated_at = now
            balance_field = f"{message.type}_balance"
            setattr(self.account, balance_field, getattr(self.account, balance_field) + message.credits)
            return True, "Job Removed successfully"

    # ----------------------------------------------------------------- templates and opt-outs
    def template(self, template_id: str) -> str | None:
        """The text of a template, or ``None`` when unknown."""
        with self._lock:
            return self._templates.get(template_id)

    def add_template(self, text: str, template_id: str | None = None) -> str:
        """Store an SMS template; return its ID."""
        if not isinstance(text, str) or not text:
            raise EmulatorStateError("text is required")
        with self._lock:
            tid = rules.message_id(template_id, "id") if template_id is not None else self._new_id()
            self._templates[tid] = text
            return tid

    def add_optouts(self, numbers: Iterable[Any]) -> list[str]:
        """Mark numbers as unsubscribed: sends to them land in ``unsubscribeContacts``."""
        added = []
        for raw in numbers:
            check = normalise_contact(raw)
            if check.number is None:
                raise EmulatorStateError(f"invalid number in numbers: {check.error}")
            added.append(check.number)
        with self._lock:
            self._optouts.update(added)
        return added

    def is_opted_out(self, number: str) -> bool:
        """Whether ``number`` (E.164) is unsubscribed."""
        with self._lock:
            return number in self._optouts

    # ----------------------------------------------------------------- harness: rate limit, faults, journal
    def check_rate_limit(self, token: str) -> float | None:
        """Count one request for ``token``; return ``None`` if allowed, else seconds until allowed."""
        wait = self.rate_limiter.check(token, self.config.rate_limit_per_second)
        if wait is not None:
            self.journal_book.count_rate_limited()
        return wait

    def add_fault(self, spec: Mapping[str, Any]) -> Fault:
        """Register a fault from control-plane fields; see :class:`~.harness.faults.Fault`."""
        return self.fault_book.add(spec)

    def take_fault(self, method: str, path: str, message_id: str | None) -> Fault | None:
        """Return the first fault matching this request and count it as used (oldest fault wins)."""
        return self.fault_book.take(method, path, message_id)

    def faults(self) -> list[Fault]:
        """Faults still pending."""
        return self.fault_book.pending()

    def clear_faults(self) -> None:
        """Remove every pending fault."""
        self.fault_book.clear()

    def record_request(self, entry: dict[str, Any]) -> int:
        """Append one API request to the journal and count it; return a token for :meth:`record_answer`.

        Callers mask phone numbers and omit tokens. The entry itself is kept, so that the caller
        can complete it (status, duration) later.
        """
        return self.journal_book.record_request(entry, format_timestamp(self.now()))

    def record_answer(self, status: int | None, epoch: int) -> None:
        """Count the HTTP status answered to a request (``epoch``: what :meth:`record_request` returned).

        An answer to a request that arrived before the last :meth:`reset` (or :meth:`clear_stats`)
        is not counted. ``None``: no answer was sent (connection lost).
        """
        self.journal_book.record_answer(status, epoch)

    def stats(self) -> dict[str, Any]:
        """Request counters since the last reset: unlike the journal, they never drop old requests.

        ``requests`` (all API requests), ``by_path`` (report paths counted together under
        :data:`REPORT_PATH_KEY`), ``by_status`` (HTTP statuses answered, keys as strings) and
        ``rate_limited`` (429 answers of the rate limiter; ``by_status["429"]`` also counts
        injected 429 faults).
        """
        return self.journal_book.stats()

    def clear_stats(self) -> None:
        """Zero the request counters (answers still pending are not counted afterwards)."""
        self.journal_book.clear_stats()

    def journal(self) -> list[dict[str, Any]]:
        """The last :data:`JOURNAL_SIZE` API requests, oldest first."""
        return self.journal_book.entries()

    def clear_journal(self) -> None:
        """Empty the request journal (the counters stay)."""
        self.journal_book.clear()
