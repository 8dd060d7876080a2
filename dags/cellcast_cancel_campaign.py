"""Cancel a scheduled Cellcast campaign by hand, from the Airflow UI's trigger form.

Press "Trigger" in the UI and fill in **one** of the two fields:

* **Campaign reference**: the reference the campaign was sent with (Cellcast's ``customString``).
  ``CellcastSendSmsOperator`` logs it in its task log ("Campaign reference (Cellcast customString):
  ...") and returns it in the XCom ``send_result["reference"]``; it is also in Cellcast's reports.
  Every message of that reference that is still scheduled is cancelled, all pages of them.
* **Message IDs**: one or more 24-character message IDs, one per line or separated by commas or
  spaces (as pasted from a report or an XCom). The form refuses anything else.

and the message type. The task checks again that exactly one of the two is given, so a run
triggered from the command line or the REST API gets the same answer::

    airflow dags trigger cellcast_cancel_campaign -c '{"message_id": "675161d8a000000000000000"}'
    airflow dags trigger cellcast_cancel_campaign -c '{"custom_string": "af-my-dag-send-3f9c2a7b1e4d6c80"}'

The outcome of every ID is in the task's XCom ``results``. A reference that matches no scheduled
message fails the task (nothing to cancel usually means a typo or the wrong message type).
"""

from __future__ import annotations

from airflow.providers.common.compat.sdk import DAG, Param

from airflow_provider_cellcast.operators.cancel_campaign import CellcastCancelCampaignOperator
from airflow_provider_cellcast.validation import MAX_REFERENCE_LENGTH, MESSAGE_TYPES

_ID = "[0-9a-fA-F]{24}"
_SEPARATOR = r"[\s,;]"
#: Empty, or 24-hex IDs separated by line breaks, commas, semicolons or spaces (the task reads the same).
MESSAGE_IDS_FORM_PATTERN = rf"^{_SEPARATOR}*(?:{_ID}(?:{_SEPARATOR}+{_ID})*{_SEPARATOR}*)?$"
#: Empty, or a reference as Cellcast keeps it: letters, digits and dashes (spaces around forgiven).
REFERENCE_FORM_PATTERN = rf"^\s*[A-Za-z0-9-]{{0,{MAX_REFERENCE_LENGTH}}}\s*$"

with DAG(
    dag_id="cellcast_cancel_campaign",
    description="Cancel a scheduled Cellcast SMS/MMS campaign, by reference or by message IDs",
    schedule=None,
    catchup=False,
    tags=["cellcast", "example"],
    doc_md=__doc__,
    params={
        "custom_string": Param(
            None,
            type=["null", "string"],
            pattern=REFERENCE_FORM_PATTERN,
            title="Campaign reference",
            description="Cancel every still-scheduled message sent with this reference (Cellcast's "
            "customString: letters, digits and dashes, e.g. af-my-dag-send-3f9c2a7b1e4d6c80). The send task "
            "logs it: 'Campaign reference (Cellcast customString): ...'. Leave empty when you give IDs below.",
        ),
        "message_id": Param(
            None,
            type=["null", "string"],
            format="multiline",
            pattern=MESSAGE_IDS_FORM_PATTERN,
            title="Message IDs",
            description="Or the 24-character IDs Cellcast returned (MessageId in the send response), "
            "one per line or separated by commas or spaces, e.g. 675161d8a000000000000000. "
            "Leave empty when you give a campaign reference.",
        ),
        "message_type": Param(
            "sms",
            type="string",
            enum=list(MESSAGE_TYPES),
            title="Message type",
            description="sms or mms: the type the messages were sent as.",
        ),
    },
):
    CellcastCancelCampaignOperator(
        task_id="cancel_campaign",
        # An empty form field arrives as None: render it as "", which the operator counts as not given.
        message_id="{{ params.message_id or '' }}",
        custom_string="{{ params.custom_string or '' }}",
        message_type="{{ params.message_type }}",
        cellcast_conn_id="cellcast_default",
    )
