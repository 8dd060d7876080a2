"""Schedule a campaign, then cancel it right away: the cancel task takes the IDs from XCom.

The first task schedules an SMS to a few contacts an hour ahead through ``CellcastHook.send_sms``
and returns the message IDs Cellcast gave (one per contact). The cancel operator receives that
list through XCom and cancels every message in one task; its ``results`` XCom shows the outcome of
each ID.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from airflow.sdk import DAG, Param, task

from airflow_provider_cellcast.operators.cancel_campaign import CellcastCancelCampaignOperator

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

    @task
    def schedule_campaign(params: dict | None = None) -> list[str]:
        # Imported here, not at the top: DAG files are parsed often, tasks run rarely.
        from airflow_provider_cellcast.hooks.cellcast import CellcastHook

        params = params or {}
        sent = CellcastHook("cellcast_default").send_sms(
            params["message"],
            params["contacts"],
            schedule_at=datetime.now(timezone.utc) + timedelta(hours=1),
        )
        return sent["message_ids"]

    CellcastCancelCampaignOperator(
        task_id="cancel_campaign",
        message_id=schedule_campaign(),
        message_type="sms",
    )
