"""The trigger behind ``CellcastMessageStatusSensor(deferrable=True)``.

It runs in the triggerer, polls Cellcast until every message reached a target status (or one
never will) and fires one :class:`~airflow.triggers.base.TriggerEvent`. It polls with the async
Cellcast client (aiohttp, no threads), and also runs outside a triggerer: in a plain asyncio
script or test, with the connection from an ``AIRFLOW_CONN_...`` variable.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_cellcast.statuses import StatusCheck, StatusRules, failure_text


class CellcastMessageStatusTrigger(BaseTrigger):
    """Poll the status of Cellcast messages until they reach a target status, asynchronously.

    Fires exactly one event, whose payload is ``{"status": ..., "statuses": {id: status},
    "message": text}`` with ``status``:

    * ``"success"``: every message reached a target status;
    * ``"failed"``: a message reached a failure status or a status from which no target can be
      reached (``message`` names the IDs); retrying cannot help;
    * ``"error"``: Cellcast could not be asked (after the hook's own retries); ``permanent``
      tells whether a task retry could help.

    Normally created by the sensor; direct use looks like this:

    .. code-block:: python

        from airflow.sdk import BaseOperator


        class MyOperator(BaseOperator):
            def execute(self, context):
                self.defer(
                    trigger=CellcastMessageStatusTrigger(
                        message_ids=["675161d8a000000000000000"], target_statuses=["delivered"]
                    ),
                    method_name="execute_complete",
                )

    :param message_ids: the IDs to watch (already validated).
    :param target_statuses: statuses that count as success.
    :param failure_statuses: statuses that fail at once (``None``: failed, rejected, expired,
        blocked; an empty list: none).
    :param cellcast_conn_id: the Airflow connection of type ``cellcast``.
    :param hook_params: client settings overrides for the hook.
    :param poll_interval: seconds between polling rounds.
    :param custom_string: the messages' campaign reference, if known: rounds list it by the page.
    :param from_date: the send day (``YYYY-MM-DD``), if known: the listing starts there.
    """

    def __init__(
        self,
        message_ids: Sequence[str],
        target_statuses: Sequence[str],
        failure_statuses: Sequence[str] | None = None,
        cellcast_conn_id: str = "cellcast_default",
        hook_params: dict[str, Any] | None = None,
        poll_interval: float = 60.0,
        custom_string: str | None = None,
        from_date: str | None = None,
    ) -> None:
        super().__init__()
        self.message_ids = list(message_ids)
        # Normalised and checked here too, for triggers built by hand rather than by the sensor.
        rules = StatusRules.build(target_statuses, failure_statuses)
        self.target_statuses = sorted(rules.targets)
        self.failure_statuses = sorted(rules.failures)
        self.cellcast_conn_id = cellcast_conn_id
        self.hook_params = dict(hook_params or {})
        self.poll_interval = float(poll_interval)
        self.custom_string = custom_string
        self.from_date = from_date

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "message_ids": self.message_ids,
                "target_statuses": self.target_statuses,
                "failure_statuses": self.failure_statuses,
                "cellcast_conn_id": self.cellcast_conn_id,
                "hook_params": self.hook_params,
                "poll_interval": self.poll_interval,
                "custom_string": self.custom_string,
                "from_date": self.from_date,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        # The async client carries out the same plans as the sensor's poke mode (request building,
        # retry policy, pacing, envelope reading, "not found"), on the triggerer's event loop:
        # no thread per poll, so hundreds of deferred sensors wait at the cost of their sockets.
        from airflow.providers.common.compat.sdk import AirflowFailException

        from airflow_provider_cellcast.client.send import send_day
        from airflow_provider_cellcast.exceptions import CellcastError
        from airflow_provider_cellcast.hooks.cellcast import CellcastHook

        rules = StatusRules(targets=frozenset(self.target_statuses), failures=frozenset(self.failure_statuses))
        known: dict[str, str] = {}
        rounds = 0
        try:
            client = await CellcastHook(self.cellcast_conn_id, **self.hook_params).get_async_client()
            async with client:
                while True:
                    rounds += 1
                    check: StatusCheck = await client.check_statuses(
                        self.message_ids, rules, known, reference=self.custom_string, from_date=send_day(self.from_date)
                    )
                    known = check.statuses
                    if check.failed:
                        yield TriggerEvent(
                            {"status": "failed", "statuses": known, "message": failure_text(check, rules)}
                        )
                        return
                    if check.finished:
                        yield TriggerEvent(
                            {
                                "status": "success",
                                "statuses": known,
                                "message": f"{len(known)} message(s) reached {rules.describe_targets()} "
                                f"after {rounds} polling round(s)",
                            }
                        )
                        return
                    self.log.info("Cellcast messages: %s; next check in %.0f s", check.summary(), self.poll_interval)
                    await asyncio.sleep(self.poll_interval)
        except CellcastError as error:
            yield TriggerEvent(
                {
                    "status": "error",
                    "statuses": known,
                    "message": str(error),
                    "permanent": isinstance(error, AirflowFailException),
                }
            )
