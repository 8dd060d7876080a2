"""Cancel a scheduled Cellcast campaign by hand, from the Airflow UI's trigger form.

Trigger it with "Trigger" in the UI (the form asks for the message ID and type, and refuses an ID
that is not 24 hexadecimal characters), or from the command line::

    airflow dags trigger cellcast_cancel_campaign -c '{"message_id": "675161d8a000000000000000"}'

The ``message_id`` may also be a list of IDs, to cancel a whole campaign in one task.
"""

from __future__ import annotations

from airflow.providers.common.compat.sdk import DAG, Param

from airflow_provider_cellcast.operators.cancel_campaign import CellcastCancelCampaignOperator
from airflow_provider_cellcast.validation import MESSAGE_ID_FORM_PATTERN, MESSAGE_TYPES

with DAG(
    dag_id="cellcast_cancel_campaign",
    description="Cancel a scheduled Cellcast SMS/MMS message",
    schedule=None,
    catchup=False,
    tags=["cellcast", "example"],
    doc_md=__doc__,
    params={
        "message_id": Param(
            type="string",
            pattern=MESSAGE_ID_FORM_PATTERN,
            title="Message ID",
            description="The 24-character ID Cellcast returned when the message was scheduled "
            "(MessageId in the send response), e.g. 675161d8a000000000000000.",
        ),
        "message_type": Param(
            "sms",
            type="string",
            enum=list(MESSAGE_TYPES),
            title="Message type",
            description="sms or mms: the type the message was sent as.",
        ),
    },
):
    CellcastCancelCampaignOperator(
        task_id="cancel_campaign",
        message_id="{{ params.message_id }}",
        message_type="{{ params.message_type }}",
        cellcast_conn_id="cellcast_default",
    )
