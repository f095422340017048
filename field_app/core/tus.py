"""A small tus 1.0 client (core + creation) over the device's ApiClient.

One photo = one upload, content-addressed by the sha256 of its bytes:

1. no upload URL yet → ``POST /uploads`` (Upload-Length, Upload-Metadata
   ``sha256 <b64>,filename <b64>``); the ``Location`` is persisted at once
   (``persist_url``) so a restart resumes the same upload. If the server
   already holds the blob it answers with the offset at the end: done.
2. an upload URL → ``HEAD`` gives the server's offset: only the rest is sent.
3. ``PATCH`` chunks from that offset (``Upload-Offset``, ``Content-Type:
   application/offset+octet-stream``). A 409 carries the server's offset and
   the upload continues from there; a 404 means the upload is gone (start
   again with a new POST).

Network failures raise ``Retryable`` (the caller backs off and calls
``upload`` again, which starts with the HEAD); a 4xx about this photo
raises ``PhotoRejected`` (quarantine, the other photos go on).
"""

from __future__ import annotations

import base64
from typing import Callable, Iterator

import httpx

from field_app.core.api import ApiClient, Retryable, error_of

TUS_HEADERS = {"Tus-Resumable": "1.0.0"}
UPLOADS = "/api/v1/uploads"
PIECE = 64 * 1024


class PhotoRejected(Exception):
    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class UploadGone(Retryable):
    """The server no longer knows the upload URL: create a new upload."""


def metadata(sha256: str, filename: str) -> str:
    def b64(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    return f"sha256 {b64(sha256)},filename {b64(filename)}"


def _offset(headers: httpx.Headers, default: int | None = None) -> int | None:
    value = headers.get("upload-offset")
    return int(value) if value is not None and value.isdigit() else default


class TusUploader:
    def __init__(self, api: ApiClient, chunk_bytes: int,
                 on_bytes: Callable[[int], None] = lambda n: None) -> None:
        self.api = api
        self.chunk_bytes = max(1, chunk_bytes)
        self.on_bytes = on_bytes
        self.resumed_from: int | None = None  # server offset the last upload went on from

    def _fail(self, response: httpx.Response, what: str) -> None:
        code, message, _ = error_of(response)
        if response.status_code == 404:
            raise UploadGone(f"{what}: upload not found")
        raise PhotoRejected(code, f"{what}: {message}", response.status_code)

    def create(self, sha256: str, length: int, filename: str) -> tuple[str, int]:
        r = self.api.send("POST", UPLOADS + "/", headers={
            **TUS_HEADERS, "Upload-Length": str(length),
            "Upload-Metadata": metadata(sha256, filename)})
        if r.status_code not in (200, 201) or "location" not in r.headers:
            self._fail(r, "creating the upload")
        return r.headers["location"], _offset(r.headers, 0) or 0

    def server_offset(self, url: str) -> int:
        r = self.api.send("HEAD", url, headers=TUS_HEADERS)
        if r.status_code != 200:
            self._fail(r, "asking the upload offset")
        offset = _offset(r.headers)
        if offset is None:
            raise Retryable("HEAD without Upload-Offset")
        return offset

    def _body(self, data: memoryview) -> Iterator[bytes]:
        for start in range(0, len(data), PIECE):
            piece = bytes(data[start:start + PIECE])
            yield piece
            self.on_bytes(len(piece))

    def patch(self, url: str, offset: int, data: bytes) -> int:
        """Send ``data[offset:]`` in chunks; returns the final server offset."""
        view = memoryview(data)
        while offset < len(data):
            chunk = view[offset:offset + self.chunk_bytes]
            r = self.api.send("PATCH", url, content=self._body(chunk), headers={
                **TUS_HEADERS, "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
                "Content-Length": str(len(chunk))})
            if r.status_code == 409:
                server = _offset(r.headers)
                if server is None:
                    server = self.server_offset(url)
                offset = server
                continue
            if r.status_code not in (200, 204):
                self._fail(r, "sending the photo")
            new = _offset(r.headers)
            offset = new if new is not None else offset + len(chunk)
        return offset

    def upload(self, sha256: str, data: bytes, url: str | None,
               persist_url: Callable[[str | None], None]) -> int:
        """Upload (or resume) one photo; returns the offset the server had
        before this call sent anything (0 for a fresh upload)."""
        try:
            if url is not None:
                offset = self.server_offset(url)
            else:
                raise UploadGone("no upload yet")
        except UploadGone:
            url, offset = self.create(sha256, len(data), f"{sha256}.jpg")
            persist_url(url)
        self.resumed_from = offset
        if offset < len(data):
            try:
                self.patch(url, offset, data)
            except UploadGone:
                persist_url(None)
                raise
        return self.resumed_from
