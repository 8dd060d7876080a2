"""DAGs used only by the integration tests (bundle "tests").

``cellcast_test_send_retried`` is a send with ``retries=2`` (a lost answer is retried and the retry
adopts what was queued); ``cellcast_test_watch_reference`` a sensor watching a campaign by reference.

``cellcast_test_cancel`` is the example cancel DAG with one Airflow retry and no retry delay, and
native rendering so that ``message_id`` may be a list: a test can tell "failed without retry"
(one try) from "failed, so Airflow retried" (two tries) within one ``dag.test()``.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_cellcast.operators.cancel_campaign import CellcastCancelCampaignOperator
from airflow_provider_cellcast.operators.send_sms import CellcastSendSmsOperator
from airflow_provider_cellcast.sensors.message_status import CellcastMessageStatusSensor

with DAG(
    dag_id="cellcast_test_cancel",
    schedule=None,
    catchup=False,
    render_template_as_native_obj=True,
    default_args={"retries": 1, "retry_delay": timedelta(0)},
    params={"message_id": "675161d8a000000000000000", "message_type": "sms"},
):
    CellcastCancelCampaignOperator(
        task_id="cancel_campaign",
        message_id="{{ params.message_id }}",
        message_type="{{ params.message_type }}",
    )


with DAG(
    dag_id="cellcast_test_cancel_mapped",
    schedule=None,
    catchup=False,
    params={"message_ids": ["675161d8a000000000000000"]},
):
    # Dynamic task mapping: one mapped task instance per message ID.
    @task
    def message_ids_from_conf(params: dict | None = None) -> list[str]:
        return list((params or {})["message_ids"])

    CellcastCancelCampaignOperator.partial(task_id="cancel_each", message_type="sms").expand(
        message_id=message_ids_from_conf()
    )


with DAG(
    dag_id="cellcast_test_send_retried",
    schedule=None,
    catchup=False,
    params={"contacts": ["+61400000001", "+61400000002", "+61400000003"]},
):
    # Retries opted in on the send itself (the operator ignores default_args retries): a try whose
    # answer was lost fails with CellcastSendRecoverableError, and the retry adopts what was queued.
    CellcastSendSmsOperator(
        task_id="send",
        message="Retried send: adopted, never sent twice",
        contacts="{{ params.contacts }}",
        schedule_at=timedelta(hours=1),
        retries=2,
        retry_delay=timedelta(0),
    )


with DAG(
    dag_id="cellcast_test_watch_reference",
    schedule=None,
    catchup=False,
    params={"custom_string": "campaign-to-watch"},
):
    # The sensor watches a campaign by its reference rather than by message IDs.
    CellcastMessageStatusSensor(
        task_id="watch_campaign",
        custom_string="{{ params.custom_string }}",
        target_status="delivered",
        mode="poke",
        poll_interval=0.2,
        timeout=60,
    )


with DAG(
    dag_id="cellcast_test_nothing_to_cancel",
    schedule=None,
    catchup=False,
    params={"custom_string": "no-such-campaign"},
):
    # A reference that names nothing scheduled is a success here, not a failure.
    CellcastCancelCampaignOperator(
        task_id="cancel_campaign",
        custom_string="{{ params.custom_string }}",
        allow_nothing_to_cancel=True,
    )


with DAG(
    dag_id="cellcast_test_sensor_reschedule",
    schedule=None,
    catchup=False,
    params={"message_id": "675161d8a000000000000000"},
):
    # Reschedule mode: between pokes the sensor gives its worker slot back (up_for_reschedule).
    CellcastMessageStatusSensor(
        task_id="wait_sent",
        message_id="{{ params.message_id }}",
        target_status="sent",
        mode="reschedule",
        poll_interval=1,
        timeout=120,
    )


with DAG(
    dag_id="cellcast_test_cancel_resumable",
    schedule=None,
    catchup=False,
    render_template_as_native_obj=True,
    params={"message_ids": ["675161d8a000000000000000"]},
):
    # A bulk cancel paced at 40 requests/s (about 5 s for 200 IDs): long enough to be killed half-way.
    CellcastCancelCampaignOperator(
        task_id="cancel_campaign",
        message_id="{{ params.message_ids }}",
        hook_params={"requests_per_second": 40},
        retries=1,
        retry_delay=timedelta(0),
    )


with DAG(
    dag_id="cellcast_test_live_send",
    schedule=None,
    catchup=False,
    render_template_as_native_obj=True,
    params={"contacts": ["+61400000001"], "custom_string": ""},
):
    # A scheduled marketing send the way the live service wants it: normalised contacts, a clean
    # reference (the task instance's unless one is given), STOP replies unsubscribe, retries that
    # adopt what a lost answer queued, and the schedule Cellcast understood read back. A day
    # ahead: read 10-11 hours early (UTC as Sydney time), it is still in the future to cancel.
    CellcastSendSmsOperator(
        task_id="send",
        message="Spring sale: 20% off this weekend",
        contacts="{{ params.contacts }}",
        custom_string="{{ params.custom_string }}",
        schedule_at=timedelta(hours=24),
        reply_stop_to_opt_out=True,
        retries=2,
        retry_delay=timedelta(0),
    )


with DAG(
    dag_id="cellcast_test_watch_ids",
    schedule=None,
    catchup=False,
    render_template_as_native_obj=True,
    params={"message_ids": ["675161d8a000000000000000"], "target": "scheduled"},
):
    # Poke mode with Airflow retries, so that a test can tell "failed at once" (one try) apart.
    CellcastMessageStatusSensor(
        task_id="watch",
        message_id="{{ params.message_ids }}",
        target_status="delivered",
        mode="poke",
        poll_interval=0.2,
        timeout=60,
        retries=1,
        retry_delay=timedelta(0),
        hook_params={"backoff_seconds": 0.05},
    )


with DAG(
    dag_id="cellcast_test_campaign_chain",
    schedule=None,
    catchup=False,
    params={"contacts": ["+61400000001"]},
):
    # A campaign's whole chain: send, watch by the send's output (its send_result names the
    # reference: rounds go by the page), cancel by the same output, and read every ID's outcome
    # downstream. Run under the object-storage XCom backend, the large XComs land in object
    # storage and the chain reads them back the same way.
    send = CellcastSendSmsOperator(
        task_id="send",
        message="Campaign chained through XCom",
        contacts="{{ params.contacts }}",
        schedule_at=timedelta(hours=24),
    )
    watch = CellcastMessageStatusSensor(
        task_id="watch",
        message_id=send.output,
        target_status="scheduled",
        mode="poke",
        poll_interval=0.2,
        timeout=60,
    )
    cancel = CellcastCancelCampaignOperator(task_id="cancel", message_id=send.output)

    @task
    def count_outcomes(ti=None) -> dict:
        results = ti.xcom_pull(task_ids="cancel", key="results")
        outcomes: dict[str, int] = {}
        for entry in results:
            outcomes[entry["outcome"]] = outcomes.get(entry["outcome"], 0) + 1
        return outcomes

    watch >> cancel >> count_outcomes()
