"""Start DAGs from inbound SMS: an event trigger for ``AssetWatcher`` (Airflow 3.0+).

DAG files import this module at every parse (an ``AssetWatcher`` is built there): it imports
Airflow's trigger base classes and the reply filter only; the hook and the client are imported
when the trigger runs.

On Airflow 2.11 there is no ``BaseEventTrigger`` and no ``AssetWatcher``: the module still
imports (the class derives from ``BaseTrigger`` there), and building the trigger raises a
``CellcastConfigurationError`` that points at ``CellcastReplySensor``, which works on 2.11.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

try:  # Airflow 3.0+
    from airflow.triggers.base import BaseEventTrigger as _EventTriggerBase
except ImportError:  # Airflow 2.11: no event-driven scheduling
    from airflow.triggers.base import BaseTrigger as _EventTriggerBase  # type: ignore[assignment]

    _HAS_EVENT_TRIGGERS = False
else:
    _HAS_EVENT_TRIGGERS = True

from airflow.triggers.base import TriggerEvent

from airflow_provider_cellcast.reply_filter import compile_pattern, contact_keys, describe_contacts

#: The key of the cursor in the asset state store (Airflow 3.3+).
STATE_KEY = "cellcast_inbound_cursor"
#: The longest wait between two reads after repeated failures (in poll intervals).
MAX_BACKOFF_INTERVALS = 10


class CellcastInboundMessageTrigger(_EventTriggerBase):
    """Fire one event per new inbound SMS reply, for an ``AssetWatcher``: DAGs start from replies.

    Each event's payload is the reply, numbers masked: ``{"from": "*********951", "body":
    "YES", "received_at": "2031-01-15 23:00:00", "received_at_utc": None, "message_id": None,
    "fingerprint": "...", "contact_index": 0}`` (``contact_index`` only with ``contacts``: the
    sender's position in them). Optionally only replies from ``contacts`` whose body matches
    ``pattern``.

    * **Never for replies already there when it first starts**: its first read takes a snapshot
      of Cellcast's reply list (see :class:`~airflow_provider_cellcast.sensors.reply.CellcastReplySensor`
      for fingerprints and what a read costs: one request a poll when Cellcast lists newest first,
      every page otherwise).
    * **Never twice for the same reply**: the cursor is saved before the events are handed
      over. On Airflow 3.3+ it lives in the watched asset's state store (``asset_state_store``,
      key ``cellcast_inbound_cursor``): a triggerer restart, or the trigger moving to another
      triggerer, resumes from it and fires for what arrived meanwhile. Before 3.3 (no state
      store) the cursor lives in memory: a restarted trigger takes a new snapshot, so replies
      received while no triggerer ran it are not fired (never repeated either). A crash
      between saving the cursor and Airflow persisting the events loses those events: at most
      once. Airflow's own watcher issues (duplicate runs with two schedulers, events merged
      under ``max_active_runs=1``, events lost while the DAG is paused) still apply: use the
      payload's ``fingerprint`` to make consumers idempotent.
    * **Never exits**: a failed read (after the client's own retries) is logged and retried after
      ``poll_interval``, waiting longer after repeated failures (up to ten intervals): an event
      trigger whose ``run()`` returns is recreated about every second.

    .. code-block:: python

        from airflow.sdk import DAG, Asset, AssetWatcher, task
        from airflow_provider_cellcast.triggers.inbound import CellcastInboundMessageTrigger

        inbox = Asset(
            "cellcast_inbox",
            watchers=[AssetWatcher(name="cellcast_replies", trigger=CellcastInboundMessageTrigger(poll_interval=60))],
        )

        with DAG("on_reply", schedule=[inbox]):

            @task
            def handle(triggering_asset_events=None):
                for event in triggering_asset_events[inbox]:
                    print(event.extra["payload"]["body"])

            handle()

    :param cellcast_conn_id: the Airflow connection of type ``cellcast``.
    :param poll_interval: seconds between reads of the reply list.
    :param pattern: a regular expression searched in the body; ``None``: every reply.
    :param contacts: only replies from these numbers (any common form); ``None``: any sender.
    :param hook_params: client settings overrides for the hook.
    """

    def __init__(
        self,
        cellcast_conn_id: str = "cellcast_default",
        poll_interval: float = 60.0,
        pattern: str | None = None,
        contacts: Sequence[str] | None = None,
        hook_params: dict[str, Any] | None = None,
    ) -> None:
        if not _HAS_EVENT_TRIGGERS:
            from airflow_provider_cellcast.exceptions import CellcastConfigurationError

            raise CellcastConfigurationError(
                "CellcastInboundMessageTrigger needs Airflow 3.0 or later (AssetWatcher and BaseEventTrigger); "
                "on Airflow 2 wait for replies with airflow_provider_cellcast.sensors.reply.CellcastReplySensor"
            )
        super().__init__()
        self.cellcast_conn_id = cellcast_conn_id
        self.poll_interval = float(poll_interval)
        compile_pattern(pattern)
        self.pattern = pattern
        self.contacts = list(contact_keys(contacts)) if contacts is not None else None
        self.hook_params = dict(hook_params or {})
        self._memory: dict[str, Any] | None = None

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "cellcast_conn_id": self.cellcast_conn_id,
                "poll_interval": self.poll_interval,
                "pattern": self.pattern,
                "contacts": self.contacts,
                "hook_params": self.hook_params,
            },
        )

    def __repr__(self) -> str:
        # Airflow logs triggers by their repr: numbers masked.
        keys = None if self.contacts is None else dict.fromkeys(self.contacts, 0)
        return (
            f"<{type(self).__module__}.{type(self).__qualname__} conn={self.cellcast_conn_id!r} "
            f"poll_interval={self.poll_interval} pattern={self.pattern!r} contacts={describe_contacts(keys)}>"
        )

    # -- the cursor: the asset state store on 3.3+, memory before -----------------------------------

    def _store(self) -> Any:
        return getattr(self, "asset_state_store", None)

    async def _load(self) -> Any:
        store = self._store()
        if store is not None:
            try:
                return await store.aget(STATE_KEY)
            except ValueError as error:  # one trigger watching several assets: no single store
                self.log.warning("No single asset state store (%s): keeping the cursor in memory", error)
                self.asset_state_store = None
        return self._memory

    async def _save(self, value: dict[str, Any]) -> None:
        self._memory = value
        store = self._store()
        if store is not None:
            await store.aset(STATE_KEY, value)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from airflow_provider_cellcast.client.reply_cursor import ReplyCursor
        from airflow_provider_cellcast.hooks.cellcast import CellcastHook
        from airflow_provider_cellcast.reply_filter import masked, select

        keys = None if self.contacts is None else {key: index for index, key in enumerate(self.contacts)}
        regex = compile_pattern(self.pattern)
        failures = 0
        client = None
        try:
            while True:
                try:
                    if client is None:
                        client = await CellcastHook(self.cellcast_conn_id, **self.hook_params).get_async_client()
                    cursor = ReplyCursor.from_json(await self._load())
                    if cursor is None:
                        cursor = await client.reply_snapshot()
                        await self._save(cursor.to_json())
                        self.log.info(
                            "Watching Cellcast replies from %s; replies already there are not events",
                            describe_contacts(keys),
                        )
                    else:
                        new, after = await client.new_replies(cursor)
                        chosen = select(new, keys, regex)
                        if after != cursor:
                            await self._save(after.to_json())  # before the events: never fired twice
                        if new:
                            self.log.info(
                                "%d new repl%s, %d event(s)", len(new), "y" if len(new) == 1 else "ies", len(chosen)
                            )
                        for reply, index in chosen:
                            yield TriggerEvent(masked(reply, index))
                    failures = 0
                except Exception as error:  # never exit: a trigger that returns is recreated every second
                    failures += 1
                    self.log.warning(
                        "Could not read Cellcast's replies (%s: %s); failure %d in a row, trying again",
                        type(error).__name__,
                        error,
                        failures,
                    )
                await asyncio.sleep(self.poll_interval * min(2 ** max(failures - 1, 0), MAX_BACKOFF_INTERVALS))
        finally:
            if client is not None:
                await client.close()
