"""Clients on a scripted transport, or on the emulator, with their waits recorded."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from airflow_provider_cellcast.client import CellcastClient
from airflow_provider_cellcast.settings import CellcastSettings
from unit.scripted import RoutingTransport, ScriptedTransport

TOKEN = "tok-client-3c7e1f9a"
NAME = "connection 'cc'"


@dataclass
class Rig:
    """A client, the transport it sends through, and the waits it asked for."""

    client: CellcastClient
    transport: ScriptedTransport
    waits: list[float] = field(default_factory=list)


def _settings(settings: dict[str, Any]) -> CellcastSettings:
    settings.setdefault("requests_per_second", 0)
    return CellcastSettings(**settings)


@pytest.fixture
def scripted() -> Callable[..., Rig]:
    """``scripted(*answers, **settings)``: a client whose requests are answered in order (no pacing)."""

    def make(*answers: Any, **settings: Any) -> Rig:
        transport = ScriptedTransport(*answers)
        waits: list[float] = []
        client = CellcastClient(TOKEN, settings=_settings(settings), transport=transport, sleep=waits.append, name=NAME)
        return Rig(client, transport, waits)

    return make


@pytest.fixture
def routed() -> Callable[..., Rig]:
    """``routed(routes, statuses=..., **settings)``: a client on a RoutingTransport (no pacing)."""

    def make(
        routes: Mapping[str, Sequence[Any]] | None = None,
        *,
        statuses: Mapping[str, Sequence[Any]] | None = None,
        **settings: Any,
    ) -> Rig:
        transport = RoutingTransport(routes, statuses=statuses)
        waits: list[float] = []
        client = CellcastClient(TOKEN, settings=_settings(settings), transport=transport, sleep=waits.append, name=NAME)
        return Rig(client, transport, waits)

    return make


@pytest.fixture
def emulated(cellcast_emulator: Any) -> Iterator[Callable[..., CellcastClient]]:
    """``emulated(**settings)``: a real client (requests transport) on the emulator; waits recorded, not slept."""
    clients: list[CellcastClient] = []

    def make(**settings: Any) -> CellcastClient:
        client = CellcastClient(
            cellcast_emulator.token,
            base_url=cellcast_emulator.url,
            settings=_settings(settings),
            sleep=lambda seconds: None,
            name=NAME,
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
