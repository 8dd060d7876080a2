"""Schedule a campaign, then cancel it right away: the cancel task takes the IDs from XCom.

The first task schedules an SMS to a few contacts an hour ahead with ``CellcastSendSmsOperator``
and returns the message IDs Cellcast gave (one per contact). It is the operator (and its hook),
not a hand-written ``@task``, that knows a send must not be repeated when its answer was lost.
The cancel operator receives that list through XCom and cancels every message in one task; its
``results`` XCom shows the outcome of each ID.

The send tags every message with a reference unique to the task instance (Cellcast's
``customString``, ``af-cellcast-schedule-an-schedule-campaign-<hash>``) and logs it:
"Campaign reference (Cellcast customString): ...". Cancelling by that reference instead of by IDs
is ``CellcastCancelCampaignOperator(custom_string=...)``, or the ``cellcast_cancel_campaign`` form.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.providers.common.compat.sdk import DAG, Param

from airflow_provider_cellcast.operators.cancel_campaign import CellcastCancelCampaignOperator
from airflow_provider_cellcast.operators.send_sms import CellcastSendSmsOperator

with DAG(
    dag_id="cellcast_schedule_and_cancel",
    description="Schedule a Cellcast campaign and cancel it from the IDs in XCom",
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
        "message": Param("Your appointment is tomorrow at 9:00.", type="string"),
    },
):

    schedule_campaign = CellcastSendSmsOperator(
        task_id="schedule_campaign",
        message="{{ params.message }}",
        contacts="{{ params.contacts }}",
        schedule_at=timedelta(hours=1),
    )

    CellcastCancelCampaignOperator(
        task_id="cancel_campaign",
        message_id=schedule_campaign.output,
        message_type="sms",
    )
