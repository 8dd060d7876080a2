"""A campaign's whole life: schedule it, see it scheduled, cancel it, confirm it is cancelled.

1. ``schedule_campaign`` schedules an SMS to the ``contacts`` an hour ahead and returns the
   message IDs (one per accepted contact); the full result, numbers masked, is in the XCom
   ``send_result``. Every message carries the campaign's **reference** (Cellcast's
   ``customString``), ``af-cellcast-campaign-li-schedule-campaign-<hash>``: the task
   log shows it ("Campaign reference (Cellcast customString): ..."), ``send_result["reference"]``
   holds it, and Cellcast's reports list it. Paste it into the ``cellcast_cancel_campaign`` trigger
   form to cancel the campaign by hand.
2. ``wait_scheduled`` (sensor, poke mode) checks that Cellcast reports every message as
   ``scheduled``.
3. ``cancel_campaign`` cancels the campaign **by its reference**: every message of it that is
   still scheduled (listed through Cellcast's message report, all pages), one ``results`` entry
   each.
4. ``confirm_canceled`` (sensor, deferrable) waits in the triggerer until every message is
   ``canceled``; a message that was sent or failed meanwhile fails it at once.

Any failed task sends an SMS alert to ``alert_contacts`` through ``CellcastNotifier``.

The send keeps ``retries=0`` (the operator's default). With ``retries`` set, a try whose answer was
lost fails with a retryable error, and the retry looks the reference up and adopts what was
queued instead of sending again. The reference is derived from the task instance on purpose: a
``custom_string`` of your own must be unique per task instance too (``{{ run_id }}`` alone is not:
another DAG's run can have the same run ID, and a retry would adopt its messages).
"""

from __future__ import annotations

from datetime import timedelta

from airflow.providers.common.compat.sdk import DAG, Param

from airflow_provider_cellcast.notifications.cellcast import CellcastNotifier
from airflow_provider_cellcast.operators.cancel_campaign import CellcastCancelCampaignOperator
from airflow_provider_cellcast.operators.send_sms import CellcastSendSmsOperator
from airflow_provider_cellcast.sensors.message_status import CellcastMessageStatusSensor

with DAG(
    dag_id="cellcast_campaign_lifecycle",
    description="Schedule a Cellcast campaign, check it, cancel it and confirm the cancellation",
    schedule=None,
    catchup=False,
    tags=["cellcast", "example"],
    doc_md=__doc__,
    params={
        "contacts": Param(
            ["+61400000001", "+61400000002", "+61400000003"],
            type="array",
            items={"type": "string"},
            description="Phone numbers to schedule the campaign for.",
        ),
        "message": Param("Your appointment is tomorrow at 9:00. Reply STOP to opt out.", type="string"),
        "alert_contacts": Param(
            ["+61400000009"],
            type="array",
            items={"type": "string"},
            description="Who gets an SMS when a task of this DAG fails.",
        ),
    },
    default_args={
        "on_failure_callback": CellcastNotifier(
            message="Airflow: {{ dag.dag_id }}.{{ ti.task_id }} failed (run {{ run_id }})",
            contacts="{{ params.alert_contacts }}",
        ),
    },
):
    schedule_campaign = CellcastSendSmsOperator(
        task_id="schedule_campaign",
        message="{{ params.message }}",
        contacts="{{ params.contacts }}",
        # Relative to the moment the task runs; an absolute time may be an aware datetime or ISO text.
        schedule_at=timedelta(hours=1),
        # No custom_string: the reference is derived from the task instance (unique, and logged).
    )

    wait_scheduled = CellcastMessageStatusSensor(
        task_id="wait_scheduled",
        message_id=schedule_campaign.output,
        target_status="scheduled",
        mode="poke",
        poll_interval=5,
        timeout=120,
    )

    cancel_campaign = CellcastCancelCampaignOperator(
        task_id="cancel_campaign",
        # By reference, as a person would from the cancel DAG's form; message_id=schedule_campaign.output
        # cancels the same messages by ID.
        custom_string="{{ ti.xcom_pull(task_ids='schedule_campaign', key='send_result')['reference'] }}",
        message_type="sms",
    )

    confirm_canceled = CellcastMessageStatusSensor(
        task_id="confirm_canceled",
        message_id=schedule_campaign.output,
        target_status="canceled",
        deferrable=True,
        poll_interval=10,
        timeout=600,
    )

    schedule_campaign >> wait_scheduled >> cancel_campaign >> confirm_canceled
