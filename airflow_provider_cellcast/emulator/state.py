"""In-memory state of the Cellcast emulator: messages, account, faults, request journal, clock.

One :class:`EmulatorState` lives behind each emulator app. Every method takes the state's lock,
so HTTP handlers (on the server's event loop) and test code (on the test thread) can both use it.

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
import hashlib
import itertools
import math
import os
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from email.utils import format_datetime
from fnmatch import fnmatchcase
from typing import Any

from airflow_provider_cellcast.emulator import rules
from airflow_provider_cellcast.emulator.contacts import national_number, normalise_contact
from airflow_provider_cellcast.emulator.rules import MAX_DELAY_MS, MESSAGE_STATUSES, STATUS_ALIASES, RuleError

#: A callable returning the current time as an aware UTC datetime.
Clock = Callable[[], datetime]

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
    "StoredMessage",
    "format_timestamp",
    "normalise_status",
    "parse_date",
    "parse_timestamp",
    "sms_parts",
    "utc_now",
]

#: Fault kinds understood by the emulator (see :class:`Fault`).
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
)
_FAULT_DEFAULT_STATUS = {
    "status": 503,
    "html": 502,
    "empty": 502,
    "malformed": 200,
    "unexpected_json": 200,
    "app_status_false": 200,
    "drop": 200,
}
#: A template known to every fresh emulator, for template sends.
DEFAULT_TEMPLATE_ID = "66bd9fb66b9668f9a3648355"
DEFAULT_TEMPLATE_TEXT = "Hello from the Cellcast emulator template. Reply STOP to opt-out"
JOURNAL_SIZE = 1000
#: The request counters show every report of one message under this path.
REPORT_PATH_KEY = "/api/v2/report/message/{messageId}"
_REPORT_PATH_PREFIX = "/api/v2/report/message/"

_TIMESTAMP_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*(Z|[+-]\d{2}:?\d{2})?$",
    re.IGNORECASE,
)
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class EmulatorStateError(ValueError):
    """A control-plane or state request the emulator refuses; ``status_code`` is the HTTP answer."""

    def __init__(self, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


class InsufficientBalanceError(EmulatorStateError):
    """The account has too few credits for a send (Cellcast answers HTTP 422, status false)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, 422)


def utc_now() -> datetime:
    """The real clock, as an aware UTC datetime."""
    return datetime.now(timezone.utc)


def format_timestamp(value: datetime | None) -> str | None:
    """Format like Cellcast (MongoDB): ``2024-08-14T14:58:00.981Z``; ``None`` stays ``None``."""
    if value is None:
        return None
    value = value.astimezone(timezone.utc)
    return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond // 1000:03d}Z"


def parse_timestamp(value: Any, field_name: str = "scheduleAt") -> datetime:
    """Parse ``"Y-m-d H:i:s"`` or ISO 8601 (``2024-08-14T14:58:00.981Z``) into an aware UTC datetime.

    Cellcast's docs state the first form and show the second; both are accepted. A time without
    an offset is UTC, as the docs say.
    """
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    match = _TIMESTAMP_RE.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise EmulatorStateError(
            f"{field_name} must be a UTC time as 'YYYY-MM-DD HH:MM:SS' or ISO 8601 ('2024-08-14T14:58:00.981Z')"
        )
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    tz = timezone.utc
    if offset and offset.upper() != "Z":
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    try:
        parsed = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
            int((fraction or "0")[:6].ljust(6, "0")),
            tzinfo=tz,
        )
    except ValueError as error:
        raise EmulatorStateError(f"{field_name} is not a valid date and time: {error}") from error
    return parsed.astimezone(timezone.utc)


def parse_date(value: str, field_name: str) -> date:
    """Parse a ``YYYY-MM-DD`` query value."""
    if not _DATE_RE.match(value):
        raise EmulatorStateError(f"{field_name} must be a date as YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise EmulatorStateError(f"{field_name} is not a valid date: {error}") from error


def normalise_status(value: str, field_name: str = "status") -> str:
    """Return a canonical status name, accepting Cellcast's "delievered" spelling."""
    try:
        return rules.message_status(value, field_name)
    except RuleError as error:
        raise EmulatorStateError(error.message) from error


def _path_key(path: str) -> str:
    """The request counters' key for a path: one key for the reports of every message."""
    if path.startswith(_REPORT_PATH_PREFIX) and "/" not in path[len(_REPORT_PATH_PREFIX) :]:
        return REPORT_PATH_KEY
    return path


def sms_parts(text: str) -> int:
    """How many SMS parts a text takes: 160/153 characters in GSM, 70/67 in UCS-2."""
    single, multi = (160, 153) if all(ord(ch) < 128 for ch in text) else (70, 67)
    return 1 if len(text) <= single else math.ceil(len(text) / multi)


@dataclass
class EmulatorConfig:
    """Behaviour of one emulator. Every field but ``token`` can be changed at run time.

    :param token: the API key clients must send as ``Authorization: Bearer <token>``.
    :param rate_limit_per_second: requests allowed per token in any one-second window; ``None``
        means no limit. Beyond it the emulator answers HTTP 429.
    :param latency_ms: delay added to every API request.
    :param retry_after_on_429: send a ``Retry-After`` header with 429 answers (the real API
        documents none, so the default is off).
    :param delivery_delay_seconds: how long a ``sent`` message takes to become ``delivered``.
    :param sms_balance: SMS credits of the account after a reset (one credit per SMS part).
    :param mms_balance: MMS credits of the account after a reset (one credit per MMS).
    """

    token: str = field(default="test-token", repr=False)
    rate_limit_per_second: float | None = None
    latency_ms: float = 0.0
    retry_after_on_429: bool = False
    delivery_delay_seconds: float = 2.0
    sms_balance: int = 10_000
    mms_balance: int = 1_000
    account_name: str = "Cellcast Emulator"
    account_email: str = "emulator@example.com"

    #: Fields that ``POST /_emulator/config`` may change.
    RUNTIME_FIELDS = (
        "rate_limit_per_second",
        "latency_ms",
        "retry_after_on_429",
        "delivery_delay_seconds",
    )

    def public(self) -> dict[str, Any]:
        """The settings without the token, for control-plane answers."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "token"}


@dataclass
class Account:
    """The Cellcast account the token belongs to."""

    name: str
    email: str
    sms_balance: int
    mms_balance: int


@dataclass
class StoredMessage:
    """One message (one recipient) as the emulator keeps it."""

    id: str
    type: str
    status: str
    message: str
    sender: str
    receiver: str
    created_at: datetime
    updated_at: datetime
    schedule_at: datetime | None = None
    send_time: datetime | None = None
    custom_string: str | None = None
    media: str | None = None
    credits: int = 1
    auto_advance: bool = True
    sequence: int = 0

    def report(self) -> dict[str, Any]:
        """The message as ``GET /api/v2/report/message/{id}`` shows it (``data``)."""
        return {
            "_id": self.id,
            "status": self.status,
            "replyStop": False,
            "message": self.message,
            "sender": self.sender,
            "receiver": national_number(self.receiver),
            "smsDetail": {
                "_id": self.id,
                "messagelength": len(self.message),
                "smscount": sms_parts(self.message) if self.type == "sms" else 1,
                "deductibleCredit": self.credits,
            },
            "creditAmount": self.credits,
            "createdAt": format_timestamp(self.created_at),
            "updatedAt": format_timestamp(self.updated_at),
            "send_time": format_timestamp(self.send_time),
            "scheduleAt": format_timestamp(self.schedule_at),
            "customerResponse": None,
            "customString": self.custom_string,
            "media": self.media,
        }

    def control_view(self) -> dict[str, Any]:
        """The report plus what only the control plane shows (type, full receiver, auto_advance)."""
        return {**self.report(), "type": self.type, "receiver_e164": self.receiver, "auto_advance": self.auto_advance}


@dataclass
class Fault:
    """One injected fault. See ``FAULT_KINDS``; :mod:`.middleware` applies it.

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
        if self.method and self.method.upper() != method.upper():
            return False
        if self.path and not (self.path == path or fnmatchcase(path, self.path)):
            return False
        return not (self.message_id and self.message_id != message_id)

    def describe(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _retry_after_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return format_datetime(value.astimezone(timezone.utc), usegmt=True)
    if isinstance(value, bool):
        raise EmulatorStateError("retry_after must be seconds or an HTTP date")
    if isinstance(value, (int, float)):
        if value < 0:
            raise EmulatorStateError("retry_after must not be negative")
        return str(int(value)) if float(value).is_integer() else str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise EmulatorStateError("retry_after must be seconds or an HTTP date")


class EmulatorState:
    """Everything the emulator remembers, guarded by one lock.

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
        self._base_clock: Clock = clock or utc_now
        self._random_id_part = os.urandom(5)
        self._id_counter = itertools.count(int.from_bytes(os.urandom(3), "big"))
        self._sequence = itertools.count(1)
        self._fault_ids = itertools.count(1)
        self._journal_ids = itertools.count(1)
        #: Bumped by :meth:`reset` and :meth:`release_waits`: pending hangs end when it changes.
        self.generation = 0
        self._stats_epoch = 0
        self._init_mutable()

    def _init_mutable(self) -> None:
        self.config = dataclasses.replace(self._initial_config)
        self.account = Account(
            name=self.config.account_name,
            email=self.config.account_email,
            sms_balance=self.config.sms_balance,
            mms_balance=self.config.mms_balance,
        )
        self._clock_offset = timedelta(0)
        self._messages: dict[str, StoredMessage] = {}
        self._templates: dict[str, str] = {DEFAULT_TEMPLATE_ID: DEFAULT_TEMPLATE_TEXT}
        self._optouts: set[str] = set()
        self._faults: list[Fault] = []
        self._journal: deque[dict[str, Any]] = deque(maxlen=JOURNAL_SIZE)
        self._rate_windows: dict[str, deque[float]] = {}
        self._init_counters()

    def _init_counters(self) -> None:
        self._path_counts: Counter[str] = Counter()
        self._status_counts: Counter[int] = Counter()
        self._rate_limited = 0
        # Answers to requests that arrived before the counters were zeroed are not counted.
        self._stats_epoch += 1

    # ----------------------------------------------------------------- lifecycle and clock
    def reset(self) -> None:
        """Forget messages, faults, journal, opt-outs and clock offset; restore config and balances."""
        with self._lock:
            self._init_mutable()
            self.generation += 1

    def release_waits(self) -> None:
        """End every pending ``hang``/``latency`` wait now (used when the server stops)."""
        with self._lock:
            self.generation += 1

    def now(self) -> datetime:
        """The emulator's current time (aware UTC)."""
        with self._lock:
            offset = self._clock_offset
        current = self._base_clock()
        if current.tzinfo is None:
            current = current.replace(tzinfo=timezone.utc)
        return current.astimezone(timezone.utc) + offset

    def advance_clock(self, seconds: float) -> datetime:
        """Move the emulator's time forward (or back, if negative); return the new time."""
        with self._lock:
            self._clock_offset += timedelta(seconds=seconds)
        return self.now()

    def set_clock(self, when: datetime) -> datetime:
        """Move the emulator's time so that it reads ``when`` now."""
        with self._lock:
            self._clock_offset = timedelta(0)
            self._clock_offset = parse_timestamp(when, "now") - self.now()
        return self.now()

    @property
    def clock_offset_seconds(self) -> float:
        with self._lock:
            return self._clock_offset.total_seconds()

    def configure(self, **settings: Any) -> EmulatorConfig:
        """Change run-time settings (see :attr:`EmulatorConfig.RUNTIME_FIELDS`) and balances."""
        with self._lock:
            for name, value in settings.items():
                if name in ("sms_balance", "mms_balance"):
                    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                        raise EmulatorStateError(f"{name} must be a non-negative integer")
                    setattr(self.account, name, value)
                    continue
                if name not in EmulatorConfig.RUNTIME_FIELDS:
                    raise EmulatorStateError(
                        f"unknown setting {name!r}: use one of "
                        f"{', '.join((*EmulatorConfig.RUNTIME_FIELDS, 'sms_balance', 'mms_balance'))}"
                    )
                if name == "retry_after_on_429":
                    if not isinstance(value, bool):
                        raise EmulatorStateError("retry_after_on_429 must be true or false")
                elif name == "rate_limit_per_second" and value is None:
                    pass
                elif isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                    raise EmulatorStateError(f"{name} must be a non-negative number")
                elif name == "rate_limit_per_second" and value == 0:
                    raise EmulatorStateError("rate_limit_per_second must be positive, or null for no limit")
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
        try:
            message_type = rules.message_type(spec.get("type", "sms"), "type")
            status = rules.message_status(spec.get("status", "scheduled"), "status")
            raw_id = spec.get("_id", spec.get("id"))
            message_id = rules.message_id(raw_id, "_id") if raw_id is not None else None
        except RuleError as error:
            raise EmulatorStateError(error.message) from error
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
        with self._lock:
            return self._templates.get(template_id)

    def add_template(self, text: str, template_id: str | None = None) -> str:
        if not isinstance(text, str) or not text:
            raise EmulatorStateError("text is required")
        with self._lock:
            try:
                tid = rules.message_id(template_id, "id") if template_id is not None else self._new_id()
            except RuleError as error:
                raise EmulatorStateError(error.message) from error
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
        with self._lock:
            return number in self._optouts

    # ----------------------------------------------------------------- rate limit
    def check_rate_limit(self, token: str) -> float | None:
        """Count one request for ``token``; return ``None`` if allowed, else seconds until allowed.

        A sliding window of one second (longer for rates below one a second) on the monotonic
        clock: moving the emulator's clock does not refill it.
        """
        with self._lock:
            limit = self.config.rate_limit_per_second
            if limit is None:
                return None
            # Below one request a second, the window widens so that the average rate still holds.
            span = max(1.0, 1.0 / limit)
            capacity = max(1, int(limit * span))
            key = hashlib.sha256(token.encode()).hexdigest()
            window = self._rate_windows.setdefault(key, deque())
            current = time.monotonic()
            while window and current - window[0] >= span:
                window.popleft()
            if len(window) >= capacity:
                self._rate_limited += 1
                return max(0.0, span - (current - window[0]))
            window.append(current)
            return None

    # ----------------------------------------------------------------- faults
    def add_fault(self, spec: Mapping[str, Any]) -> Fault:
        """Register a fault from control-plane fields; see :class:`Fault`."""
        known = {f.name for f in dataclasses.fields(Fault)} - {"id", "remaining", "hits"} | {"count"}
        unknown = sorted(set(spec) - known)
        if unknown:
            raise EmulatorStateError(f"unknown fault field(s): {', '.join(unknown)}")
        kind = spec.get("kind")
        if kind not in FAULT_KINDS:
            raise EmulatorStateError(f"kind must be one of {', '.join(FAULT_KINDS)}")
        message_id = spec.get("message_id")
        if message_id is not None:
            try:
                message_id = rules.message_id(message_id, "message_id")
            except RuleError as error:
                raise EmulatorStateError(error.message) from error
        count = spec.get("count")
        if "count" not in spec:
            # A fault about one message applies to every request about it; otherwise to the next one.
            count = None if message_id else 1
        elif count is None:
            pass
        elif isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise EmulatorStateError("count must be a positive integer, or null for every matching request")
        status = spec.get("status")
        if status is None:
            status = _FAULT_DEFAULT_STATUS.get(kind)
        elif isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            raise EmulatorStateError("status must be an HTTP status code (100-599)")
        when = spec.get("when") or ("after" if kind == "drop" else "before")
        if when not in ("before", "after"):
            raise EmulatorStateError("when must be 'before' or 'after'")
        latency_ms = spec.get("latency_ms")
        if kind == "latency" and latency_ms is None:
            raise EmulatorStateError("latency_ms is required for a latency fault")
        hang_seconds = spec.get("hang_seconds")
        for name, value in (("latency_ms", latency_ms), ("hang_seconds", hang_seconds)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
                raise EmulatorStateError(f"{name} must be a non-negative number")
        for name in ("path", "method", "message"):
            if spec.get(name) is not None and not isinstance(spec.get(name), str):
                raise EmulatorStateError(f"{name} must be a string")
        with self._lock:
            fault = Fault(
                id=next(self._fault_ids),
                kind=kind,
                remaining=count,
                message_id=message_id,
                path=spec.get("path"),
                method=spec.get("method"),
                status=status,
                retry_after=_retry_after_text(spec.get("retry_after")),
                latency_ms=latency_ms,
                hang_seconds=600.0 if hang_seconds is None else float(hang_seconds),
                when=when,
                message=spec.get("message"),
                body=spec.get("body"),
            )
            self._faults.append(fault)
            return dataclasses.replace(fault)

    def take_fault(self, method: str, path: str, message_id: str | None) -> Fault | None:
        """Return the first fault matching this request and count it as used (oldest fault wins)."""
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

    def faults(self) -> list[Fault]:
        with self._lock:
            return [dataclasses.replace(f) for f in self._faults]

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    # ----------------------------------------------------------------- journal
    def record_request(self, entry: dict[str, Any]) -> int:
        """Append one API request to the journal and count it; return a token for :meth:`record_answer`.

        Callers mask phone numbers and omit tokens. The entry itself is kept, so that the caller
        can complete it (status, duration) later; :meth:`record_answer` counts its answer.
        """
        with self._lock:
            entry.update(id=next(self._journal_ids), time=format_timestamp(self.now()))
            self._journal.append(entry)
            self._path_counts[_path_key(str(entry.get("path", "")))] += 1
            return self._stats_epoch

    def record_answer(self, status: int | None, epoch: int) -> None:
        """Count the HTTP status answered to a request (``epoch``: what :meth:`record_request` returned).

        An answer to a request that arrived before the last :meth:`reset` (or
        :meth:`clear_stats`) is not counted. ``None``: no answer was sent (connection lost).
        """
        with self._lock:
            if status is not None and epoch == self._stats_epoch:
                self._status_counts[status] += 1

    def stats(self) -> dict[str, Any]:
        """Request counters since the last reset: unlike the journal, they never drop old requests.

        ``requests`` (all API requests), ``by_path`` (report paths counted together under
        :data:`REPORT_PATH_KEY`), ``by_status`` (HTTP statuses answered, keys as strings) and
        ``rate_limited`` (429 answers of the rate limiter; ``by_status["429"]`` also counts
        injected 429 faults).
        """
        with self._lock:
            return {
                "requests": sum(self._path_counts.values()),
                "by_path": dict(sorted(self._path_counts.items())),
                "by_status": {str(code): n for code, n in sorted(self._status_counts.items())},
                "rate_limited": self._rate_limited,
            }

    def clear_stats(self) -> None:
        """Zero the request counters (answers still pending are not counted afterwards)."""
        with self._lock:
            self._init_counters()

    def journal(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(entry) for entry in self._journal]

    def clear_journal(self) -> None:
        with self._lock:
            self._journal.clear()
