"""Content-addressed photo blobs and tus 1.0 resumable uploads.

An upload is a row with its offset (the store's) plus its partial bytes (the
blob store's, ``sync_server.blobs``: a directory or PostgreSQL, seen by every
worker process). Bytes are appended and made durable before the offset moves,
so a cut connection resumes from what was kept, on whichever process. On the
last byte the sha256 is checked; a verified blob is promoted once.

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
import logging
import re
from dataclasses import dataclass
from typing import AsyncIterator, BinaryIO

from anyio import to_thread

from shared_schema.ids import uuid7
from sync_server.blobs import BlobStore as Blobs, DirectoryBlobs, PartialWriter
from sync_server.observability import UPLOAD_BYTES, UPLOADS
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


#: The directory engine under its old name (the demo seed and tests build it).
BlobStore = DirectoryBlobs


def _write(w: PartialWriter, data: bytes) -> None:
    """Append ``data`` to an upload's partial bytes (the one place they are written)."""
    w.write(data)


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


def create_upload(store: SyncStore, blobs: Blobs, settings: Settings, p: Principal,
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
            blobs.start_partial(upload.id)
        tx.put_upload(upload)
    UPLOADS.labels("created" if upload.offset < length else "deduplicated").inc()
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


async def append(store: SyncStore, blobs: Blobs, settings: Settings, p: Principal,
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


async def _receive(store: SyncStore, blobs: Blobs, settings: Settings, upload: UploadRow,
                   token: str, chunks: AsyncIterator[bytes]) -> _Outcome:
    """Write the body after the offset, fsynced; never raises: what happened
    is in the outcome, for ``_settle`` to answer under the lock."""
    out = _Outcome()
    room = upload.length - upload.offset
    renewed = settings.now_ms()
    try:
        w = await to_thread.run_sync(blobs.writer, upload.id, upload.offset)
    except OSError as exc:  # opening or truncating the partial bytes
        out.error = exc
        return out
    try:
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
                            return out  # another request owns the bytes now
                if w.blocking:
                    await to_thread.run_sync(_write, w, chunk)
                else:
                    _write(w, chunk)
                out.written += len(chunk)
        except BaseException as exc:  # reported by _settle
            out.error = exc
        if w.blocking and (out.error is None or isinstance(out.error, Exception)):
            await to_thread.run_sync(_keep, w, out)
        else:  # cancelled (the server is stopping): an await would not run
            _keep(w, out)
    finally:
        w.close()
    UPLOAD_BYTES.inc(out.written)
    return out


def _keep(w: PartialWriter, out: _Outcome) -> None:
    """Make what was written durable, or take it all back (too many bytes, a
    full disk, a failing sync): the row's offset must name only kept bytes."""
    try:
        if out.too_large or (out.error is not None and is_disk_full(out.error)):
            # Nothing half-written: back to the offset the row holds.
            w.truncate()
            out.written = 0
        w.sync()
    except OSError as exc:
        if out.error is None:
            out.error = exc
        try:
            w.truncate()
        except OSError:
            pass  # the row's offset stays; the next PATCH truncates again
        out.written = 0


def _settle(store: SyncStore, blobs: Blobs, settings: Settings, p: Principal,
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


def _finish(store: SyncStore, blobs: Blobs, settings: Settings, p: Principal,
            upload: UploadRow, token: str, now: int) -> None:
    """The last byte arrived: check the sha256, then in one transaction move the
    file into place, record the blob and its holder, and mark the upload
    complete (HEAD says complete only once the blob can be served)."""
    got = blobs.partial_sha256(upload.id)
    if got != upload.sha256:
        blobs.discard_partial(upload.id)
        with store.transaction() as tx:
            tx.delete_upload(upload.id)
        raise DomainError("checksum_mismatch",
                          "the bytes do not match the sha256 given; the upload was discarded",
                          expected=upload.sha256, got=got)
    with store.transaction() as tx:
        # Under the writer's lock: ``collect`` cannot take the blob away between
        # the file move and its row.
        if blobs.has(upload.sha256):
            blobs.discard_partial(upload.id)
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
    UPLOADS.labels("completed").inc()


def terminate(store: SyncStore, blobs: Blobs, settings: Settings, p: Principal,
              upload_id: str) -> None:
    upload = get_upload(store, p, upload_id)
    token = uuid7()
    now = settings.now_ms()
    with store.transaction() as tx:
        if not tx.claim_upload(upload.id, upload.offset, token, now,
                               now - settings.upload_lock_ms):
            raise _busy(upload)  # a PATCH is writing it (or moved it on)
        tx.delete_upload(upload.id)
    blobs.discard_partial(upload.id)


def check_blob(store: SyncStore, blobs: Blobs, p: Principal, sha256: str) -> int:
    """The blob's size if this caller sent its bytes, or may see a photo record
    naming it whose creator sent them; else ``not_found``."""
    size = blobs.size(sha256) if SHA256.match(sha256) and store.has_blob(sha256) else None
    if size is None or not store.blob_visible(sha256, p.visibility()):
        raise DomainError("not_found", "no such photo")
    return size


def blob_for(store: SyncStore, blobs: Blobs, p: Principal, sha256: str) -> BinaryIO:
    """The photo's bytes as a readable stream (the caller closes it), under the
    rights of ``check_blob``: the one way a photo is read, whichever engine
    holds it (downloads, documents)."""
    check_blob(store, blobs, p, sha256)
    try:
        return blobs.open(sha256)
    except FileNotFoundError:  # collected between the check and the read
        raise DomainError("not_found", "no such photo") from None


# --- collection -----------------------------------------------------------------


@dataclass
class Collected:
    expired_uploads: int = 0
    stray_partials: int = 0
    orphan_blobs: int = 0
    bytes_freed: int = 0


def collect(store: SyncStore, blobs: Blobs, settings: Settings) -> Collected:
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
        done.bytes_freed += blobs.discard_partial(upload.id)
    done.expired_uploads = len(expired)

    # Partial bytes without their row (a crash between the two): after the expiry.
    for upload_id in list(blobs.stray_partials(now - settings.upload_expiry_ms)):
        if store.get_upload(upload_id) is not None:
            continue
        done.bytes_freed += blobs.discard_partial(upload_id)
        done.stray_partials += 1

    # Blobs left in the trash by a process that died mid-collection: back
    # those whose row survived (that transaction did not commit), drop the rest.
    blobs.recover_trash(store.has_blob)
    moved: list[str] = []
    try:
        with store.transaction() as tx:
            for sha in tx.sweep_orphan_blobs(now, settings.orphan_grace_ms):
                if blobs.has(sha):
                    blobs.trash(sha)
                    moved.append(sha)
                done.orphan_blobs += 1
    except BaseException:
        for sha in moved:  # rolled back: the rows are still there, so are the bytes
            blobs.untrash(sha)
        raise
    for sha in moved:
        done.bytes_freed += blobs.purge(sha)
    if done.expired_uploads or done.stray_partials or done.orphan_blobs:
        log.info("collected %d expired uploads, %d stray partial files, %d orphan blobs "
                 "(%d bytes)", done.expired_uploads, done.stray_partials, done.orphan_blobs,
                 done.bytes_freed)
    return done

