"""The three JSON envelopes Cellcast answers with, as the emulator builds them.

Standard library only, so that unit tests of the hook can build documented answers without
starting a server.

Example::

    body = app_envelope(True, "Job removed successfully", {"message": "Job removed successfully"})
    assert set(body) == APP_ENVELOPE_KEYS
"""

from __future__ import annotations

from typing import Any

#: Keys of the app envelope (most endpoints). ``maintainence`` is Cellcast's spelling.
APP_ENVELOPE_KEYS = frozenset(
    {
        "app_type",
        "app_version",
        "maintainence",
        "new_version",
        "force_update",
        "invalid_token",
        "refresh_token",
        "show_message",
        "is_enc",
        "status",
        "message",
        "message_type",
        "data",
        "error",
    }
)
#: Keys of the meta envelope (account, replies, opt-outs).
META_ENVELOPE_KEYS = frozenset({"meta", "message", "data", "error"})
#: Keys of the error envelope (HTTP 4xx and 5xx).
ERROR_ENVELOPE_KEYS = frozenset({"code", "message", "stack"})


def app_envelope(status: bool, message: str, data: Any = None, error: Any = None) -> dict[str, Any]:
    """An app envelope; ``status`` is the verdict, ``data`` and ``error`` default to ``{}``."""
    return {
        "app_type": "web",
        "app_version": "1.0",
        "maintainence": 0,
        "new_version": 0,
        "force_update": 0,
        "invalid_token": 0,
        "refresh_token": "",
        "show_message": 0,
        "is_enc": False,
        "status": status,
        "message": message,
        "message_type": "toast",
        "data": {} if data is None else data,
        "error": {} if error is None else error,
    }


def cast_error(value: str, model: str = "Message") -> dict[str, Any]:
    """A Mongo ``CastError`` as Cellcast leaks it in ``error`` when an ID is not an ObjectId."""
    return {
        "stringValue": f'"{value}"',
        "valueType": "string",
        "kind": "ObjectId",
        "value": value,
        "path": "_id",
        "reason": {},
        "name": "CastError",
        "message": f'Cast to ObjectId failed for value "{value}" (type string) at path "_id" for model "{model}"',
    }


def cast_error_envelope(value: str) -> dict[str, Any]:
    """The report's live failure: ``status: false``, "internal server error", a CastError in ``error``."""
    return app_envelope(False, "internal server error", {}, cast_error(value))


def meta_envelope(message: str, data: Any, code: int = 200) -> dict[str, Any]:
    """A meta envelope, as the account, replies and opt-out endpoints answer."""
    return {
        "meta": {"code": code, "status": "SUCCESS" if code < 400 else "FAILED"},
        "message": message,
        "data": data,
        "error": {},
    }


def error_envelope(code: int, message: str) -> dict[str, Any]:
    """An error envelope: ``{"code": 400, "message": "messageId is required", "stack": "APIError: ..."}``."""
    return {"code": code, "message": message, "stack": f"APIError: {message}."}
