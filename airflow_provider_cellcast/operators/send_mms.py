"""Send a Cellcast MMS: a text with a PNG/JPEG picture (or an animated GIF by URL).

DAG files import this module at every parse: it imports only Airflow's operator base class and
the provider's exceptions; the hook (and with it the http provider and ``requests``) is imported
when the task runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import BaseOperator

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_cellcast.hooks.cellcast import CellcastHook, SendResult


class CellcastSendMmsOperator(BaseOperator):
    """Send an MMS now: ``message`` with a picture (``media``) or an animation URL (``gif``).

    ``POST /api/v1/gatewaymms`` as Cellcast's multipart form. Returns the message IDs Cellcast
    queued (one per accepted contact); the full send result (IDs, masked contacts, invalid and
    unsubscribed contacts) is pushed to XCom ``send_result``, as for
    :class:`~airflow_provider_cellcast.operators.send_sms.CellcastSendSmsOperator`.

    * **The picture is checked before any request**: a PNG or JPEG by its first bytes (its name
      does not count), at most 230 KB (235,520 bytes); otherwise the task fails with
      ``CellcastInputError`` naming ``media``. ``media`` is a local path (templated), an
      Airflow ``ObjectStoragePath`` (``s3://...``, ``file://...``: its bytes are read, at most
      one past the limit), or ``bytes``.
    * **Never sent twice.** ``retries`` defaults to ``0`` whatever the DAG's ``default_args``
      say. A refusal (4xx, 429, a connection never established) queued nothing and raises as it
      is; when the request reached Cellcast and its answer was lost (timeout, dropped
      connection, any 5xx), the task fails with ``CellcastSendOutcomeUnknownError``, which
      Airflow never retries. Unlike SMS there is no reference to look up after a lost answer:
      Cellcast documents no ``customString`` for MMS (its emulator ignores one).
    * Contacts are normalised as for SMS (Australian mobiles become ``61XXXXXXXXX``); numbers
      that cannot be valid are listed in ``send_result`` (masked) and never sent. More than
      1,000 contacts are sent in several requests (a later one failing raises
      ``CellcastPartialSendError``; what was queued is in ``send_result``).
    * Not deferrable: a deferred POST can be replayed after a triggerer restart.

    .. code-block:: python

        from airflow.sdk import DAG, ObjectStoragePath
        from airflow_provider_cellcast.operators.send_mms import CellcastSendMmsOperator

        with DAG("mms_promo", schedule=None):
            CellcastSendMmsOperator(
                task_id="send_flyer",
                message="This week's specials",
                contacts=["+61400000001"],
                media=ObjectStoragePath("s3://aws_default@promo/flyer.png"),  # or "/data/flyer.png"
            )

    :param message: the text (templated).
    :param contacts: phone numbers: a list, a comma-separated string or a rendered list (templated).
    :param media: the picture: a local path (templated), an ``ObjectStoragePath`` or ``bytes``.
    :param gif: instead of ``media``, the URL of an animated GIF (templated).
    :param sender: sender ID or number (templated); Cellcast's shared number when empty.
    :param country_code: Cellcast's ``countryCode`` for national numbers (e.g. ``61``).
    :param cellcast_conn_id: the Airflow connection of type ``cellcast`` (templated).
    :param hook_params: overrides of the connection's client settings for this task.
    """

    template_fields: Sequence[str] = ("message", "contacts", "media", "gif", "sender", "cellcast_conn_id")
    template_fields_renderers: ClassVar[dict[str, str]] = {"contacts": "py"}
    ui_color = "#E4DDFB"
    ui_fgcolor = "#25184A"

    def __init__(
        self,
        *,
        message: str,
        contacts: str | Sequence[str] | Any,
        media: Any = None,
        gif: str | None = None,
        sender: str | None = None,
        country_code: int | None = None,
        cellcast_conn_id: str = "cellcast_default",
        hook_params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        # Explicit retries only, as for SMS: a blanket retry policy is what would resend an MMS.
        kwargs.setdefault("retries", 0)
        super().__init__(**kwargs)
        if (media is None) == (gif in (None, "")):
            from airflow_provider_cellcast.exceptions import CellcastInputError

            raise CellcastInputError(
                "media", "<hidden>", f"{self.task_id}: give media (a PNG/JPEG file) or gif (a URL), exactly one"
            )
        self.message = message
        self.contacts = contacts
        self.media = media
        self.gif = gif
        self.sender = sender
        self.country_code = country_code
        self.cellcast_conn_id = cellcast_conn_id
        from airflow_provider_cellcast.settings import checked_hook_params

        self.hook_params = checked_hook_params(hook_params)

    @cached_property
    def hook(self) -> CellcastHook:
        """The hook for this task's connection and settings."""
        from airflow_provider_cellcast.hooks.cellcast import CellcastHook

        return CellcastHook(self.cellcast_conn_id, **self.hook_params)

    def execute(self, context: Context) -> list[str]:
        from airflow_provider_cellcast.exceptions import CellcastPartialSendError

        try:
            result: SendResult = self.hook.send_mms(
                self.message,
                self.contacts,
                media=self.media if self.media not in (None, "") else None,
                gif=self.gif or None,
                sender=self.sender or None,
                country_code=self.country_code,
            )
        except CellcastPartialSendError as error:
            context["ti"].xcom_push(key="send_result", value=error.partial_result)
            raise
        finally:
            self.hook.close()
        context["ti"].xcom_push(key="send_result", value=dict(result))
        if result["message_ids"]:
            self.log.info("Cellcast queued %d MMS message(s)", len(result["message_ids"]))
        else:
            self.log.warning("Cellcast queued no MMS: every contact was invalid or unsubscribed")
        skipped = len(result["invalid_contacts"]) + len(result["unsubscribed_contacts"])
        if skipped:
            self.log.warning("%d contact(s) skipped (invalid or unsubscribed; masked in send_result)", skipped)
        return list(result["message_ids"])
