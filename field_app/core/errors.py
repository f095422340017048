"""Errors the device raises to its callers (UI, CLI, tests).

Each has a stable ``code`` (listed in docs/device-api.md) and a human
``message``. ``LoginRequired`` is separate because callers react to it
differently: ask for the password, keep everything queued.
"""

from __future__ import annotations

from typing import Any

from shared_schema.errors import CodedError


class DeviceError(CodedError):
    """A user action or a sync step that could not be done."""

    code = "device_error"

    def __str__(self) -> str:
        return self.message


class LoginRequired(DeviceError):
    """No valid login: the server answered 401, or the device never logged in."""


class NotFound(DeviceError):
    """No such record, quarantine item or photo on this device."""


class InvalidInput(DeviceError):
    """A value the user gave does not fit (type, template item, required field)."""


class NetworkError(DeviceError):
    """The server could not be reached (after the retries the settings allow)."""


class ServerError(DeviceError):
    """The server refused a request as a whole (a 4xx that is not about one item)."""

    def __init__(self, code: str, message: str, status: int = 0, **details: Any) -> None:
        super().__init__(code, message, **details)
        self.status = status
