"""Two campaigns cancelled at once, as ``benchmarks/celery_two_campaigns.py`` runs it on Celery.

Each task cancels one campaign by its reference (``customString``) on the same Cellcast account;
the connection ``cellcast_default`` (from the environment) names the shared Redis limiter.
"""

from __future__ import annotations

from airflow.sdk import DAG

from airflow_provider_cellcast.operators.cancel_campaign import CellcastCancelCampaignOperator

with DAG(
    dag_id="cellcast_two_campaigns",
    schedule=None,
    catchup=False,
    default_args={"retries": 0},
    tags=["benchmark"],
):
    for reference in ("campaign-a", "campaign-b"):
        CellcastCancelCampaignOperator(
            task_id=f"cancel_{reference.replace('-', '_')}",
            custom_string=reference,
            message_type="sms",
            cellcast_conn_id="cellcast_default",
        )
