"""The emulator's settings: :class:`EmulatorConfig`, its modes, and checking a change at run time.

Standard library only. Defaults are the strict (or stranger) reading of the live service; each
mode switches one behaviour where the live service is uncertain, as moto has modes:

==============================  ====================  ============================================
field                           default               other values
==============================  ====================  ============================================
``custom_string_mode``          ``refuse`` (400)      ``strip``: drop characters outside
                                                      ``[A-Za-z0-9-]`` silently
``custom_string_max_length``    255                   any positive number, ``None``: no limit
``schedule_at_mode``            ``naive-local``       ``all-local``: even ``Z``/offsets ignored,
                                                      the wall time read in the account's zone
``account_timezone``            ``Australia/Sydney``  any IANA zone name
``contacts_mode``               ``strict``            ``lenient``: the docs page's four forms
``list_filter_custom_string``   ``True``              ``False``: the list ignores ``customString``
``date_filter_zone``            ``account``           ``utc``: ``fromDate``/``toDate`` are UTC days
``mms_schedule_fields``         ``ignore``            ``honour``: MMS reads ``scheduleAt``,
                                                      ``delay``, ``customString`` as SMS does
``reply_message_id``            ``empty`` (``""``)    ``known``: the ID of the message replied to
``replies_order``               ``newest-first``      ``oldest-first``
``received_at_format``          ``local``             ``utc``: ``2031-01-15T12:00:00.000Z``
                                (``Y-m-d H:i:s``,
                                account time, no
                                offset)
``senders``                     ``()``                sender IDs registered at start (besides
                                                      ``#SharedNum#``), ``"ID"`` or ``"ID=name"``
==============================  ====================  ============================================

Every field but ``token``, ``account_name``, ``account_email`` and ``senders`` can change while
the emulator runs (``POST /_emulator/config``, :meth:`.client.EmulatorClient.configure`,
:meth:`.state.EmulatorState.configure`); senders are registered with ``POST /_emulator/senders``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from airflow_provider_cellcast.emulator.contacts import CONTACTS_MODES
from airflow_provider_cellcast.emulator.rules import CUSTOM_STRING_MODES, RuleError, sender_id

__all__ = ["CHOICES", "RUNTIME_FIELDS", "EmulatorConfig", "check_setting", "credits", "credits_json", "parse_sender"]

#: The values each mode accepts; the first is the default.
CHOICES: dict[str, tuple[str, ...]] = {
    "custom_string_mode": CUSTOM_STRING_MODES,
    "schedule_at_mode": ("naive-local", "all-local"),
    "contacts_mode": CONTACTS_MODES,
    "date_filter_zone": ("account", "utc"),
    "mms_schedule_fields": ("ignore", "honour"),
    "reply_message_id": ("empty", "known"),
    "replies_order": ("newest-first", "oldest-first"),
    "received_at_format": ("local", "utc"),
}
_CENT = Decimal("0.01")


@dataclass
class EmulatorConfig:
    """Behaviour of one emulator (the modes are described in the module docstring).

    :param token: the API key clients must send as ``Authorization: Bearer <token>``.
    :param rate_limit_per_second: requests allowed per token in any one-second window; ``None``
        means no limit. Beyond it the emulator answers HTTP 429.
    :param latency_ms: delay added to every API request.
    :param retry_after_on_429: send a ``Retry-After`` header with 429 answers (the real API
        documents none, so the default is off).
    :param delivery_delay_seconds: how long a ``sent`` message takes to become ``delivered``.
    :param sms_balance: SMS credits of the account after a reset (one credit per SMS part);
        decimals allowed, as Cellcast shows them (``9972.2``).
    :param mms_balance: MMS credits of the account after a reset (one credit per MMS).
    :param senders: sender IDs registered to the account at start, ``"ID"`` or ``"ID=name"``.

    Invalid values raise :class:`~.rules.RuleError` (a ``ValueError``) on construction.
    """

    token: str = field(default="test-token", repr=False)
    rate_limit_per_second: float | None = None
    latency_ms: float = 0.0
    retry_after_on_429: bool = False
    delivery_delay_seconds: float = 2.0
    sms_balance: float = 10_000
    mms_balance: float = 1_000
    account_name: str = "Cellcast Emulator"
    account_email: str = "emulator@example.com"
    account_timezone: str = "Australia/Sydney"
    custom_string_mode: str = "refuse"
    custom_string_max_length: int | None = 255
    schedule_at_mode: str = "naive-local"
    contacts_mode: str = "strict"
    list_filter_custom_string: bool = True
    date_filter_zone: str = "account"
    mms_schedule_fields: str = "ignore"
    reply_message_id: str = "empty"
    replies_order: str = "newest-first"
    received_at_format: str = "local"
    senders: tuple[str, ...] = ()

    #: Fields that ``POST /_emulator/config`` may change (balances change the account too).
    RUNTIME_FIELDS = (
        "rate_limit_per_second",
        "latency_ms",
        "retry_after_on_429",
        "delivery_delay_seconds",
        "sms_balance",
        "mms_balance",
        "account_timezone",
        "custom_string_mode",
        "custom_string_max_length",
        "schedule_at_mode",
        "contacts_mode",
        "list_filter_custom_string",
        "date_filter_zone",
        "mms_schedule_fields",
        "reply_message_id",
        "replies_order",
        "received_at_format",
    )

    def __post_init__(self) -> None:
        for name in self.RUNTIME_FIELDS:
            setattr(self, name, check_setting(name, getattr(self, name)))
        if isinstance(self.senders, str):
            raise RuleError("senders", "senders must be a list of sender IDs")
        self.senders = tuple(self.senders)
        for entry in self.senders:
            parse_sender(entry)

    def zone(self) -> ZoneInfo:
        """The account's time zone."""
        return ZoneInfo(self.account_timezone)

    def public(self) -> dict[str, Any]:
        """The settings without the token, for control-plane answers (JSON-ready)."""
        shown = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "token"}
        for name in _BALANCES:
            shown[name] = credits_json(credits(shown[name]))
        shown["senders"] = list(self.senders)
        return shown


RUNTIME_FIELDS = EmulatorConfig.RUNTIME_FIELDS
_BOOLEANS = ("retry_after_on_429", "list_filter_custom_string")
_BALANCES = ("sms_balance", "mms_balance")


def credits(value: Any) -> Decimal:
    """An amount of credits as a Decimal rounded to cents (so sums never show float noise)."""
    try:
        return Decimal(str(value)).quantize(_CENT)
    except InvalidOperation as error:
        raise RuleError("balance", f"not an amount of credits: {value!r}") from error


def credits_json(value: Decimal) -> int | float:
    """A credit amount as Cellcast's JSON shows it: ``10000``, ``9972.2``."""
    return int(value) if value == value.to_integral_value() else float(value)


def parse_sender(entry: Any) -> tuple[str, str]:
    """``"ACME"`` -> ``("ACME", "ACME")``; ``"61400000000=Support"`` -> ``("61400000000", "Support")``."""
    if not isinstance(entry, str):
        raise RuleError("senders", "each sender must be a string: 'ID' or 'ID=name'")
    sender, _, name = entry.partition("=")
    checked = sender_id(sender, "sender")
    return checked, name.strip() or checked


def check_setting(name: str, value: Any) -> Any:
    """Return ``value`` fit for the setting ``name``, or raise :class:`~.rules.RuleError`."""
    if name not in RUNTIME_FIELDS:
        raise RuleError(name, f"unknown setting {name!r}: use one of {', '.join(RUNTIME_FIELDS)}")
    if name in CHOICES:
        if value not in CHOICES[name]:
            raise RuleError(name, f"{name} must be one of {', '.join(CHOICES[name])}")
        return value
    if name in _BOOLEANS:
        if not isinstance(value, bool):
            raise RuleError(name, f"{name} must be true or false")
        return value
    if name == "account_timezone":
        if isinstance(value, str) and value:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                pass
            else:
                return value
        raise RuleError(name, "account_timezone must be an IANA time zone name, e.g. Australia/Sydney")
    if name == "custom_string_max_length":
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise RuleError(name, f"{name} must be a positive integer, or null for no limit")
        return value
    if name == "rate_limit_per_second" and value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise RuleError(name, f"{name} must be a non-negative number")
    if name == "rate_limit_per_second" and value == 0:
        raise RuleError(name, "rate_limit_per_second must be positive, or null for no limit")
    return value
