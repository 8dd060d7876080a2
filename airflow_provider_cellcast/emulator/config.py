"""The emulator's settings: :class:`EmulatorConfig`, and checking a change made at run time.

Standard library only. Every field but ``token`` can change while the emulator runs
(``POST /_emulator/config``, :meth:`EmulatorClient.configure`, :meth:`EmulatorState.configure`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_cellcast.emulator.rules import RuleError

__all__ = ["RUNTIME_FIELDS", "EmulatorConfig", "check_setting"]


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


RUNTIME_FIELDS = EmulatorConfig.RUNTIME_FIELDS
_BALANCES = ("sms_balance", "mms_balance")


def check_setting(name: str, value: Any) -> Any:
    """Return ``value`` fit for the setting ``name``, or raise :class:`RuleError`."""
    if name in _BALANCES:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise RuleError(name, f"{name} must be a non-negative integer")
        return value
    if name not in RUNTIME_FIELDS:
        raise RuleError(name, f"unknown setting {name!r}: use one of {', '.join((*RUNTIME_FIELDS, *_BALANCES))}")
    if name == "retry_after_on_429":
        if not isinstance(value, bool):
            raise RuleError(name, "retry_after_on_429 must be true or false")
        return value
    if name == "rate_limit_per_second" and value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise RuleError(name, f"{name} must be a non-negative number")
    if name == "rate_limit_per_second" and value == 0:
        raise RuleError(name, "rate_limit_per_second must be positive, or null for no limit")
    return value
