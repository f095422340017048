"""One error shape for every failure: ``{"error": {"code", "message", "details"}}``.

Domain code raises ``DomainError`` with a stable code and no HTTP status;
``STATUS`` here is the one mapping of codes to statuses. The handlers map
domain errors, Litestar's own HTTP errors and validation errors to that shape.
Unexpected exceptions become 500 ``internal_error`` without leaking
internals; the request tests assert none ever happens.
"""

from __future__ import annotations

import logging
import re

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException

from shared_schema.wire import ErrorBody, ErrorInfo
from sync_server.domain.errors import DomainError, is_disk_full

log = logging.getLogger("sync_server")


#: The one mapping of a domain error's code to its HTTP status. A code not
#: listed is a rule a write broke (a ``Rejection`` of an office action, an
#: answer out of range): 422.
STATUS: dict[str, int] = {
    # 400: the request itself is malformed
    "malformed_json": 400, "invalid_body": 400, "too_deep": 400, "unknown_field": 400,
    "invalid_field": 400, "field_too_long": 400, "invalid_parameter": 400,
    "invalid_header": 400, "invalid_metadata": 400, "invalid_device_id": 400,
    "device_secret_required": 400, "unsupported_protocol": 400, "client_disconnected": 400,
    "invalid_role": 400, "invalid_user": 400, "weak_password": 400,
    # 401: no, a bad or a revoked login
    "auth_required": 401, "token_invalid": 401, "token_expired": 401, "token_revoked": 401,
    "invalid_credentials": 401, "user_disabled": 401, "device_mismatch": 401,
    # 403: out of role or scope
    "forbidden": 403, "device_revoked": 403, "role_not_allowed": 403, "out_of_scope": 403,
    "field_not_writable": 403,
    # 404: unknown or not visible
    "not_found": 404, "unknown_user": 404,
    # 409: the state of the record or the server says no
    "already_reviewed": 409, "conflict_resolved": 409, "device_id_taken": 409,
    "last_admin": 409, "not_submitted": 409, "offset_mismatch": 409, "record_deleted": 409,
    "user_exists": 409, "illegal_transition": 409, "already_extended": 409,
    "duplicate_entity": 409,
    "resync_required": 410,
    "too_large": 413, "too_many_mutations": 413,
    "unsupported_encoding": 415, "unsupported_media_type": 415,
    "invalid_calendar": 422, "invalid_value": 422, "missing_field": 422, "masked_value": 422,
    "upload_busy": 423,
    "too_many_attempts": 429, "upload_quota": 429,
    "checksum_mismatch": 460,
    "storage_full": 507,
    # --- #17 documents ---
    "nothing_to_rectify": 409,
    # --- #17 warnings ---
    "already_handled": 409, "reinspection_closed": 409, "unknown_reinspection": 422,
    "unknown_case": 422,
}


def status_of(code: str) -> int:
    return STATUS.get(code, 422)


_ENCODER = msgspec.json.Encoder()


def error_response(status: int, code: str, message: str, details: dict | None = None,
                   headers: dict[str, str] | None = None) -> Response:
    body = ErrorBody(error=ErrorInfo(code=code, message=message, details=details or {}))
    return Response(
        content=_ENCODER.encode(body), status_code=status, media_type=MediaType.JSON,
        headers={"Tus-Resumable": "1.0.0", **(headers or {})},
    )


_UNKNOWN_FIELD = re.compile(r"Object contains unknown field `([^`]*)`")


def validation_error(exc: msgspec.ValidationError | msgspec.DecodeError) -> DomainError:
    text = str(exc)
    path = text.rsplit(" - at `", 1)[1].rstrip("`") if " - at `" in text else "$"
    unknown = _UNKNOWN_FIELD.match(text)
    if unknown:
        # A request type that forbids unknown fields (the office writes): a
        # field the server does not know is refused, never dropped.
        name = unknown.group(1)[:100]
        return DomainError("unknown_field", f"unknown field {name!r}", path=f"{path}.{name}",
                           field=name)
    code = "malformed_json" if isinstance(exc, msgspec.DecodeError) and not isinstance(
        exc, msgspec.ValidationError) else "invalid_body"
    return DomainError(code, text, path=path)


_HTTP_CODES = {
    400: "bad_request", 401: "auth_required", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
    422: "unprocessable", 429: "too_many_requests",
}


def handle_domain_error(_: Request, exc: DomainError) -> Response:
    return error_response(status_of(exc.code), exc.code, exc.message, exc.details, exc.headers)


def parameter_error(request: Request, exc: ValidationException) -> DomainError | None:
    """A typed handler parameter Litestar refused, as the server's own error:
    a query, path or header value is 400 ``invalid_parameter`` naming it; a
    missing body is ``malformed_json``, as an empty JSON text."""
    errors = exc.extra if isinstance(exc.extra, list) else []
    for err in errors:
        key, source = str(err.get("key", "")), err.get("source", "")
        source = getattr(source, "value", source)  # a ParamType, or "body"
        if source == "body" and key == "data":
            return DomainError("malformed_json", "Input data was truncated", path="$")
        if source in ("query", "path", "header", "cookie"):
            field = request.route_handler.parsed_fn_signature.parameters.get(key)
            kwarg = field.kwarg_definition if field is not None else None
            name = getattr(kwarg, "name", None) or key  # the name on the wire
            return DomainError("invalid_parameter", f"{name}: {err.get('message', 'invalid')}",
                               path=name)
    return None


def handle_http_exception(request: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    if isinstance(exc, ValidationException) and (err := parameter_error(request, exc)):
        return handle_domain_error(request, err)
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
    # e.g. the ``Allow`` header of a 405
    headers = dict(exc.headers or {})
    return error_response(status, code, exc.detail or code, details, headers)


def handle_unexpected(request: Request, exc: Exception) -> Response:
    if is_disk_full(exc):  # nothing was committed: SQLite rolled back, files truncated
        log.error("disk full on %s %s: %s", request.method, request.url.path, exc)
        return error_response(507, "storage_full",
                              "the server's disk is full; nothing was saved, try again later",
                              headers={"Retry-After": "60"})
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(500, "internal_error", "the server failed; nothing was committed")


__all__ = ["DomainError", "STATUS", "status_of"]

EXCEPTION_HANDLERS = {
    DomainError: handle_domain_error,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}
