"""tus 1.0.0 (core, creation, termination, expiration) under /api/v1/uploads, and blobs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, AsyncIterator, BinaryIO

from anyio import to_thread
from litestar import Controller, Request, Response, delete, get, head, patch, post, route
from litestar.datastructures import ResponseHeader
from litestar.enums import HttpMethod
from litestar.exceptions import InternalServerException
from litestar.openapi.spec import (
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIType,
    Operation,
    RequestBody,
    Schema,
)
from litestar.params import FromPath, HeaderParameter
from litestar.response import Stream

from sync_server.domain.errors import DomainError
from sync_server.domain.uploads import service
from sync_server.dependencies import AppSettings, Blobs, CurrentPrincipal, Store
from sync_server.guards import signed_in

TUS = {"Tus-Resumable": "1.0.0"}


def _documented(name: str, description: str) -> ResponseHeader:
    return ResponseHeader(name=name, description=description, documentation_only=True)


#: What a tus answer says about an upload (documented on each operation).
OFFSET_HEADERS = [_documented("Upload-Offset", "bytes received so far"),
                  _documented("Upload-Length", "the photo's size"),
                  _documented("Upload-Expires", "when it is collected")]


def _header(name: str, description: str, **schema: object) -> object:
    """A request header the tus service reads and checks itself (400
    ``invalid_header``, ``invalid_metadata``): documented as required, handed
    over as sent (a ``str``, or None when missing)."""
    return Annotated[Any, HeaderParameter(name=name, required=True, description=description,
                                          schema_extra={"type": "string", **schema})]


UploadLength = _header("Upload-Length", "the photo's size in bytes", type="integer", minimum=0)
#: Base64 of three lowercase hex digits, then of the 64th: what ``sha256`` carries.
_P3 = "(?:[MN][DTjz]|O[DT]|Y[Tjz]|Z[DTj])"  # a first digit, and a second of 0-9
_P6 = "(?:[MN][GWm2]|O[GW]|Y[Wm2]|Z[GWm])"  # a first digit, and a second of a-f
_HEX3 = f"(?:{_P3}(?:[AEIMQUYcgk][w-z0-5]|[BFJNRVZdhl][h-m])|{_P6}(?:[EIMQUY][w-z0-5]|[FJNRVZ][h-m]))"
_HEX1 = "(?:[MN][AQgw]|O[AQ]|Y[Qgw]|Z[AQg])=="
UploadMetadata = _header("Upload-Metadata", "tus metadata: sha256 (base64 of its 64 hex digits), "
                         "filename, …", pattern=f"^sha256 {_HEX3}{{21}}{_HEX1}$")
UploadOffset = _header("Upload-Offset", "where these bytes start", type="integer", minimum=0)


@dataclass
class TusPatch(Operation):
    """The tus PATCH body: raw bytes, ``application/offset+octet-stream``."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(required=True, content={
            "application/offset+octet-stream": OpenAPIMediaType(
                schema=Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY))})


def _tus_headers(upload, settings, **extra: str) -> dict[str, str]:
    return {**TUS, "Upload-Offset": str(upload.offset), "Upload-Length": str(upload.length),
            "Upload-Expires": service.expires_header(settings, upload),
            "Cache-Control": "no-store", **extra}


async def _patch_body(request: Request) -> AsyncIterator[bytes]:
    """The PATCH body as it arrives. A client that goes away mid-body (a phone
    losing signal: the normal case tus exists for) is not a server fault:
    Litestar reports it as a 500-class exception, turned here into the
    ``client_disconnected`` error; what reached the disk before still counts."""
    try:
        async for chunk in request.stream():
            yield chunk
    except InternalServerException as exc:
        if "disconnected" not in str(exc.detail):
            raise
        raise DomainError("client_disconnected",
                          "the connection closed before the body ended; the bytes received "
                          "are kept, HEAD gives the offset to resume from") from None


class UploadController(Controller):
    path = "/api/v1/uploads"
    tags = ["photos"]

    # Its own handler: answered without a login (tus discovery), with the tus headers.
    @route("/", http_method=[HttpMethod.OPTIONS], status_code=204,
           summary="tus capabilities", operation_id="uploads_options")
    async def capabilities(self, settings: AppSettings) -> Response[None]:
        return Response(content=b"", status_code=204, headers={
            **TUS, "Tus-Version": "1.0.0", "Tus-Extension": "creation,termination,expiration",
            "Tus-Max-Size": str(settings.max_upload_bytes)})

    @post("/", summary="Create an upload (tus creation)", operation_id="uploads_create",
          guards=[signed_in], security=[{"bearer": []}], response_headers=[
              *OFFSET_HEADERS, _documented("Location", "the upload's URL")])
    async def create(self, principal: CurrentPrincipal, store: Store, blobs: Blobs,
                     settings: AppSettings, upload_length: UploadLength = None,
                     upload_metadata: UploadMetadata = None) -> Response[None]:
        upload = await to_thread.run_sync(
            service.create_upload, store, blobs, settings, principal, upload_length,
            upload_metadata)
        return Response(content=b"", status_code=201, headers=_tus_headers(
            upload, settings, Location=f"/api/v1/uploads/{upload.id}"))

    @head("/{upload_id:str}", summary="Offset of an upload", operation_id="uploads_head",
          guards=[signed_in], security=[{"bearer": []}], response_headers=OFFSET_HEADERS)
    async def offset(self, principal: CurrentPrincipal, store: Store, settings: AppSettings,
                     upload_id: FromPath[str]) -> Response[None]:
        upload = await to_thread.run_sync(service.get_upload, store, principal, upload_id,
                                          settings)
        return Response(content=b"", status_code=200, headers=_tus_headers(upload, settings))

    @patch("/{upload_id:str}", summary="Append bytes at Upload-Offset",
           operation_id="uploads_patch", request_max_body_size=None, status_code=204,
           guards=[signed_in], security=[{"bearer": []}], response_headers=OFFSET_HEADERS,
           operation_class=TusPatch)
    async def append(self, request: Request, principal: CurrentPrincipal, store: Store,
                     blobs: Blobs, settings: AppSettings, upload_id: FromPath[str],
                     upload_offset: UploadOffset = None) -> Response[None]:
        upload = await service.append(
            store, blobs, settings, principal, upload_id, upload_offset,
            request.headers.get("content-type"), _patch_body(request),
            request.headers.get("content-encoding"))
        return Response(content=b"", status_code=204, headers=_tus_headers(upload, settings))

    @delete("/{upload_id:str}", summary="Abandon an upload (tus termination)",
            operation_id="uploads_delete", guards=[signed_in], security=[{"bearer": []}])
    async def terminate(self, principal: CurrentPrincipal, store: Store, blobs: Blobs,
                        settings: AppSettings, upload_id: FromPath[str]) -> None:
        await to_thread.run_sync(service.terminate, store, blobs, settings, principal, upload_id)


class BlobController(Controller):
    path = "/api/v1/blobs"
    tags = ["photos"]
    guards = [signed_in]
    security = [{"bearer": []}]

    @get("/{sha256:str}", summary="Photo bytes by sha256", operation_id="blob_get",
         media_type="image/jpeg")
    async def get_blob(self, principal: CurrentPrincipal, store: Store, blobs: Blobs,
                       sha256: FromPath[str]) -> Stream:
        stream = await to_thread.run_sync(service.blob_for, store, blobs, principal, sha256)
        size = await to_thread.run_sync(blobs.size, sha256)
        return Stream(_chunks(stream), media_type="image/jpeg", headers={
            "Content-Length": str(size), "Content-Disposition": "inline",
            "Cache-Control": "private, max-age=31536000, immutable", "ETag": f'"{sha256}"'})

    @head("/{sha256:str}", summary="Does the server hold this photo?", operation_id="blob_head")
    async def head_blob(self, principal: CurrentPrincipal, store: Store, blobs: Blobs,
                        sha256: FromPath[str]) -> Response[None]:
        size = await to_thread.run_sync(service.check_blob, store, blobs, principal, sha256)
        return Response(content=b"", status_code=200, headers={"Content-Length": str(size)})


async def _chunks(stream: BinaryIO) -> AsyncIterator[bytes]:
    """A photo's bytes in 64 KiB reads off the event loop, whichever engine holds them."""
    try:
        while chunk := await to_thread.run_sync(stream.read, 1 << 16):
            yield chunk
    finally:
        stream.close()
