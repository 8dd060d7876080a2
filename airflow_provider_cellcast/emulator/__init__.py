"""The Cellcast emulator: a local HTTP server that imitates the Cellcast API, for offline tests.

In-memory state (messages, account balances, senders, opt-outs, inbound replies), time that moves
on demand, rate limiting, latency and fault injection, and a control plane under ``/_emulator/``.
Run it in process with :class:`CellcastEmulator`, as a command (``cellcast-emulator``), or through
the pytest fixtures ``cellcast_emulator`` and ``cellcast_connection_env`` of the opt-in plugin
``airflow_provider_cellcast.emulator.pytest_plugin``.

A moto-style package of its own: it imports neither Airflow nor the rest of the provider, and
reads the API's rules from Cellcast's documentation itself (:mod:`.rules`). Importing this
package is cheap: FastAPI and uvicorn load only when a server is built.

Modules, by concern (the user guide is ``docs/emulator.md``):

* the service: :mod:`.state` (in-memory service state: messages, account, templates, senders,
  opt-outs, replies), :mod:`.models` (what is stored and how Cellcast shows it), :mod:`.inbound`
  (replies and opt-outs), :mod:`.config` (settings and modes);
* the API's rules: :mod:`.rules` (IDs, types, statuses, delays, ``customString``, senders, STOP
  words; :class:`~.rules.RuleError`), :mod:`.contacts` (the contacts rule, masking),
  :mod:`.timestamps` (reading and writing times), :mod:`.pages` (mongoose page fields);
* the HTTP surface: :mod:`.api` (Cellcast routes), :mod:`.inbound_routes` (replies, opt-outs),
  :mod:`.sending` (send rules, MMS forms), :mod:`.control` (``/_emulator/``), :mod:`.middleware`
  (auth, rate limit, faults, journal, counters, latency), :mod:`.errors` (error envelope answers,
  the one :class:`~.rules.RuleError` handler), :mod:`.envelopes`, :mod:`.app` (``create_app``);
* the test harness: :mod:`.harness.clock`, :mod:`.harness.faults`, :mod:`.harness.journal`,
  :mod:`.harness.ratelimit`, :mod:`.harness.access` (their methods on the state);
* running it: :mod:`.server` (in-process server), :mod:`.client` and :mod:`.client_harness`
  (control-plane client), :mod:`.process` and :mod:`.cli` (separate process),
  :mod:`.pytest_plugin` (fixtures).

Defaults are as strict as the live service (contacts, senders, ``customString``, ``scheduleAt``
read in the account's time zone...); modes of :class:`~.config.EmulatorConfig` switch where the
live behaviour is uncertain.

Example::

    from airflow_provider_cellcast.emulator import CellcastEmulator

    with CellcastEmulator(token="secret") as emulator:
        [message_id] = emulator.schedule_campaign(contacts=["61400000001"], delay_ms=60_000)
        ...
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_cellcast.emulator.app import create_app
    from airflow_provider_cellcast.emulator.client import EmulatorClient
    from airflow_provider_cellcast.emulator.config import EmulatorConfig
    from airflow_provider_cellcast.emulator.process import emulator_process
    from airflow_provider_cellcast.emulator.server import CellcastEmulator
    from airflow_provider_cellcast.emulator.state import EmulatorState

__all__ = ["CellcastEmulator", "EmulatorClient", "EmulatorConfig", "EmulatorState", "create_app", "emulator_process"]

_LAZY = {
    "CellcastEmulator": "airflow_provider_cellcast.emulator.server",
    "EmulatorClient": "airflow_provider_cellcast.emulator.client",
    "EmulatorConfig": "airflow_provider_cellcast.emulator.config",
    "EmulatorState": "airflow_provider_cellcast.emulator.state",
    "create_app": "airflow_provider_cellcast.emulator.app",
    "emulator_process": "airflow_provider_cellcast.emulator.process",
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
