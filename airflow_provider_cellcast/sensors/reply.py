"""Wait for an inbound reply (e.g. "YES") from one of a few contacts.

DAG files import this module at every parse: it imports Airflow's sensor base class and the
reply filter (:mod:`airflow_provider_cellcast.reply_filter`, standard library only); the hook,
the client and the trigger are imported when the task runs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import BaseSensorOperator, PokeReturnValue

from airflow_provider_cellcast.reply_filter import compile_pattern, contact_keys, is_template

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_cellcast.client.reply_cursor import ReplyCursor
    from airflow_provider_cellcast.hooks.cellcast import CellcastHook

#: The key of the snapshot in the task state store (Airflow 3.3+).
STATE_KEY = "cellcast_reply_cursor"
#: Prefix of the Variable holding the snapshot between reschedule pokes before Airflow 3.3.
VARIABLE_PREFIX = "cellcast_reply_cursor_"


class CellcastReplySensor(BaseSensorOperator):
    """Wait until one of ``contacts`` replies with a text matching ``pattern``; return the replies.

    Only replies **received after the sensor first ran** count. Cellcast's reply list has no
    "since" filter, an undocumented order, ``received_at`` in an undocumented time zone and often
    an empty ``message_id``, so the sensor relies on none of them: its first check takes a
    **snapshot** of the list (a fingerprint of each reply: a hash of the normalised number, the
    body and the raw ``received_at`` text, counted as a multiset, so two identical "YES" texts are
    two replies), and later checks count as new only what the snapshot does not hold
    (:mod:`airflow_provider_cellcast.client.reply_cursor`).

    **What it costs.** When Cellcast lists replies newest first (as its emulator does; the sensor
    detects the order from the ``received_at`` texts of a page, which needs no time zone), the
    snapshot is one request and each check one request while fewer than about 15 replies arrived
    since the previous check (one more page of 20 beyond that): an account with thousands of old
    replies costs the same as an empty one. In any other order every page is read at each check
    (``ceil(replies / 20)`` requests), and the sensor logs that it did.

    **Where the snapshot lives** (so that it is taken once per try and never mistaken for new):

    * ``mode="poke"``: in the operator, for the try;
    * ``deferrable=True``: the worker takes it, then defers with it in the trigger's serialized
      kwargs (:class:`~airflow_provider_cellcast.triggers.reply.CellcastReplyTrigger`): a
      triggerer restart rebuilds the trigger from them and misses nothing;
    * ``mode="reschedule"``: XCom cannot hold it (Airflow clears a task's XComs at every
      reschedule poke), so it goes to the task state store on Airflow 3.3+
      (``context["task_state_store"]``, scoped to the try), and before 3.3 to an Airflow Variable
      ``cellcast_reply_cursor_<hash of DAG, task, run, map index, try>`` holding fingerprints
      only (no number, no text). Either is deleted when the sensor ends (success, failure,
      timeout); a worker killed mid-wait leaves the Variable behind.

    A retry (a new try) takes a new snapshot. Transient Cellcast faults that outlast the client's
    retries are logged and the next check tries again; a refused token or other permanent fault
    fails the task.

    Phone numbers are logged and returned masked (``*********951``); each reply returned also
    carries ``contact_index``, the position of its sender in the rendered ``contacts``, and its
    ``fingerprint`` (an idempotency key for what a DAG does with it).

    .. code-block:: python

        from airflow.sdk import DAG
        from airflow_provider_cellcast.operators.send_sms import CellcastSendSmsOperator
        from airflow_provider_cellcast.sensors.reply import CellcastReplySensor

        with DAG("confirm_by_sms", schedule=None, params={"contacts": ["+61400000951"]}):
            ask = CellcastSendSmsOperator(
                task_id="ask", message="Reply YES to confirm", contacts="{{ params.contacts }}"
            )
            wait = CellcastReplySensor(
                task_id="wait_yes",
                contacts="{{ params.contacts }}",
                pattern=r"(?i)^\\s*yes\\b",
                deferrable=True,
                poll_interval=30,
                timeout=24 * 3600,
            )
            ask >> wait

    :param contacts: the numbers to wait for, in any common form (templated; e.g. the list the
        send task was given).
    :param pattern: a regular expression searched in the reply's body (templated; anchor it with
        ``^``); compiled when the DAG is parsed unless templated. ``None``: any reply.
    :param cellcast_conn_id: the Airflow connection of type ``cellcast`` (templated).
    :param poll_interval: seconds (or a ``timedelta``) between checks in every mode; it sets
        ``poke_interval`` unless that is given too.
    :param deferrable: wait in the triggerer (default: ``[operators] default_deferrable``).
    :param hook_params: overrides of the connection's client settings for this task.
    """

    template_fields: Sequence[str] = ("contacts", "pattern", "cellcast_conn_id")
    template_fields_renderers: ClassVar[dict[str, str]] = {"contacts": "py"}
    ui_color = "#FFF4D6"
    ui_fgcolor = "#4A3500"

    def __init__(
        self,
        *,
        contacts: str | Sequence[str] | Any,
        pattern: str | None = None,
        cellcast_conn_id: str = "cellcast_default",
        poll_interval: float | timedelta = 60.0,
        deferrable: bool | None = None,
        hook_params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if isinstance(poll_interval, timedelta):
            poll_interval = poll_interval.total_seconds()
        kwargs.setdefault("poke_interval", poll_interval)
        super().__init__(**kwargs)
        self.contacts = contacts
        self.pattern = pattern
        # Not templated: a broken expression is a DAG import error, not a sensor that never matches.
        if not is_template(pattern):
            compile_pattern(pattern)
        if isinstance(contacts, str | list | tuple) and not is_template(contacts):
            contact_keys(contacts)  # an XComArg or a template is checked once rendered
        self.cellcast_conn_id = cellcast_conn_id
        from airflow_provider_cellcast.settings import checked_hook_params, default_deferrable

        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self.hook_params = checked_hook_params(hook_params)
        self._cursor: ReplyCursor | None = None

    @cached_property
    def hook(self) -> CellcastHook:
        """The hook for this task's connection and settings."""
        from airflow_provider_cellcast.hooks.cellcast import CellcastHook

        return CellcastHook(self.cellcast_conn_id, **self.hook_params)

    # -- where the snapshot lives between checks (see the class docstring) -------------------------

    def _variable_key(self, context: Context) -> str:
        ti = context["ti"]
        identity = "\n".join(str(part) for part in (ti.dag_id, ti.task_id, ti.run_id, ti.map_index, ti.try_number))
        return VARIABLE_PREFIX + hashlib.sha256(identity.encode()).hexdigest()[:32]

    def _load(self, context: Context) -> ReplyCursor | None:
        from airflow_provider_cellcast.client.reply_cursor import ReplyCursor

        if self.reschedule and self._cursor is None:
            store = context.get("task_state_store")
            if store is not None:
                return ReplyCursor.from_json(store.get(STATE_KEY))
            from airflow.providers.common.compat.sdk import Variable

            return ReplyCursor.from_json(Variable.get(self._variable_key(context), None, deserialize_json=True))
        return self._cursor

    def _save(self, context: Context, cursor: ReplyCursor) -> None:
        self._cursor = cursor
        if not self.reschedule:
            return
        store = context.get("task_state_store")
        if store is not None:
            store.set(STATE_KEY, cursor.to_json())
            return
        from airflow.providers.common.compat.sdk import Variable

        ti = context["ti"]
        Variable.set(
            self._variable_key(context),
            cursor.to_json(),
            description=f"Snapshot of Cellcast's reply list for {ti.dag_id}.{ti.task_id} (run {ti.run_id}); "
            "deleted when the sensor ends",
            serialize_json=True,
        )

    def _drop(self, context: Context) -> None:
        self._cursor = None
        if not self.reschedule:
            return
        try:
            store = context.get("task_state_store")
            if store is not None:
                store.delete(STATE_KEY)
            else:
                from airflow.providers.common.compat.sdk import Variable

                Variable.delete(self._variable_key(context))
        except Exception as error:  # cleanup only: the sensor's outcome stands
            self.log.warning("Could not delete the reply snapshot (%s): %s", type(error).__name__, error)

    # -- the three modes -----------------------------------------------------------------------------

    def execute(self, context: Context) -> Any:
        if self.deferrable:
            return self._defer(context)
        try:
            result = super().execute(context)
        except BaseException as error:
            # A reschedule poke leaves the snapshot for the next poke; any other end drops it.
            if not any(cls.__name__ == "AirflowRescheduleException" for cls in type(error).__mro__):
                self._drop(context)
            raise
        self._drop(context)
        return result

    def _defer(self, context: Context) -> None:
        from airflow_provider_cellcast.reply_filter import describe_contacts
        from airflow_provider_cellcast.triggers.reply import CellcastReplyTrigger

        keys = contact_keys(self.contacts)
        compile_pattern(self.pattern)
        try:
            cursor = self.hook.client.reply_snapshot()
        finally:
            self.hook.close()
        self.log.info(
            "Deferring: waiting for a reply from %s%s, checking every %.0f s",
            describe_contacts(keys),
            f" matching {self.pattern!r}" if self.pattern else "",
            self.poke_interval,
        )
        self.defer(
            trigger=CellcastReplyTrigger(
                contacts=list(keys),
                pattern=self.pattern,
                cursor=cursor.to_json(),
                cellcast_conn_id=self.cellcast_conn_id,
                hook_params=self.hook_params,
                poll_interval=self.poke_interval,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout),
        )

    def poke(self, context: Context) -> PokeReturnValue | bool:
        from airflow.providers.common.compat.sdk import AirflowFailException

        from airflow_provider_cellcast.exceptions import CellcastAuthenticationError, CellcastError
        from airflow_provider_cellcast.reply_filter import describe_contacts, masked, select

        keys = contact_keys(self.contacts)
        regex = compile_pattern(self.pattern)
        cursor = self._load(context)
        try:
            if cursor is None:
                self._save(context, self.hook.client.reply_snapshot())
                self.log.info("Waiting for a reply from %s received from now on", describe_contacts(keys))
                return False
            new, after = self.hook.client.new_replies(cursor)
        except CellcastError as error:
            if isinstance(error, AirflowFailException | CellcastAuthenticationError):
                raise
            self.log.warning("Could not read Cellcast's replies (%s); trying again at the next check", error)
            return False
        finally:
            self.hook.close()
        if after != cursor:
            self._save(context, after)
        found = [masked(reply, index) for reply, index in select(new, keys, regex)]
        self.log.info(
            "%d new repl%s, %d from %s matching",
            len(new),
            "y" if len(new) == 1 else "ies",
            len(found),
            describe_contacts(keys),
        )
        if not found:
            return False
        for reply in found:
            self.log.info("Reply from %s received at %s", reply["from"], reply["received_at"])
        return PokeReturnValue(is_done=True, xcom_value=found)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> list[dict[str, Any]]:
        """Resume after the trigger fired: return the matching replies, or fail the way poke mode would."""
        from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException

        if event.get("status") == "success":
            replies = list(event.get("replies") or [])
            for reply in replies:
                self.log.info("Reply from %s received at %s", reply.get("from"), reply.get("received_at"))
            return replies
        text = str(event.get("message") or f"Cellcast reply trigger ended with {event.get('status')!r}")
        if event.get("permanent"):
            raise AirflowFailException(text)
        raise AirflowException(f"Could not read Cellcast's replies: {text}")
