"""Client settings of the Cellcast hook: defaults, connection extras and per-task overrides.

Imports only the provider's exceptions and the standard library, so that operators can check
``hook_params`` cheaply when a DAG file is parsed.
"""

from __future__ import annotations

import difflib
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from airflow_provider_cellcast.exceptions import CellcastConfigurationError

log = logging.getLogger(__name__)

#: Allowed range of each numeric setting: finite, and wide enough for any real use.
_RANGES: dict[str, tuple[float, float, str]] = {
    "timeout": (0.0, 3600.0, "more than 0 and at most 3600 seconds"),
    "connect_timeout": (0.0, 600.0, "more than 0 and at most 600 seconds"),
    "call_timeout": (0.0, 86400.0, "more than 0 and at most 86400 seconds, or empty for twice timeout"),
    "max_attempts": (1, 100, "from 1 to 100"),
    "backoff_seconds": (0.0, 3600.0, "from 0 to 3600 seconds"),
    "max_backoff_seconds": (0.0, 3600.0, "from 0 to 3600 seconds"),
    "max_retry_seconds": (0.0, 86400.0, "from 0 to 86400 seconds"),
    "requests_per_second": (0.0, 10000.0, "0 (no pacing) or from 0.01 to 10000"),
    "max_concurrency": (1, 64, "from 1 to 64"),
    "max_response_bytes": (1024, 256 * 1024 * 1024, "from 1024 bytes to 256 MiB"),
}
#: Settings whose lower bound is excluded (a zero timeout would fail every request).
_EXCLUSIVE_MINIMUM = frozenset({"timeout", "connect_timeout", "call_timeout"})


@dataclass(frozen=True)
class CellcastSettings:
    """Client behaviour, read from the connection's extras and overridable per hook or operator.

    Every field is also a connection extra of the same name.

    :param timeout: the deadline of one attempt of a request, in seconds: connecting, the headers
        and the whole body together (a server that sends one byte a second does not extend it).
    :param connect_timeout: the most one attempt may spend connecting (within ``timeout``).
    :param call_timeout: the most one request may take over all its attempts and the waits
        between them (``None``: twice ``timeout``). No attempt runs past it.
    :param max_attempts: attempts per request for transient faults (1 disables retrying).
    :param backoff_seconds: first backoff wait; it doubles per attempt, with jitter.
    :param max_backoff_seconds: the longest single wait, ``Retry-After`` included.
    :param max_retry_seconds: the most time spent waiting between attempts of one request.
    :param max_response_bytes: the largest answer read, once decoded (gzip included); a larger
        one is refused with ``CellcastInvalidResponseError``.
    :param requests_per_second: the account's rate limit; all workers of one hook together stay 10 %
        below it (0: no pacing).
    :param max_concurrency: worker threads for bulk operations.
    :param allow_insecure_http: allow a plain ``http://`` base URL to a non-loopback host.
    :param verify: TLS verification: ``True``, ``False`` or a CA bundle path.
    :param rate_limit_redis_conn_id: an Airflow Redis connection: when set, every task, process and
        machine using the same Cellcast account (token and base URL) shares one pace and one 429
        pause through it (needs ``airflow-provider-cellcast[redis]``); empty: each hook paces alone.
    :param rate_limit_redis_fallback: what happens when that Redis cannot be reached: ``"fail"``
        (the requests fail with an error naming the Redis connection) or ``"local"`` (log a
        warning and pace within the task only).
    """

    timeout: float = 30.0
    connect_timeout: float = 10.0
    call_timeout: float | None = None
    max_attempts: int = 5
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 30.0
    max_retry_seconds: float = 120.0
    requests_per_second: float = 10.0
    max_concurrency: int = 8
    max_response_bytes: int = 4 * 1024 * 1024
    allow_insecure_http: bool = False
    verify: bool | str = True
    rate_limit_redis_conn_id: str = ""
    rate_limit_redis_fallback: str = "fail"

    @classmethod
    def from_extras(cls, extras: Mapping[str, Any], conn_id: str) -> CellcastSettings:
        """Read settings from connection extras, converting strings typed into the UI form.

        An extra that is no setting is not used; it is logged with the closest setting's name,
        because a misspelt setting (``timeuot``) would otherwise be silently ignored.
        """
        names = [spec.name for spec in fields(cls)]
        for unknown in sorted(set(map(str, extras)) - set(names)):
            close = difflib.get_close_matches(unknown, names, n=1)
            log.warning(
                "Connection %r has an extra %r that is no Cellcast setting: it is ignored%s",
                conn_id,
                unknown,
                f" (did you mean {close[0]!r}?)" if close else "",
            )
        values: dict[str, Any] = {}
        for spec in fields(cls):
            raw = extras.get(spec.name)
            if raw is None or raw == "":
                continue
            values[spec.name] = _coerce(spec.name, raw, _default_of(spec.name), f"connection {conn_id!r}")
        return cls(**values)

    @property
    def call_budget(self) -> float:
        """The effective ``call_timeout``: given, or twice ``timeout``."""
        return self.call_timeout if self.call_timeout is not None else 2 * self.timeout

    def override(self, **overrides: Any) -> CellcastSettings:
        """A copy with the non-``None`` overrides applied (checked like connection extras)."""
        given = {
            name: _coerce(name, value, _default_of(name), "the hook arguments")
            for name, value in overrides.items()
            if value is not None
        }
        return replace(self, **given)

    def __post_init__(self) -> None:
        for name, (low, high, accepted) in _RANGES.items():
            value = getattr(self, name)
            if value is None and name == "call_timeout":
                continue
            ok = (
                isinstance(value, int | float)
                and not isinstance(value, bool)
                and math.isfinite(value)
                and (value > low if name in _EXCLUSIVE_MINIMUM else value >= low)
                and value <= high
            )
            if ok and name == "requests_per_second":
                ok = value == 0 or value >= 0.01
            if not ok:
                raise CellcastConfigurationError(f"Cellcast setting {name}={value!r} is out of range: use {accepted}")
        if self.rate_limit_redis_fallback not in ("fail", "local"):
            raise CellcastConfigurationError(
                f"Cellcast setting rate_limit_redis_fallback={self.rate_limit_redis_fallback!r} must be "
                '"fail" or "local"'
            )


def _default_of(name: str) -> Any:
    """The default that gives a setting its type (``call_timeout``, default ``None``, is a float)."""
    return 0.0 if name == "call_timeout" else getattr(CellcastSettings, name, None)


def _coerce(name: str, raw: Any, default: Any, source: str) -> Any:
    """Convert one setting to the type of its default, with an error naming where it came from."""
    if name not in {spec.name for spec in fields(CellcastSettings)}:
        names = [spec.name for spec in fields(CellcastSettings)]
        close = difflib.get_close_matches(name, names, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise CellcastConfigurationError(f"Unknown Cellcast setting {name!r} in {source}{hint}")
    try:
        if name == "verify":
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip()
            return {"true": True, "false": False}.get(text.lower(), text)
        if isinstance(default, str):
            if not isinstance(raw, str):
                raise TypeError(raw)
            return raw.strip()
        if isinstance(default, bool):
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(text)
            return text in ("true", "1", "yes")
        if isinstance(raw, bool):
            raise TypeError(raw)
        if isinstance(default, int):
            return int(raw)
        return float(raw)
    except (TypeError, ValueError):
        kind = "true or false" if isinstance(default, bool) else f"a {type(default).__name__}"
        raise CellcastConfigurationError(f"Cellcast setting {name}={raw!r} in {source} is not {kind}") from None


def checked_hook_params(hook_params: Mapping[str, Any] | None) -> dict[str, Any]:
    """A copy of an operator's ``hook_params``, checked now.

    Operators call this in ``__init__``, so that a misspelt or invalid setting is an import error
    of the DAG file instead of a failure at run time.
    """
    params = dict(hook_params or {})
    if params:
        CellcastSettings().override(**params)
    return params


def default_deferrable() -> bool:
    """Airflow's ``[operators] default_deferrable``, as the official providers read it.

    The sensors' ``deferrable`` default. Read when an operator is built (DAG-parse time), so the
    configuration module comes from common-compat where it has it, from Airflow otherwise.
    """
    try:
        from airflow.providers.common.compat.sdk import conf
    except ImportError:  # common-compat before conf (Airflow 2.11 with its oldest releases)
        from airflow.configuration import conf

    return bool(conf.getboolean("operators", "default_deferrable", fallback=False))
