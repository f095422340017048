"""Small HTTP helpers shared by the controllers: body limits, JSON, auth."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from litestar import MediaType, Request, Response
from litestar.datastructures import State

from shared_schema.wire import encoder
from sync_server.domain.auth.service import Principal, authenticate
from sync_server.errors import ApiError, validation_error

T = TypeVar("T")


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing with 413 before parsing once it passes ``limit``."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError("too_large", f"the body is over the limit of {limit} bytes", 413,
                       limit=limit, got=int(declared))
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError("too_large", f"the body is over the limit of {limit} bytes", 413,
                           limit=limit)
        chunks.append(chunk)
    return b"".join(chunks)


def decode(body: bytes, decoder: msgspec.json.Decoder) -> Any:
    try:
        return decoder.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise validation_error(exc) from None


def json_response(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(content=encoder.encode(obj), status_code=status, media_type=MediaType.JSON,
                    headers=headers)


def principal(request: Request) -> Principal:
    state: State = request.app.state
    return authenticate(state.store, state.settings, request.headers.get("authorization"))


def int_param(request: Request, name: str, default: int | None) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ApiError("invalid_parameter", f"{name} must be an integer", 400, path=name) from None
