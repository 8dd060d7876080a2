"""A small ``requests`` client for a running Cellcast emulator's control plane.

Use it against an emulator started elsewhere (``cellcast-emulator`` in a container, say); the
in-process :class:`~airflow_provider_cellcast.emulator.server.CellcastEmulator` has the same methods.
Imports only ``requests`` and the standard library. The harness calls (faults, journal, counters,
settings, clock) are in :mod:`.client_harness`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import requests

from airflow_provider_cellcast.emulator.client_harness import EmulatorClientError, HarnessCalls, time_text

__all__ = ["EmulatorClient", "EmulatorClientError"]


class EmulatorClient(HarnessCalls):
    """Drive a Cellcast emulator: reset it, seed messages and replies, register senders, inject
    faults, read its journal, change its settings and modes (:meth:`configure`).

    :param base_url: the emulator's URL, e.g. ``http://127.0.0.1:8079``.
    :param token: API token used by :meth:`schedule_campaign` when none is given there.
    :param timeout: seconds to wait for each control-plane answer.

    Example::

        emulator = EmulatorClient("http://127.0.0.1:8079", token="test-token")
        emulator.reset()
        emulator.register_sender("ACME")
        emulator.configure(contacts_mode="lenient")  # accept "0400000000" as the docs page does
        msg = emulator.seed_message(status="scheduled", schedule_at="2030-01-01 09:00:00")
        emulator.inject_fault("status", status=503, retry_after=2, message_id=msg["_id"], count=1)
        ...  # run the DAG or hook under test
        assert emulator.message(msg["_id"])["status"] == "canceled"
        assert emulator.request_count("/api/v1/gateway/cancelScheduleQuickMessage") == 2
        assert emulator.rate_limited_count() == 0
        emulator.inject_reply("61400000001", "STOP")  # the number is unsubscribed from now on
    """

    def __init__(self, base_url: str, *, token: str | None = None, timeout: float = 10.0) -> None:
        self._base_url = base_url.rstrip("/")
        self._default_token = token
        self.timeout = timeout
        self._session = requests.Session()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_url!r})"

    @property
    def token(self) -> str | None:
        """The API token this client sends by default (the emulator's token, when known)."""
        return self._default_token

    @property
    def base_url(self) -> str:
        """The emulator's base URL, without a trailing slash."""
        return self._base_url

    def close(self) -> None:
        """Close the HTTP session."""
        self._session.close()

    # ----------------------------------------------------------------- plumbing
    def _call(self, method: str, path: str, body: Any = None) -> Any:
        response = self._session.request(method, f"{self.base_url}{path}", json=body, timeout=self.timeout)
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if response.status_code >= 400:
            text = payload.get("message") if isinstance(payload, dict) else response.text[:200]
            raise EmulatorClientError(f"{method} {path}: HTTP {response.status_code}: {text}", response.status_code)
        return payload

    # ----------------------------------------------------------------- state
    def reset(self) -> None:
        """Forget messages, replies, opt-outs, faults, journal and clock offset; restore settings,
        senders and balances."""
        self._call("POST", "/_emulator/reset")

    def seed_message(
        self,
        *,
        message_id: str | None = None,
        type: str = "sms",
        status: str = "scheduled",
        message: str | None = None,
        sender: str | None = None,
        receiver: str | None = None,
        schedule_at: datetime | str | None = None,
        send_time: datetime | str | None = None,
        created_at: datetime | str | None = None,
        custom_string: str | None = None,
        auto_advance: bool = True,
        media: str | None = None,
        reply_stop: bool | None = None,
    ) -> dict[str, Any]:
        """Store a message directly (no credits charged) and return it as the control plane shows it.

        Any status may be seeded: ``dead`` (a final failure), ``aborted``, ``unknown``, ``pending``
        included. A ``scheduled`` message without ``schedule_at`` is due in one hour (emulator
        time); times without an offset are UTC. ``auto_advance=False`` freezes its status.
        """
        body: dict[str, Any] = {"type": type, "status": status, "auto_advance": auto_advance}
        optional = {
            "_id": message_id,
            "message": message,
            "sender": sender,
            "receiver": receiver,
            "scheduleAt": time_text(schedule_at) if schedule_at is not None else None,
            "send_time": time_text(send_time) if send_time is not None else None,
            "createdAt": time_text(created_at) if created_at is not None else None,
            "customString": custom_string,
            "media": media,
            "replyStop": reply_stop,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        result: dict[str, Any] = self._call("POST", "/_emulator/messages", body)
        return result

    def set_status(self, message_id: str, status: str, *, auto_advance: bool | None = None) -> dict[str, Any]:
        """Give a stored message another status now, e.g. ``"dead"``; return it.

        ``auto_advance`` (when given) freezes (``False``) or frees its later transitions.
        """
        body: dict[str, Any] = {"status": status}
        if auto_advance is not None:
            body["auto_advance"] = auto_advance
        result: dict[str, Any] = self._call("POST", f"/_emulator/messages/{message_id}/status", body)
        return result

    def message(self, message_id: str) -> dict[str, Any]:
        """One stored message (report fields plus ``type``); raises :class:`EmulatorClientError` if unknown."""
        result: dict[str, Any] = self._call("GET", f"/_emulator/messages/{message_id}")
        return result

    def messages(self) -> list[dict[str, Any]]:
        """Every stored message, newest first."""
        result: list[dict[str, Any]] = self._call("GET", "/_emulator/messages")["messages"]
        return result

    def add_template(self, text: str, template_id: str | None = None) -> str:
        """Store an SMS template; return its ID."""
        body = {"text": text} if template_id is None else {"text": text, "id": template_id}
        return str(self._call("POST", "/_emulator/templates", body)["id"])

    def add_optouts(self, numbers: Iterable[str | Mapping[str, str]]) -> None:
        """Unsubscribe numbers (strings, or ``{"number", "first_name", "last_name"}``).

        A later send listing one of them with other contacts answers it in
        ``unsubscribeContacts``; a send to it alone is refused (``status: false``).
        """
        self._call("POST", "/_emulator/optouts", {"numbers": [n if isinstance(n, str) else dict(n) for n in numbers]})

    def optouts(self) -> list[dict[str, Any]]:
        """The opt-out list, newest first (items as ``getOptout`` shows them)."""
        result: list[dict[str, Any]] = self._call("GET", "/_emulator/optouts")["optouts"]
        return result

    def register_sender(self, sender: str, name: str | None = None) -> dict[str, str]:
        """Register a sender ID (alphanumeric, at most 11 characters, or a number) to the account.

        Sends from any other sender than ``#SharedNum#`` and the registered ones are refused
        (HTTP 400 "Your sender id is not registered."); ``GET /api/v1/customNumber`` lists them.
        """
        body = {"sender": sender} if name is None else {"sender": sender, "name": name}
        result: dict[str, str] = self._call("POST", "/_emulator/senders", body)
        return result

    def senders(self) -> list[dict[str, str]]:
        """The registered senders, ``[{"sender", "name"}]`` (``#SharedNum#`` not listed)."""
        result: list[dict[str, str]] = self._call("GET", "/_emulator/senders")["senders"]
        return result

    def inject_reply(
        self,
        from_number: str,
        body: str,
        *,
        message_id: str | None = None,
        received_at: datetime | str | None = None,
    ) -> dict[str, Any]:
        """Receive an inbound reply from ``from_number``; a STOP reply unsubscribes that number.

        ``message_id``: the message replied to (default: the latest message sent to that number,
        if any). ``received_at``: default now (emulator time; a time without offset is UTC).
        Returns the reply as stored (``from`` in E.164, ``received_at`` UTC, ``opted_out``).
        """
        spec: dict[str, Any] = {"from": from_number, "body": body}
        if message_id is not None:
            spec["message_id"] = message_id
        if received_at is not None:
            spec["received_at"] = time_text(received_at)
        result: dict[str, Any] = self._call("POST", "/_emulator/replies", spec)
        return result

    def replies(self) -> list[dict[str, Any]]:
        """Every inbound reply as stored, in the configured order (newest first by default)."""
        result: list[dict[str, Any]] = self._call("GET", "/_emulator/replies")["replies"]
        return result

    def schedule_campaign(
        self,
        token: str | None = None,
        contacts: Sequence[str] = ("+61400000000",),
        message: str = "Scheduled through the Cellcast emulator",
        *,
        schedule_at: datetime | str | None = None,
        delay_ms: int | None = None,
        sender: str | None = None,
        custom_string: str | None = None,
    ) -> list[str]:
        """Schedule an SMS campaign through the public send endpoint; return its message IDs.

        Without ``schedule_at`` or ``delay_ms`` the campaign is due in one hour. ``token``
        defaults to the client's token.
        """
        token = token or self._default_token
        if not token:
            raise EmulatorClientError("schedule_campaign needs an API token")
        body: dict[str, Any] = {"message": message, "contacts": list(contacts)}
        if schedule_at is not None:
            body["scheduleAt"] = time_text(schedule_at)
        else:
            body["delay"] = 3_600_000 if delay_ms is None else delay_ms
        if sender is not None:
            body["sender"] = sender
        if custom_string is not None:
            body["customString"] = custom_string
        response = self._session.post(
            f"{self.base_url}/api/v1/gateway",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=self.timeout,
        )
        payload = response.json()
        if response.status_code != 200 or payload.get("status") is not True:
            raise EmulatorClientError(
                f"send refused: HTTP {response.status_code}: {payload.get('message')}", response.status_code
            )
        return [item["MessageId"] for item in payload["data"]["queueResponse"]]
