"""Content-addressed photo blobs and tus 1.0 resumable uploads.

An upload is a partial file under ``<blobs>/partial/<id>`` plus a row with
its offset. Bytes are appended and fsynced before the offset moves, so a cut
connection resumes from what is on disk. On the last byte the sha256 is
checked; a verified blob moves to ``<blobs>/<aa>/<sha256>`` once.

Bounds (issue 14): an upload expires ``upload_expiry_ms`` after bytes last
arrived (tus Expiration); a device's unfinished uploads hold at most
``max_unfinished_bytes`` declared bytes and a user at most
``max_unfinished_uploads`` of them; one PATCH at a time per upload (a lock
taken by compare-and-set in the database); a full disk answers 507 and
leaves the offset and the partial file as they were; ``collect`` removes
expired uploads and blobs no photo record has named for ``orphan_grace_ms``.

Rights: an upload is its creating user's (HEAD, PATCH, DELETE). A blob is
read by someone who sent its bytes, or through a photo record the reader
may see whose creator sent them (``SyncStore.blob_visible``). The dedupe
shortcut ("the server already has these bytes") is only for a user who
already sent them: anyone else sends the bytes and the server checks them.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import logging
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import AsyncIterator, BinaryIO

from anyio import to_thread

from shared_schema.ids import uuid7
from sync_server.domain.principal import Principal
from sync_server.domain.sync.rules import CREATE_ROLES
from sync_server.domain.errors import DomainError, is_disk_full, storage_full
from sync_server.settings import Settings
from sync_server.store.base import SyncStore, UploadRow

log = logging.getLogger("sync_server")

SHA256 = re.compile(r"^[0-9a-f]{64}$")
#: Seconds a client waits before asking again after 423 ``upload_busy`` or 429
#: ``upload_quota``.
BUSY_RETRY_S = 1
QUOTA_RETRY_S = 60


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        (self.root / "partial").mkdir(parents=True, exist_ok=True)
        (self.root / "trash").mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def partial(self, upload_id: str) -> Path:
        return self.root / "partial" / upload_id

    def trash(self, sha256: str) -> Path:
        return self.root / "trash" / sha256

    def has(self, sha256: str) -> bool:
        return self.path(sha256).exists()

    def promote(self, upload_id: str, sha256: str) -> None:
        target = self.path(sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.partial(upload_id), target)

    def free_bytes(self) -> int:
        return shutil.disk_usage(self.root).free

    def writable(self) -> bool:
        probe = self.root / "partial" / f".probe-{uuid7()}"
        try:
            probe.write_bytes(b"")
            probe.unlink()
        except OSError:
            return False
        return True


def _write(f: BinaryIO, data: bytes) -> None:
    """Append ``data`` to a partial file (the one place upload bytes hit the disk)."""
    f.write(data)


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
            raise DomainError("invalid_metadata", f"Upload-Metadata value for {key!r} is not base64",
                              path="Upload-Metadata") from None
    return out


def _int_header(value: str | None, name: str) -> int:
    if value is None or not value.isdigit() or len(value) > 18:
        raise DomainError("invalid_header", f"{name} must be a non-negative integer", path=name)
    return int(value)


def expires_at(settings: Settings, upload: UploadRow) -> int:
    return (upload.updated_at or upload.created_at) + settings.upload_expiry_ms


def expires_header(settings: Settings, upload: UploadRow) -> str:
    """``Upload-Expires`` (tus Expiration): an RFC 9110 date."""
    return email.utils.formatdate(expires_at(settings, upload) / 1000, usegmt=True)


def create_upload(store: SyncStore, blobs: BlobStore, settings: Settings, p: Principal,
                  length_header: str | None, metadata_header: str | None) -> UploadRow:
    if p.role not in CREATE_ROLES["photo"]:  # the bytes would serve no photo record
        raise DomainError("forbidden", f"the {p.role} role records no photos, so it uploads none",
                          role=p.role)
    length = _int_header(length_header, "Upload-Length")
    if length > settings.max_upload_bytes:
        raise DomainError("too_large", f"a photo may be at most {settings.max_upload_bytes} bytes",
                          limit=settings.max_upload_bytes, got=length)
    meta = parse_metadata(metadata_header)
    sha = meta.get("sha256", "").lower()
    if not SHA256.match(sha):
        raise DomainError("invalid_metadata", "Upload-Metadata must carry sha256 (64 hex digits)",
                          path="Upload-Metadata.sha256")
    now = settings.now_ms()
    upload = UploadRow(id=uuid7(), sha256=sha, length=length, offset=0,
                       filename=meta.get("filename", "")[:200], device_id=p.device_id,
                       user_id=p.user_id, created_at=now, updated_at=now)
    with store.transaction() as tx:
        # Dedupe only for a user who sent these bytes before: knowing a hash
        # must not make a blob someone else's.
        if tx.is_blob_holder(sha, p.user_id) and store.has_blob(sha) and blobs.has(sha):
            upload.offset = length
            tx.touch_blob(sha)
        else:
            _check_quota(tx, settings, p, length)
            if blobs.free_bytes() - length < settings.min_free_bytes:
                raise storage_full("the photo store is full; try again later",
                                   need=length)
            blobs.partial(upload.id).touch()
        tx.put_upload(upload)
    return upload


def _check_quota(tx, settings: Settings, p: Principal, length: int) -> None:
    _, device_bytes = tx.unfinished_uploads(device_id=p.device_id)
    if device_bytes + length > settings.max_unfinished_bytes:
        raise DomainError("upload_quota",
                          "this device has too many unfinished photo uploads; finish or abandon "
                          "them first", headers={"Retry-After": str(QUOTA_RETRY_S)},
                          limit_bytes=settings.max_unfinished_bytes, unfinished_bytes=device_bytes,
                          got=length)
    user_count, _ = tx.unfinished_uploads(user_id=p.user_id)
    if user_count + 1 > settings.max_unfinished_uploads:
        raise DomainError("upload_quota",
                          "this user has too many unfinished photo uploads; finish or abandon "
                          "them first", headers={"Retry-After": str(QUOTA_RETRY_S)},
                          limit_uploads=settings.max_unfinished_uploads, unfinished=user_count)


def get_upload(store: SyncStore, p: Principal, upload_id: str,
               settings: Settings | None = None) -> UploadRow:
    """The caller's own upload (its creating user's, whatever the device);
    an expired unfinished one is gone as if collected."""
    upload = store.get_upload(upload_id)
    if upload is None or upload.user_id != p.user_id:
        raise DomainError("not_found", "no such upload")
    if (settings is not None and upload.offset < upload.length
            and expires_at(settings, upload) <= settings.now_ms()):
        raise DomainError("not_found", "the upload expired; create a new one", expired=True)
    return upload


def _busy(upload: UploadRow) -> DomainError:
    return DomainError("upload_busy", "another request is writing this upload; ask HEAD for the "
                       "offset and try again",
                       headers={"Retry-After": str(BUSY_RETRY_S),
                                "Upload-Offset": str(upload.offset)},
                       offset=upload.offset)


def _claim(store: SyncStore, settings: Settings, p: Principal, upload: UploadRow,
           offset: int, token: str) -> None:
    now = settings.now_ms()
    with store.transaction() as tx:
        won = tx.claim_upload(upload.id, offset, token, now, now - settings.upload_lock_ms)
    if won:
        return
    current = get_upload(store, p, upload.id)
    if current.offset != offset:
        raise DomainError("offset_mismatch", f"the upload is at offset {current.offset}",
                          headers={"Upload-Offset": str(current.offset)}, offset=current.offset)
    raise _busy(current)


def _release(store: SyncStore, upload: UploadRow, token: str, offset: int, now: int) -> bool:
    with store.transaction() as tx:
        return tx.release_upload(upload.id, token, offset, now)


async def append(store: SyncStore, blobs: BlobStore, settings: Settings, p: Principal,
                 upload_id: str, offset_header: str | None, content_type: str | None,
                 chunks: AsyncIterator[bytes], content_encoding: str | None = None) -> UploadRow:
    if (content_type or "").split(";")[0].strip() != "application/offset+octet-stream":
        raise DomainError("unsupported_media_type",
                          "PATCH needs Content-Type: application/offset+octet-stream")
    if (content_encoding or "identity").strip().lower() != "identity":
        raise DomainError("unsupported_encoding",
                          "upload bytes are sent as they are (Content-Encoding: identity)",
                          got=content_encoding)
    offset = _int_header(offset_header, "Upload-Offset")
    upload = await to_thread.run_sync(get_upload, store, p, upload_id, settings)
    if offset != upload.offset:
        raise DomainError("offset_mismatch", f"the upload is at offset {upload.offset}",
                          headers={"Upload-Offset": str(upload.offset)}, offset=upload.offset)
    if upload.offset >= upload.length:
        return upload
    token = uuid7()
    await to_thread.run_sync(_claim, store, settings, p, upload, offset, token)
    outcome = await _receive(store, blobs, settings, upload, token, chunks)
    if outcome.error is not None and not isinstance(outcome.error, Exception):
        # Cancelled (the server is stopping): settle here, an await would not run.
        return _settle(store, blobs, settings, p, upload, token, outcome)
    return await to_thread.run_sync(_settle, store, blobs, settings, p, upload, token, outcome)


@dataclass
class _Outcome:
    written: int = 0
    error: BaseException | None = None  # the cut connection, the full disk
    too_large: bool = False


async def _receive(store: SyncStore, blobs: BlobStore, settings: Settings, upload: UploadRow,
                   token: str, chunks: AsyncIterator[bytes]) -> _Outcome:
    """Write the body after the offset, fsynced; never raises: what happened
    is in the outcome, for ``_settle`` to answer under the lock."""
    out = _Outcome()
    path = blobs.partial(upload.id)
    room = upload.length - upload.offset
    renewed = settings.now_ms()
    try:
        with open(path, "r+b" if path.exists() else "wb") as f:
            f.seek(upload.offset)
            f.truncate()
            try:
                async for chunk in chunks:
                    if len(chunk) > room - out.written:
                        out.too_large = True
                        break
                    now = settings.now_ms()
                    if now - renewed > settings.upload_lock_ms // 2:
                        renewed = now
                        with store.transaction() as tx:
                            if not tx.renew_upload_claim(upload.id, token, now):
                                out.error = _busy(upload)
                                return out  # another request owns the file now
                    _write(f, chunk)
                    out.written += len(chunk)
            except BaseException as exc:  # reported by _settle
                out.error = exc
            if out.too_large or (out.error is not None and is_disk_full(out.error)):
                # Nothing half-written: back to the offset the row holds.
                f.seek(upload.offset)
                f.truncate()
                out.written = 0
            try:
                f.flush()
                os.fsync(f.fileno())
            except OSError as exc:
                if out.error is None:
                    out.error = exc
                f.truncate(upload.offset)
                out.written = 0
    except OSError as exc:  # opening or truncating the partial file
        out.error = exc
        out.written = 0
    return out


def _settle(store: SyncStore, blobs: BlobStore, settings: Settings, p: Principal,
            upload: UploadRow, token: str, out: _Outcome) -> UploadRow:
    """Move the offset by what reached the disk (finishing the blob on the last
    byte) and drop the lock; then answer the error, if any."""
    if isinstance(out.error, DomainError) and out.error.code == "upload_busy":
        raise out.error  # the lock went to another request: its file, its offset
    offset = upload.offset + out.written
    now = settings.now_ms()
    if offset == upload.length and out.error is None and not out.too_large:
        _finish(store, blobs, settings, p, upload, token, now)
        upload.offset, upload.updated_at = offset, now
        return upload
    if not _release(store, upload, token, offset, now):
        raise _busy(upload)
    upload.offset, upload.updated_at = offset, now
    if out.too_large:
        raise DomainError("too_large", "more bytes than Upload-Length; nothing of this request "
                          "was kept", headers={"Upload-Offset": str(upload.offset)})
    if out.error is not None:
        if is_disk_full(out.error):
            raise storage_full("the photo store is full; nothing of this request was kept, "
                               "send it again later", offset=upload.offset,
                               headers={"Upload-Offset": str(upload.offset)})
        raise out.error
    return upload


def _finish(store: SyncStore, blobs: BlobStore, settings: Settings, p: Principal,
            upload: UploadRow, token: str, now: int) -> None:
    """The last byte arrived: check the sha256, then in one transaction move the
    file into place, record the blob and its holder, and mark the upload
    complete (HEAD says complete only once the blob can be served)."""
    digest = hashlib.sha256()
    with open(blobs.partial(upload.id), "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != upload.sha256:
        blobs.partial(upload.id).unlink(missing_ok=True)
        with store.transaction() as tx:
            tx.delete_upload(upload.id)
        raise DomainError("checksum_mismatch",
                          "the bytes do not match the sha256 given; the upload was discarded",
                          expected=upload.sha256, got=digest.hexdigest())
    with store.transaction() as tx:
        # Under the writer's lock: ``collect`` cannot take the blob away between
        # the file move and its row.
        if blobs.has(upload.sha256):
            blobs.partial(upload.id).unlink(missing_ok=True)
        else:
            blobs.promote(upload.id, upload.sha256)
        tx.put_blob(upload.sha256, upload.length, now, p.device_id)
        tx.touch_blob(upload.sha256)
        tx.add_blob_holder(upload.sha256, p.user_id, now)
        # A phone handed over with a photo not yet sent: the next user sends
        # it, and whoever recorded it on this phone held the bytes too.
        for user_id in tx.photo_creators(upload.sha256, p.device_id):
            tx.add_blob_holder(upload.sha256, user_id, now)
        if not tx.release_upload(upload.id, token, upload.length, now):
            raise _busy(upload)


def terminate(store: SyncStore, blobs: BlobStore, settings: Settings, p: Principal,
              upload_id: str) -> None:
    upload = get_upload(store, p, upload_id)
    token = uuid7()
    now = settings.now_ms()
    with store.transaction() as tx:
        if not tx.claim_upload(upload.id, upload.offset, token, now,
                               now - settings.upload_lock_ms):
            raise _busy(upload)  # a PATCH is writing it (or moved it on)
        tx.delete_upload(upload.id)
    blobs.partial(upload.id).unlink(missing_ok=True)


def blob_for(store: SyncStore, blobs: BlobStore, p: Principal, sha256: str) -> Path:
    """The blob's path if this caller sent its bytes, or may see a photo record
    naming it whose creator sent them."""
    if not SHA256.match(sha256) or not store.has_blob(sha256) or not blobs.has(sha256):
        raise DomainError("not_found", "no such photo")
    if not store.blob_visible(sha256, p.visibility()):
        raise DomainError("not_found", "no such photo")
    return blobs.path(sha256)


# --- collection -----------------------------------------------------------------


@dataclass
class Collected:
    expired_uploads: int = 0
    stray_partials: int = 0
    orphan_blobs: int = 0
    bytes_freed: int = 0


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def collect(store: SyncStore, blobs: BlobStore, settings: Settings) -> Collected:
    """Remove expired uploads (rows and partial files), partial files no upload
    names, and blobs no live photo record has named for ``orphan_grace_ms``.
    Safe beside live requests and other processes; run by the server every
    ``gc_interval_ms`` and by ``sync-server gc``."""
    now = settings.now_ms()
    done = Collected()
    with store.transaction() as tx:
        # expired: ``expires_at <= now``, as ``get_upload`` sees it
        expired = tx.sweep_uploads(now - settings.upload_expiry_ms + 1,
                                   now - settings.upload_lock_ms)
    for upload in expired:
        path = blobs.partial(upload.id)
        done.bytes_freed += _size(path)
        path.unlink(missing_ok=True)
    done.expired_uploads = len(expired)

    # A partial file without its row (a crash between the two): after the expiry.
    for path in (blobs.root / "partial").iterdir():
        if path.name.startswith(".") or store.get_upload(path.name) is not None:
            continue
        try:
            if path.stat().st_mtime * 1000 > now - settings.upload_expiry_ms:
                continue
        except OSError:
            continue
        done.bytes_freed += _size(path)
        path.unlink(missing_ok=True)
        done.stray_partials += 1

    _empty_trash(store, blobs)
    moved: list[str] = []
    try:
        with store.transaction() as tx:
            for sha in tx.sweep_orphan_blobs(now, settings.orphan_grace_ms):
                if blobs.has(sha):
                    os.replace(blobs.path(sha), blobs.trash(sha))
                    moved.append(sha)
                done.orphan_blobs += 1
    except BaseException:
        for sha in moved:  # rolled back: the rows are still there, so are the files
            os.replace(blobs.trash(sha), blobs.path(sha))
        raise
    for sha in moved:
        done.bytes_freed += _size(blobs.trash(sha))
        blobs.trash(sha).unlink(missing_ok=True)
    if done.expired_uploads or done.stray_partials or done.orphan_blobs:
        log.info("collected %d expired uploads, %d stray partial files, %d orphan blobs "
                 "(%d bytes)", done.expired_uploads, done.stray_partials, done.orphan_blobs,
                 done.bytes_freed)
    return done


def _empty_trash(store: SyncStore, blobs: BlobStore) -> None:
    """Files left in the trash by a process that died mid-collection: put back
    those whose row survived (the transaction did not commit), drop the rest."""
    for path in (blobs.root / "trash").iterdir():
        if SHA256.match(path.name) and store.has_blob(path.name) and not blobs.has(path.name):
            blobs.path(path.name).parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, blobs.path(path.name))
        else:
            path.unlink(missing_ok=True)
