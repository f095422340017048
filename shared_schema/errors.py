"""``CodedError``: the one shape of an error with a stable code, used on both
sides (the server's ``DomainError`` and ``Rejection``, the case rules'
``CaseRuleError``, the device's ``DeviceError``)."""

from __future__ import annotations

from typing import Any


class CodedError(Exception):
    """A stable ``code`` (docs/errors.md), a ``message`` for people and the
    ``details`` that go with it."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
