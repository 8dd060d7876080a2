"""Client settings of the Cellcast hook: defaults, connection extras and per-task overrides.

Imports only the provider's exceptions (and so Airflow's exception classes), so that operators
can check ``hook_params`` cheaply when a DAG file is parsed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from airflow_provider_cellcast.exceptions import CellcastConfigurationError


@dataclass(frozen=True)
class CellcastSettings:
    """Client behaviour, read from the connection's extras and overridable per hook or operator.

    Every field is also a connection extra of the same name.

    :param timeout: read timeout in seconds for one request.
    :param connect_timeout: connect timeout in seconds for one request.
    :param max_attempts: attempts per request for transient faults (1 disables retrying).
    :param backoff_seconds: first backoff wait; it doubles per attempt, with jitter.
    :param max_backoff_seconds: the longest single wait, ``Retry-After`` included.
    :param max_retry_seconds: the most time spent waiting between attempts of one request.
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
    max_attempts: int = 5
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 30.0
    max_retry_seconds: float = 120.0
    requests_per_second: float = 10.0
    max_concurrency: int = 8
    allow_insecure_http: bool = False
    verify: bool | str = True
    rate_limit_redis_conn_id: str = ""
    rate_limit_redis_fallback: str = "fail"

    @classmethod
    def from_extras(cls, extras: Mapping[str, Any], conn_id: str) -> CellcastSettings:
        """Read settings from connection extras, converting strings typed into the UI form."""
        values: dict[str, Any] = {}
        for spec in fields(cls):
            raw = extras.get(spec.name)
            if raw is None or raw == "":
                continue
            values[spec.name] = _coerce(spec.name, raw, getattr(cls, spec.name), f"connection {conn_id!r}")
        return cls(**values)

    def override(self, **overrides: Any) -> CellcastSettings:
        """A copy with the non-``None`` overrides applied (checked like connection extras)."""
        given = {
            name: _coerce(name, value, getattr(self, name, None), "the hook arguments")
            for name, value in overrides.items()
            if value is not None
        }
        return replace(self, **given)

    def __post_init__(self) -> None:
        checks = {
            "timeout": self.timeout > 0,
            "connect_timeout": self.connect_timeout > 0,
            "max_attempts": self.max_attempts >= 1,
            "backoff_seconds": self.backoff_seconds >= 0,
            "max_backoff_seconds": self.max_backoff_seconds >= 0,
            "max_retry_seconds": self.max_retry_seconds >= 0,
            "requests_per_second": self.requests_per_second >= 0,
            "max_concurrency": 1 <= self.max_concurrency <= 64,
        }
        for name, ok in checks.items():
            if not ok:
                raise CellcastConfigurationError(
                    f"Cellcast setting {name}={getattr(self, name)!r} is out of range "
                    f"(max_concurrency 1-64, max_attempts >= 1, timeouts > 0, others >= 0)"
                )
        if self.rate_limit_redis_fallback not in ("fail", "local"):
            raise CellcastConfigurationError(
                f"Cellcast setting rate_limit_redis_fallback={self.rate_limit_redis_fallback!r} must be "
                '"fail" or "local"'
            )


def _coerce(name: str, raw: Any, default: Any, source: str) -> Any:
    """Convert one setting to the type of its default, with an error naming where it came from."""
    if name not in {spec.name for spec in fields(CellcastSettings)}:
        raise CellcastConfigurationError(f"Unknown Cellcast setting {name!r} in {source}")
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
