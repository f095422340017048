"""Content-addressed photo blobs and tus 1.0 resumable uploads.

An upload is a partial file under ``<blobs>/partial/<id>`` plus a row with
its offset. Bytes are appended and fsynced before the offset moves, so a cut
connection resumes from what is on disk. On the last byte the sha256 is
checked; a verified blob moves to ``<blobs>/<aa>/<sha256>`` once.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from pathlib import Path
from typing import AsyncIterator

from shared_schema.ids import uuid7
from sync_server.domain.auth.service import Principal
from sync_server.domain.sync.rules import CREATE_ROLES
from sync_server.errors import ApiError
from sync_server.settings import Settings
from sync_server.store.base import SyncStore, UploadRow

SHA256 = re.compile(r"^[0-9a-f]{64}$")


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        (self.root / "partial").mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def partial(self, upload_id: str) -> Path:
        return self.root / "partial" / upload_id

    def has(self, sha256: str) -> bool:
        return self.path(sha256).exists()

    def promote(self, upload_id: str, sha256: str) -> None:
        target = self.path(sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.partial(upload_id), target)


def parse_metadata(header: str | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in (header or "").split(","):
        pair = pair.strip()
        if not pair:
            continue
        key, _, value = pair.partition(" ")
        try:
            out[key] = base64.b64decode(value, validate=True).decode() if value else ""
        except (ValueError, UnicodeDecodeError):
            raise ApiError("invalid_metadata", f"Upload-Metadata value for {key!r} is not base64",
                           400, path="Upload-Metadata") from None
    return out


def _int_header(value: str | None, name: str) -> int:
    if value is None or not value.isdigit():
        raise ApiError("invalid_header", f"{name} must be a non-negative integer", 400, path=name)
    return int(value)


def create_upload(store: SyncStore, blobs: BlobStore, settings: Settings, p: Principal,
                  length_header: str | None, metadata_header: str | None) -> UploadRow:
    if p.role not in CREATE_ROLES["photo"]:  # the bytes would serve no photo record
        raise ApiError("forbidden", f"the {p.role} role records no photos, so it uploads none",
                       403, role=p.role)
    length = _int_header(length_header, "Upload-Length")
    if length > settings.max_upload_bytes:
        raise ApiError("too_large", f"a photo may be at most {settings.max_upload_bytes} bytes",
                       413, limit=settings.max_upload_bytes, got=length)
    meta = parse_metadata(metadata_header)
    sha = meta.get("sha256", "").lower()
    if not SHA256.match(sha):
        raise ApiError("invalid_metadata", "Upload-Metadata must carry sha256 (64 hex digits)",
                       400, path="Upload-Metadata.sha256")
    now = settings.now_ms()
    upload = UploadRow(id=uuid7(), sha256=sha, length=length, offset=0,
                       filename=meta.get("filename", "")[:200], device_id=p.device_id,
                       user_id=p.user_id, created_at=now)
    if store.has_blob(sha) and blobs.has(sha):
        upload.offset = length  # dedupe: nothing is sent twice
    else:
        blobs.partial(upload.id).touch()
    with store.transaction() as tx:
        tx.put_upload(upload)
    return upload


def get_upload(store: SyncStore, p: Principal, upload_id: str) -> UploadRow:
    upload = store.get_upload(upload_id)
    if upload is None or upload.device_id != p.device_id:
        raise ApiError("not_found", "no such upload", 404)
    return upload


async def append(store: SyncStore, blobs: BlobStore, settings: Settings, p: Principal,
                 upload_id: str, offset_header: str | None, content_type: str | None,
                 chunks: AsyncIterator[bytes]) -> UploadRow:
    if (content_type or "").split(";")[0].strip() != "application/offset+octet-stream":
        raise ApiError("unsupported_media_type",
                       "PATCH needs Content-Type: application/offset+octet-stream", 415)
    offset = _int_header(offset_header, "Upload-Offset")
    upload = get_upload(store, p, upload_id)
    if offset != upload.offset:
        raise ApiError("offset_mismatch", f"the upload is at offset {upload.offset}", 409,
                       headers={"Upload-Offset": str(upload.offset)}, offset=upload.offset)
    if upload.offset >= upload.length:
        return upload
    path = blobs.partial(upload_id)
    written = 0
    too_large = False
    try:
        with open(path, "r+b" if path.exists() else "wb") as f:
            f.seek(upload.offset)
            f.truncate()
            try:
                async for chunk in chunks:
                    room = upload.length - upload.offset - written
                    if len(chunk) > room:
                        too_large = True
                        chunk = chunk[:room]
                    f.write(chunk)
                    written += len(chunk)
                    if too_large:
                        break
            finally:
                f.flush()
                os.fsync(f.fileno())
    finally:
        # Whatever reached the disk counts, even if the connection was cut.
        upload.offset += written
        with store.transaction() as tx:
            tx.put_upload(upload)
    if too_large:
        raise ApiError("too_large", "more bytes than Upload-Length", 413,
                       headers={"Upload-Offset": str(upload.offset)})
    if upload.offset == upload.length:
        _finish(store, blobs, settings, p, upload)
    return upload


def _finish(store: SyncStore, blobs: BlobStore, settings: Settings, p: Principal,
            upload: UploadRow) -> None:
    digest = hashlib.sha256()
    with open(blobs.partial(upload.id), "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != upload.sha256:
        blobs.partial(upload.id).unlink(missing_ok=True)
        with store.transaction() as tx:
            tx.delete_upload(upload.id)
        raise ApiError("checksum_mismatch",
                       "the bytes do not match the sha256 given; the upload was discarded", 460,
                       expected=upload.sha256, got=digest.hexdigest())
    if blobs.has(upload.sha256):
        blobs.partial(upload.id).unlink(missing_ok=True)
    else:
        blobs.promote(upload.id, upload.sha256)
    with store.transaction() as tx:
        tx.put_blob(upload.sha256, upload.length, settings.now_ms(), p.device_id)


def terminate(store: SyncStore, blobs: BlobStore, p: Principal, upload_id: str) -> None:
    upload = get_upload(store, p, upload_id)
    blobs.partial(upload.id).unlink(missing_ok=True)
    with store.transaction() as tx:
        tx.delete_upload(upload.id)


def blob_for(store: SyncStore, blobs: BlobStore, p: Principal, sha256: str) -> Path:
    """The blob's path if this caller may see a record that names it."""
    if not SHA256.match(sha256) or not store.has_blob(sha256) or not blobs.has(sha256):
        raise ApiError("not_found", "no such photo", 404)
    if not p.all_scope and not store.blob_visible(sha256, p.visibility(), p.device_id):
        raise ApiError("not_found", "no such photo", 404)
    return blobs.path(sha256)
