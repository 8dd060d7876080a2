"""Alert by SMS: a notifier for ``on_failure_callback`` and friends.

DAG files import this module at every parse: it imports ``airflow.sdk`` and the standard library
only; the hook is imported when a notification is sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseNotifier

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_cellcast.client.results import SendResult


class CellcastNotifier(BaseNotifier):
    """Send an SMS through Cellcast when a task or DAG run changes state.

    ``message``, ``contacts`` and ``sender`` are templates rendered with the callback's context
    (``ti``, ``dag``, ``run_id``, ``exception`` for failure callbacks...). The notification is sent
    at once (never scheduled), one request per 1,000 contacts, through
    :meth:`CellcastHook.send_sms <airflow_provider_cellcast.hooks.cellcast.CellcastHook.send_sms>`,
    which repeats only requests that certainly did not reach Cellcast and raises an error Airflow
    never retries when the alert may have gone out: an alert is never sent twice.
    Phone numbers are logged masked only. A failed notification is logged and raised; Airflow
    records it without changing the task's state.

    .. code-block:: python

        from airflow.sdk import DAG, task
        from airflow_provider_cellcast.notifications.cellcast import send_cellcast_sms_notification

        alert = send_cellcast_sms_notification(
            message="Airflow: {{ dag.dag_id }}.{{ ti.task_id }} failed in run {{ run_id }}",
            contacts=["+61400000009"],
        )

        with DAG("nightly_load", schedule="@daily", default_args={"on_failure_callback": alert}):

            @task
            def load() -> None: ...

            load()

    :param message: the SMS text (templated).
    :param contacts: phone numbers: a list, a comma-separated string or a rendered list (templated).
    :param sender: sender ID or number (templated); Cellcast's shared number when empty.
    :param cellcast_conn_id: the Airflow connection of type ``cellcast`` (templated).
    :param hook_params: overrides of the connection's client settings, e.g. ``{"timeout": 10}``.
    """

    template_fields: Sequence[str] = ("message", "contacts", "sender", "cellcast_conn_id")

    def __init__(
        self,
        message: str,
        contacts: str | Sequence[str],
        sender: str | None = None,
        cellcast_conn_id: str = "cellcast_default",
        hook_params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.message = message
        self.contacts = contacts
        self.sender = sender
        self.cellcast_conn_id = cellcast_conn_id
        from airflow_provider_cellcast.settings import checked_hook_params

        self.hook_params = checked_hook_params(hook_params)

    def notify(self, context: Context) -> None:
        """Send the rendered message to the rendered contacts (called by Airflow with the context)."""
        from airflow_provider_cellcast.hooks.cellcast import CellcastHook

        hook = CellcastHook(self.cellcast_conn_id, **self.hook_params)
        try:
            # The client checks the rendered values and never repeats a send that may have been queued.
            result = hook.send_sms(self.message, self.contacts, sender=self.sender or None)
        finally:
            hook.close()
        self._log_result(result)

    async def async_notify(self, context: Context) -> None:
        """The same send from the triggerer (deadline alerts), with the async client: no thread."""
        from airflow_provider_cellcast.hooks.cellcast import CellcastHook

        client = await CellcastHook(self.cellcast_conn_id, **self.hook_params).get_async_client()
        async with client:
            result = await client.send_sms(self.message, self.contacts, sender=self.sender or None)
        self._log_result(result)

    def _log_result(self, result: SendResult) -> None:
        skipped = len(result["invalid_contacts"]) + len(result["unsubscribed_contacts"])
        self.log.info(
            "Cellcast SMS notification queued for %d of %d contact(s)%s",
            len(result["message_ids"]),
            len(result["message_ids"]) + skipped,
            f"; {skipped} invalid or unsubscribed skipped" if skipped else "",
        )


#: The functional spelling other Airflow providers offer (``send_slack_notification``...).
send_cellcast_sms_notification = CellcastNotifier
