"""Typed errors of the Cellcast provider.

Every error the client and the hook raise is a :class:`CellcastError`, an ``AirflowException``
that carries the HTTP status code (``None`` when no answer arrived) and Cellcast's own message.
Errors after which a task retry cannot help also derive from ``AirflowFailException``, so Airflow
fails the task without using its retries. Which errors are retried *within* a try is decided in
one place, :mod:`airflow_provider_cellcast.client.retry`. Error texts never contain the API
token or the server's stack trace.

This is the bottom layer of the package: it imports Airflow's exception classes (through
apache-airflow-providers-common-compat, where they moved between releases) and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException


class CellcastError(AirflowException):
    """Base class: a Cellcast request did not succeed.

    :ivar status_code: HTTP status of the answer, or ``None`` when none arrived.
    :ivar api_message: the ``message`` Cellcast gave, if any.
    :ivar message_id: the message the request was about, if any.
    """

    def __init__(
        self,
        text: str,
        *,
        status_code: int | None = None,
        api_message: str | None = None,
        message_id: str | None = None,
    ) -> None:
        super().__init__(text)
        # AirflowException declares status_code as the API server's HTTPStatus; ours is Cellcast's.
        self.status_code = status_code  # type: ignore[assignment]
        self.api_message = api_message
        self.message_id = message_id


class CellcastInputError(CellcastError, AirflowFailException, ValueError):
    """A value given to the provider breaks Cellcast's rules; raised before any request is sent."""

    def __init__(self, field: str, value: Any, text: str) -> None:
        super().__init__(text)
        self.field = field
        self.value = value


class CellcastConfigurationError(CellcastError, AirflowFailException):
    """The Airflow connection or a setting is unusable (no token, bad URL, out-of-range value)."""


class CellcastAuthenticationError(CellcastError):
    """HTTP 401/403: the API token is missing, wrong, expired or lacks the permission."""


class CellcastBadRequestError(CellcastError, AirflowFailException):
    """HTTP 400 (or another 4xx): Cellcast refused the request as malformed; retrying cannot help."""


class CellcastRateLimitError(CellcastError):
    """HTTP 429: too many requests. ``retry_after`` holds the server's hint in seconds, if any."""

    def __init__(self, text: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(text, **kwargs)
        self.retry_after = retry_after


class CellcastServerError(CellcastError):
    """HTTP 5xx. ``retry_after`` holds the server's hint in seconds, if any."""

    def __init__(self, text: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(text, **kwargs)
        self.retry_after = retry_after


class CellcastConnectionError(CellcastError):
    """No answer: the connection was refused, reset or dropped, or a timeout passed.

    ``request_sent`` tells whether the request may have reached Cellcast: a send must not be
    repeated then, while a cancel or a lookup may.
    """

    def __init__(self, text: str, *, request_sent: bool, **kwargs: Any) -> None:
        super().__init__(text, **kwargs)
        self.request_sent = request_sent


class CellcastInvalidResponseError(CellcastError):
    """The answer could not be read: not JSON, empty, too large, or JSON of an unexpected shape."""


class CellcastRedirectError(CellcastInvalidResponseError):
    """A redirect (HTTP 3xx): Cellcast's API never redirects, so it is never followed or trusted.

    :ivar location_host: the host the redirect pointed at.
    """

    def __init__(self, text: str, *, location_host: str, **kwargs: Any) -> None:
        super().__init__(text, **kwargs)
        self.location_host = location_host


class CellcastUnsuccessfulError(CellcastError):
    """Cellcast answered with a readable envelope whose verdict is failure (``status: false``)."""


class CellcastMessageNotFoundError(CellcastUnsuccessfulError):
    """The message ID does not exist on the account the token belongs to."""


class CellcastMessageNotCancellableError(CellcastUnsuccessfulError, AirflowFailException):
    """The message can no longer be cancelled (already sent, delivered, failed...).

    :ivar message_status: the status Cellcast reports for the message.
    :ivar sent_at: when it was sent, if Cellcast says.
    """

    def __init__(
        self, text: str, *, message_status: str | None = None, sent_at: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(text, **kwargs)
        self.message_status = message_status
        self.sent_at = sent_at


class CellcastReferenceNotFoundError(CellcastError, AirflowFailException):
    """No message (in the status asked for) carries the campaign reference."""

    def __init__(self, text: str, *, reference: str, **kwargs: Any) -> None:
        super().__init__(text, **kwargs)
        self.reference = reference


class CellcastBatchError(CellcastError):
    """Some message IDs of a batch failed; ``results`` holds the failed IDs' results.

    Every ID's outcome, failed or not, is in the task's XCom ``results``.
    """

    def __init__(self, text: str, *, results: list[dict[str, Any]]) -> None:
        super().__init__(text)
        self.results = results


class CellcastPermanentBatchError(CellcastBatchError, AirflowFailException):
    """A batch in which every failure is permanent: a task retry could not help."""


class CellcastSendOutcomeUnknownError(CellcastError, AirflowFailException):
    """A send reached Cellcast, but its answer was lost or unreadable: messages may have been queued.

    Raised by :meth:`CellcastHook.send_sms <airflow_provider_cellcast.hooks.cellcast.CellcastHook.send_sms>`
    instead of the underlying error, and never retried by Airflow (``AirflowFailException``)
    whatever the task's ``retries``, because sending again could deliver the campaign twice.
    """

    request_sent = True


class CellcastSendRecoverableError(CellcastError):
    """A send reached Cellcast and its answer was lost, but its reference is unique to the task.

    Unlike :class:`CellcastSendOutcomeUnknownError` Airflow may retry it (with the task's
    ``retries``): the retry first looks the reference up and adopts what the lost request queued,
    and sends only if nothing was queued.

    :ivar reference: the ``customString`` the send was tagged with.
    """

    request_sent = True

    def __init__(self, text: str, *, reference: str, **kwargs: Any) -> None:
        super().__init__(text, **kwargs)
        self.reference = reference


class CellcastSendConnectionLostError(CellcastSendOutcomeUnknownError, CellcastConnectionError):
    """The connection broke or timed out after the send request went out (a dropped answer).

    Like every :class:`CellcastSendOutcomeUnknownError`, never retried: not within the try (the
    retry policy repeats a send only when it certainly did not reach Cellcast) and not by Airflow.
    """


class CellcastPartialSendError(CellcastError, AirflowFailException):
    """A send split into several requests failed part-way; earlier requests queued messages.

    :ivar partial_result: what the requests before the failure queued (a ``SendResult``: message
        IDs and masked contacts); the send operator pushes it to XCom ``send_result``.
    """

    def __init__(self, text: str, *, partial_result: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(text, **kwargs)
        self.partial_result = dict(partial_result)


class CellcastScheduleMismatchError(CellcastError, AirflowFailException):
    """Cellcast understood a send's ``scheduleAt`` as another time: what it queued was cancelled.

    Cellcast was seen to read a UTC time as Australian local time, sending texts hours off; the
    send reads back the ``scheduleAt`` of what it queued and cancels it all when they differ by
    more than a minute.

    :ivar requested: the time asked for (UTC, ISO 8601).
    :ivar understood: the time Cellcast reports, as it gave it.
    :ivar cancelled: IDs cancelled because of it; ``not_cancelled`` those whose cancel failed.
    """

    def __init__(
        self,
        text: str,
        *,
        requested: str,
        understood: str | None,
        cancelled: list[str],
        not_cancelled: list[str],
        **kwargs: Any,
    ) -> None:
        super().__init__(text, **kwargs)
        self.requested = requested
        self.understood = understood
        self.cancelled = cancelled
        self.not_cancelled = not_cancelled


class CellcastScheduleUnverifiedError(CellcastError):
    """A scheduled send was queued, but the time Cellcast understood could not be read back.

    Not an ``AirflowFailException``: a retry of a send operator task adopts the queued messages
    by their reference and checks their time again; nothing is sent twice.
    """
