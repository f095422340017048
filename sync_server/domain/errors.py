"""Domain errors: plain exceptions with a stable code, no HTTP in them.

Services raise ``DomainError`` (a request cannot be served: a bad value, a
missing record, a refused role) or ``Rejection`` (a mutation of a push breaks
a rule: it is rejected, the batch goes on). What HTTP status a code answers
is decided once, at the edge (``sync_server.errors.STATUS``).
"""

from __future__ import annotations

import errno
from typing import Any

from shared_schema.errors import CodedError
from shared_schema.wire import ErrorInfo
from sync_server.store import engine_disk_full


class DomainError(CodedError):
    """A request the server refuses, by a stable ``code``; ``details`` go out
    as the error's details and ``headers`` (e.g. ``Retry-After``) with it."""

    def __init__(self, code: str, message: str, *, headers: dict[str, str] | None = None,
                 **details: Any) -> None:
        super().__init__(code, message, **details)
        self.headers = headers or {}


def storage_full(message: str, headers: dict[str, str] | None = None,
                 **details: Any) -> DomainError:
    """``storage_full``: the server's disk (photos or database) is full."""
    return DomainError("storage_full", message, headers=headers, **details)


def is_disk_full(exc: BaseException) -> bool:
    """A full disk or quota, as the OS (ENOSPC, EDQUOT) or the store's engine
    (``store.engine_disk_full``) reports it, on ``exc`` or what it was raised from."""
    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if engine_disk_full(exc):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


class Rejection(CodedError):
    """A mutation that breaks a rule: it is ``rejected``, the batch goes on."""

    def info(self) -> ErrorInfo:
        return ErrorInfo(code=self.code, message=self.message, details=self.details)

    def as_error(self) -> DomainError:
        """The same refusal for a request that is no push (an office write):
        its details may name ``status`` (a case's), never an HTTP status."""
        err = DomainError(self.code, self.message)
        err.details = dict(self.details)  # any key, even one named like a parameter
        return err
