"""DAGs of the two-way tests (bundle "tests"): ask for a YES and wait for it in each sensor mode; send an MMS.

``cellcast_test_reply_<mode>`` texts "Reply YES to confirm" to the ``contacts`` and waits with
``CellcastReplySensor`` in poke, reschedule or deferrable mode, checking five times a second
(the example DAG checks once a minute). ``cellcast_test_mms`` sends the PNG at ``params.media``.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_cellcast.operators.send_mms import CellcastSendMmsOperator
from airflow_provider_cellcast.operators.send_sms import CellcastSendSmsOperator
from airflow_provider_cellcast.sensors.reply import CellcastReplySensor

for mode in ("poke", "reschedule", "deferrable"):
    with DAG(
        dag_id=f"cellcast_test_reply_{mode}",
        schedule=None,
        catchup=False,
        params={"contacts": ["+61400000951"]},
    ):
        ask = CellcastSendSmsOperator(task_id="ask", message="Reply YES to confirm", contacts="{{ params.contacts }}")
        wait = CellcastReplySensor(
            task_id="wait_yes",
            contacts="{{ params.contacts }}",
            pattern=r"(?i)^\s*yes\b",
            mode="reschedule" if mode == "reschedule" else "poke",
            deferrable=mode == "deferrable",
            poll_interval=0.2 if mode != "reschedule" else 0.5,
            timeout=90,
        )
        ask >> wait


with DAG(
    dag_id="cellcast_test_mms",
    schedule=None,
    catchup=False,
    params={"contacts": ["+61400000001", "0400 000 002"], "media": "/nonexistent.png"},
):
    CellcastSendMmsOperator(
        task_id="send_mms",
        message="This week's specials",
        contacts="{{ params.contacts }}",
        media="{{ params.media }}",
        retries=2,  # opted in: a lost answer must still not be resent
        retry_delay=timedelta(0),
    )
