"""The cancel operator in bulk mode, as the benchmarks run it with ``dag.test()`` (bundle "benchmarks").

``message_ids`` (a list, from the run's conf) are cancelled in one task: no client-side pace
(``requests_per_second=0``, the benchmark's emulator has no rate limit) and 16 worker threads.
No Airflow retries, so a failed batch shows as one failed try.
"""

from __future__ import annotations

from airflow.sdk import DAG

from airflow_provider_cellcast.operators.cancel_campaign import CellcastCancelCampaignOperator

with DAG(
    dag_id="bench_cellcast_bulk_cancel",
    schedule=None,
    catchup=False,
    render_template_as_native_obj=True,
    default_args={"retries": 0},
    params={"message_ids": []},
    tags=["benchmark"],
):
    CellcastCancelCampaignOperator(
        task_id="cancel_campaign",
        message_id="{{ params.message_ids }}",
        message_type="sms",
        cellcast_conn_id="cellcast_default",
        hook_params={"requests_per_second": 0, "max_concurrency": 16},
    )
