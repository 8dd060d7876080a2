"""Two-way SMS: ask and wait for the answer; start DAGs from the texts people send.

``cellcast_confirm_by_reply`` (every supported Airflow):

1. ``ask`` texts "Reply YES to confirm" to the ``contacts``.
2. ``wait_for_yes`` (``CellcastReplySensor``, deferrable) waits in the triggerer, up to a day,
   for a reply from one of them starting with "yes" (any case) **received after it started**:
   an older "YES" in the account's inbox does not count, nor one from another number.
3. ``confirmed`` gets the matching replies (numbers masked; ``contact_index`` says which contact).

Cost: one request to take the snapshot, then one a minute while few replies arrive (Cellcast's
reply list is read from its newest page only when it lists newest first; see the sensor).

``cellcast_inbound_replies`` (Airflow 3.0+, where ``AssetWatcher`` exists): the asset
``cellcast_inbox`` is watched by ``CellcastInboundMessageTrigger``, which fires one asset event
per new inbound reply (payload: the reply, number masked). Each event starts a run that branches
on the text: ``confirm`` for YES, ``opt_out`` for STOP (Cellcast itself unsubscribes a number
that replies STOP to a message sent with ``reply_stop_to_opt_out``), ``ignore`` for anything
else. Several events can start one run (Airflow merges them when a run is already active), so
every reply of the run is routed. Use the payload's ``fingerprint`` to make what you do
idempotent: Airflow's watchers can deliver an event twice with two schedulers.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.common.compat.sdk import DAG, Param, task

from airflow_provider_cellcast.operators.send_sms import CellcastSendSmsOperator
from airflow_provider_cellcast.sensors.reply import CellcastReplySensor

YES = r"(?i)^\s*yes\b"

with DAG(
    dag_id="cellcast_confirm_by_reply",
    description="Text 'Reply YES to confirm' and wait for the YES",
    schedule=None,
    catchup=False,
    tags=["cellcast", "example", "two-way"],
    doc_md=__doc__,
    params={
        "contacts": Param(
            ["+61400000951"],
            type="array",
            items={"type": "string"},
            description="Who is asked to confirm (any common form of an Australian mobile).",
        ),
    },
):
    ask = CellcastSendSmsOperator(
        task_id="ask",
        message="Reply YES to confirm",
        contacts="{{ params.contacts }}",
    )
    wait_for_yes = CellcastReplySensor(
        task_id="wait_for_yes",
        contacts="{{ params.contacts }}",
        pattern=YES,
        deferrable=True,
        poll_interval=60,
        timeout=24 * 3600,
    )

    @task
    def confirmed(replies: list[dict[str, Any]]) -> int:
        for reply in replies:
            print(f"Contact #{reply.get('contact_index')} ({reply['from']}) confirmed at {reply['received_at']}")
        return len(replies)

    ask >> wait_for_yes
    confirmed(wait_for_yes.output)


def classify(body: str) -> str:
    """``"yes"``, ``"stop"`` or ``"other"`` for a reply's text."""
    words = body.strip().upper().split()
    first = words[0].strip(".!") if words else ""
    if first in ("YES", "Y"):
        return "yes"
    if first in ("STOP", "UNSUBSCRIBE", "OPTOUT") or " ".join(words) in ("STOP ALL", "OPT OUT"):
        return "stop"
    return "other"


def replies_of(events: Any, asset: Any) -> list[dict[str, Any]]:
    """The reply payloads of the asset events that started this run (none for a manual run)."""
    return [dict(event.extra.get("payload") or {}) for event in (events.get(asset) if events else None) or []]


try:
    from airflow.sdk import Asset, AssetWatcher
except ImportError:  # Airflow 2.11: no AssetWatcher, so no DAG started by inbound SMS
    AssetWatcher = None

if AssetWatcher is not None:
    from airflow_provider_cellcast.triggers.inbound import CellcastInboundMessageTrigger

    inbox = Asset(
        "cellcast_inbox",
        watchers=[
            AssetWatcher(name="cellcast_inbound_replies", trigger=CellcastInboundMessageTrigger(poll_interval=60))
        ],
    )

    with DAG(
        dag_id="cellcast_inbound_replies",
        description="One run per inbound SMS: YES confirms, STOP opts out",
        schedule=[inbox],
        catchup=False,
        tags=["cellcast", "example", "two-way"],
        doc_md=__doc__,
        max_active_runs=1,
    ):

        @task.branch
        def route(triggering_asset_events: Any = None) -> list[str]:
            kinds = {classify(str(reply.get("body", ""))) for reply in replies_of(triggering_asset_events, inbox)}
            chosen = [name for kind, name in (("yes", "confirm"), ("stop", "opt_out")) if kind in kinds]
            return chosen or ["ignore"]

        @task
        def confirm(triggering_asset_events: Any = None) -> list[str]:
            replies = replies_of(triggering_asset_events, inbox)
            return [reply["fingerprint"] for reply in replies if classify(str(reply.get("body", ""))) == "yes"]

        @task
        def opt_out(triggering_asset_events: Any = None) -> list[str]:
            replies = replies_of(triggering_asset_events, inbox)
            for reply in replies:
                if classify(str(reply.get("body", ""))) == "stop":
                    print(f"{reply['from']} opted out at {reply['received_at']}")
            return [reply["fingerprint"] for reply in replies if classify(str(reply.get("body", ""))) == "stop"]

        @task
        def ignore() -> None:
            print("Nothing to do for these replies")

        route() >> [confirm(), opt_out(), ignore()]
