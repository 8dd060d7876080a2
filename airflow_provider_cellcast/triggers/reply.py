"""The trigger behind ``CellcastReplySensor(deferrable=True)``.

It runs in the triggerer, reads Cellcast's reply list with the async client (aiohttp, no
threads) until a new reply from one of the contacts matches the pattern, and fires one event.
The snapshot the sensor took before deferring is one of its kwargs: a triggerer that restarts
rebuilds the trigger from them and counts as new everything received since the snapshot, so a
reply that arrived while no triggerer ran is not missed, and none older is taken for new.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_cellcast.reply_filter import compile_pattern, contact_keys, describe_contacts


class CellcastReplyTrigger(BaseTrigger):
    """Poll Cellcast's inbound replies until one of ``contacts`` sends a text matching ``pattern``.

    Fires exactly one event, ``{"status": ..., "replies": [...], "message": text}``:

    * ``"success"``: ``replies`` holds the new matching replies (numbers masked, each with
      ``contact_index`` and ``fingerprint``);
    * ``"error"``: a permanent fault (a refused token, an unusable connection); ``permanent`` is
      true. Transient faults that outlast the client's retries are logged and polling goes on
      (the sensor's ``timeout`` bounds the wait).

    Normally created by the sensor; direct use looks like this:

    .. code-block:: python

        from airflow.sdk import BaseOperator


        class WaitForYes(BaseOperator):
            def execute(self, context):
                from airflow_provider_cellcast.hooks.cellcast import CellcastHook

                cursor = CellcastHook().client.reply_snapshot()
                self.defer(
                    trigger=CellcastReplyTrigger(
                        contacts=["61400000951"], pattern=r"(?i)^\\s*yes\\b", cursor=cursor.to_json()
                    ),
                    method_name="execute_complete",
                )

    :param contacts: the numbers to wait for (any common form; kept normalised).
    :param pattern: a regular expression searched in the body; ``None``: any reply.
    :param cursor: the snapshot to count from (``ReplyCursor.to_json()``); ``None``: the trigger
        takes one when it starts (then a restart takes another: prefer passing one).
    :param cellcast_conn_id: the Airflow connection of type ``cellcast``.
    :param hook_params: client settings overrides for the hook.
    :param poll_interval: seconds between reads of the reply list.
    """

    def __init__(
        self,
        contacts: Sequence[str],
        pattern: str | None = None,
        cursor: dict[str, Any] | None = None,
        cellcast_conn_id: str = "cellcast_default",
        hook_params: dict[str, Any] | None = None,
        poll_interval: float = 60.0,
    ) -> None:
        super().__init__()
        self.contacts = list(contact_keys(contacts))
        compile_pattern(pattern)
        self.pattern = pattern
        self.cursor = dict(cursor) if cursor is not None else None
        self.cellcast_conn_id = cellcast_conn_id
        self.hook_params = dict(hook_params or {})
        self.poll_interval = float(poll_interval)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "contacts": self.contacts,
                "pattern": self.pattern,
                "cursor": self.cursor,
                "cellcast_conn_id": self.cellcast_conn_id,
                "hook_params": self.hook_params,
                "poll_interval": self.poll_interval,
            },
        )

    def __repr__(self) -> str:
        # Airflow logs triggers by their repr: numbers masked, the snapshot summarised.
        contacts = describe_contacts(dict.fromkeys(self.contacts, 0))
        return (
            f"<{type(self).__module__}.{type(self).__qualname__} contacts={contacts} "
            f"pattern={self.pattern!r} poll_interval={self.poll_interval} conn={self.cellcast_conn_id!r}>"
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from airflow.providers.common.compat.sdk import AirflowFailException

        from airflow_provider_cellcast.client.reply_cursor import ReplyCursor
        from airflow_provider_cellcast.exceptions import CellcastAuthenticationError, CellcastError
        from airflow_provider_cellcast.hooks.cellcast import CellcastHook
        from airflow_provider_cellcast.reply_filter import masked, select

        keys = {key: index for index, key in enumerate(self.contacts)}
        regex = compile_pattern(self.pattern)
        cursor = ReplyCursor.from_json(self.cursor)
        rounds = 0
        try:
            client = await CellcastHook(self.cellcast_conn_id, **self.hook_params).get_async_client()
            async with client:
                if cursor is None:
                    cursor = await client.reply_snapshot()
                while True:
                    try:
                        new, cursor = await client.new_replies(cursor)
                    except CellcastError as error:
                        if isinstance(error, AirflowFailException | CellcastAuthenticationError):
                            raise
                        self.log.warning("Could not read Cellcast's replies (%s); trying again", error)
                        new = []
                    rounds += 1
                    found = [masked(reply, index) for reply, index in select(new, keys, regex)]
                    if found:
                        yield TriggerEvent(
                            {
                                "status": "success",
                                "replies": found,
                                "message": f"{len(found)} matching repl{'y' if len(found) == 1 else 'ies'} "
                                f"after {rounds} check(s)",
                            }
                        )
                        return
                    self.log.info(
                        "%d new repl%s, none matching; next check in %.0f s",
                        len(new),
                        "y" if len(new) == 1 else "ies",
                        self.poll_interval,
                    )
                    await asyncio.sleep(self.poll_interval)
        except CellcastError as error:
            yield TriggerEvent({"status": "error", "replies": [], "message": str(error), "permanent": True})
