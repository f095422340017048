"""tus 1.0.0 (core, creation, termination, expiration) under /api/v1/uploads, and blobs."""

from __future__ import annotations

from typing import AsyncIterator

from anyio import to_thread
from litestar import Controller, Request, Response, delete, get, head, patch, route
from litestar.enums import HttpMethod
from litestar.exceptions import InternalServerException
from litestar.params import FromPath
from litestar.response import File

from sync_server.domain.uploads import service
from sync_server.errors import ApiError
from sync_server.http import principal

TUS = {"Tus-Resumable": "1.0.0"}


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
        raise ApiError("client_disconnected",
                       "the connection closed before the body ended; the bytes received "
                       "are kept, HEAD gives the offset to resume from", 400) from None


class UploadController(Controller):
    path = "/api/v1/uploads"
    tags = ["photos"]

    # One handler for both methods: Litestar would otherwise answer OPTIONS
    # with its own handler, without the tus headers.
    @route("/", http_method=[HttpMethod.POST, HttpMethod.OPTIONS],
           summary="Create an upload (tus creation); OPTIONS: tus capabilities",
           operation_id=lambda _handler, method, _path: (
               "uploads_options" if method == HttpMethod.OPTIONS else "uploads_create"))
    async def create(self, request: Request) -> Response[None]:
        s = request.app.state
        if request.method == HttpMethod.OPTIONS:
            return Response(content=b"", status_code=204, headers={
                **TUS, "Tus-Version": "1.0.0", "Tus-Extension": "creation,termination,expiration",
                "Tus-Max-Size": str(s.settings.max_upload_bytes)})
        p = principal(request)
        upload = await to_thread.run_sync(
            service.create_upload, s.store, s.blobs, s.settings, p,
            request.headers.get("upload-length"), request.headers.get("upload-metadata"))
        return Response(content=b"", status_code=201, headers=_tus_headers(
            upload, s.settings, Location=f"/api/v1/uploads/{upload.id}"))

    @head("/{upload_id:str}", summary="Offset of an upload", operation_id="uploads_head")
    async def offset(self, request: Request, upload_id: FromPath[str]) -> Response[None]:
        s = request.app.state
        p = principal(request)
        upload = await to_thread.run_sync(service.get_upload, s.store, p, upload_id, s.settings)
        return Response(content=b"", status_code=200, headers=_tus_headers(upload, s.settings))

    @patch("/{upload_id:str}", summary="Append bytes at Upload-Offset",
           operation_id="uploads_patch", request_max_body_size=None)
    async def append(self, request: Request, upload_id: FromPath[str]) -> Response[None]:
        s = request.app.state
        p = principal(request)
        upload = await service.append(
            s.store, s.blobs, s.settings, p, upload_id, request.headers.get("upload-offset"),
            request.headers.get("content-type"), _patch_body(request),
            request.headers.get("content-encoding"))
        return Response(content=b"", status_code=204, headers=_tus_headers(upload, s.settings))

    @delete("/{upload_id:str}", summary="Abandon an upload (tus termination)",
            operation_id="uploads_delete")
    async def terminate(self, request: Request, upload_id: FromPath[str]) -> None:
        s = request.app.state
        p = principal(request)
        await to_thread.run_sync(service.terminate, s.store, s.blobs, s.settings, p, upload_id)


class BlobController(Controller):
    path = "/api/v1/blobs"
    tags = ["photos"]

    @get("/{sha256:str}", summary="Photo bytes by sha256", operation_id="blob_get")
    async def get_blob(self, request: Request, sha256: FromPath[str]) -> File:
        s = request.app.state
        p = principal(request)
        path = await to_thread.run_sync(service.blob_for, s.store, s.blobs, p, sha256)
        return File(path=path, media_type="image/jpeg", content_disposition_type="inline",
                    headers={"Cache-Control": "private, max-age=31536000, immutable",
                             "ETag": f'"{sha256}"'})

    @head("/{sha256:str}", summary="Does the server hold this photo?", operation_id="blob_head")
    async def head_blob(self, request: Request, sha256: FromPath[str]) -> Response[None]:
        s = request.app.state
        p = principal(request)
        path = await to_thread.run_sync(service.blob_for, s.store, s.blobs, p, sha256)
        return Response(content=b"", status_code=200,
                        headers={"Content-Length": str(path.stat().st_size)})
