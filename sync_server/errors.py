"""One error shape for every failure: ``{"error": {"code", "message", "details"}}``.

Domain code raises ``ApiError`` (or a subclass) with a stable code; the
handlers here map it, Litestar's own HTTP errors, and msgspec validation
errors to that shape. Unexpected exceptions become 500 ``internal_error``
without leaking internals; the request tests assert none ever happens.
"""

from __future__ import annotations

import errno
import logging
import re
import sqlite3
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException

from shared_schema.wire import ErrorBody, ErrorInfo

log = logging.getLogger("sync_server")


class ApiError(Exception):
    status = 400

    def __init__(self, code: str, message: str, status: int | None = None,
                 headers: dict[str, str] | None = None, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}
        if status is not None:
            self.status = status


def storage_full(message: str, headers: dict[str, str] | None = None,
                 **details: Any) -> ApiError:
    """507 ``storage_full``: the server's disk (photos or database) is full."""
    return ApiError("storage_full", message, 507, headers=headers, **details)


def is_disk_full(exc: BaseException) -> bool:
    """A full disk or quota, as the OS (ENOSPC, EDQUOT) or SQLite (SQLITE_FULL:
    "database or disk is full") reports it, on ``exc`` or what it was raised from."""
    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if isinstance(exc, sqlite3.Error) and (
                getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
                or "database or disk is full" in str(exc)):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


class Rejection(Exception):
    """A mutation that breaks a rule: it is ``rejected``, the batch goes on."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    def info(self) -> ErrorInfo:
        return ErrorInfo(code=self.code, message=self.message, details=self.details)


_ENCODER = msgspec.json.Encoder()


def error_response(status: int, code: str, message: str, details: dict | None = None,
                   headers: dict[str, str] | None = None) -> Response:
    body = ErrorBody(error=ErrorInfo(code=code, message=message, details=details or {}))
    return Response(
        content=_ENCODER.encode(body), status_code=status, media_type=MediaType.JSON,
        headers={"Tus-Resumable": "1.0.0", **(headers or {})},
    )


_UNKNOWN_FIELD = re.compile(r"Object contains unknown field `([^`]*)`")


def validation_error(exc: msgspec.ValidationError | msgspec.DecodeError) -> ApiError:
    text = str(exc)
    path = text.rsplit(" - at `", 1)[1].rstrip("`") if " - at `" in text else "$"
    unknown = _UNKNOWN_FIELD.match(text)
    if unknown:
        # A request type that forbids unknown fields (the office writes): a
        # field the server does not know is refused, never dropped.
        name = unknown.group(1)[:100]
        return ApiError("unknown_field", f"unknown field {name!r}", 400,
                        path=f"{path}.{name}", field=name)
    code = "malformed_json" if isinstance(exc, msgspec.DecodeError) and not isinstance(
        exc, msgspec.ValidationError) else "invalid_body"
    return ApiError(code, text, 400, path=path)


_HTTP_CODES = {
    400: "bad_request", 401: "auth_required", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
    422: "unprocessable", 429: "too_many_requests",
}


def handle_api_error(_: Request, exc: ApiError) -> Response:
    return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)


def handle_http_exception(request: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    if status >= 500 and "disconnected" in str(exc.detail).lower():
        # The client went away mid-body: its doing, not a fault (no traceback).
        return error_response(400, "client_disconnected",
                              "the connection closed before the body ended")
    if status >= 500:  # a server fault, even when Litestar raised it: no internals out
        return handle_unexpected(request, exc)
    code = _HTTP_CODES.get(status, "http_error")
    details = {}
    if isinstance(exc.extra, dict):
        details = exc.extra
    elif isinstance(exc.extra, list):
        details = {"errors": exc.extra}
    return error_response(status, code, exc.detail or code, details)


def handle_unexpected(request: Request, exc: Exception) -> Response:
    if is_disk_full(exc):  # nothing was committed: SQLite rolled back, files truncated
        log.error("disk full on %s %s: %s", request.method, request.url.path, exc)
        return error_response(507, "storage_full",
                              "the server's disk is full; nothing was saved, try again later",
                              headers={"Retry-After": "60"})
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(500, "internal_error", "the server failed; nothing was committed")


EXCEPTION_HANDLERS = {
    ApiError: handle_api_error,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}
