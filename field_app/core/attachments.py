"""Photos of records: ``Attachments``, a part of ``Device``.

A camera photo is processed (``photos``), stored once by its sha256, named
by a ``photo`` record and queued for upload, in one local transaction.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from field_app.core.api import ApiClient, expect_ok
from field_app.core.checks import PHOTO_OWNERS, clean, refuse
from field_app.core.errors import DeviceError, InvalidInput, LoginRequired, NotFound
from field_app.core.outbox import Outbox
from field_app.core.photos import process_photo, store_photo, write_atomically
from field_app.core.settings import DeviceSettings
from field_app.core.store import LocalStore, RecordRow, Tx
from shared_schema import fields as field_rules
from shared_schema.checklists import ChecklistTemplate
from shared_schema.ids import uuid7


class Attachments:
    """Photo records and their files (``Device`` is one)."""

    store: LocalStore
    settings: DeviceSettings
    outbox: Outbox
    photos_dir: Path

    if TYPE_CHECKING:  # given by the other parts of ``Device``
        def _user(self, tx: Tx) -> dict[str, Any]: ...

        def _draft(self, tx: Tx, insp_id: str) -> tuple[RecordRow, ChecklistTemplate]: ...

    def photo_path(self, sha256: str) -> Path:
        return self.photos_dir / f"{sha256}.jpg"

    def fetch_photo(self, sha256: str) -> Path:
        """The local file of a photo, downloaded first (online) if another
        device took it. The bytes are checked against the sha256."""
        path = self.photo_path(sha256)
        if path.exists():
            return path
        with self.store.read() as tx:
            url, token = tx.get("server_url"), tx.get("token")
        if not url or not token:
            raise LoginRequired("not_logged_in", "log in to download photos")
        with ApiClient(url, self.settings, token) as api:
            r = expect_ok(api.call("GET", f"/api/v1/blobs/{sha256}", "photo download"),
                          "photo download")
        if hashlib.sha256(r.content).hexdigest() != sha256:
            raise DeviceError("checksum_mismatch", "the downloaded photo does not match its hash")
        write_atomically(path, r.content)
        return path


    def attach_photo(self, owner_id: str, path_or_bytes: str | Path | bytes,
                     caption: str | None = None, lat: float | None = None,
                     lon: float | None = None, item_code: str | None = None,
                     taken_at: int | None = None) -> str:
        """Process a camera photo and attach it to an inspection (optionally a
        checklist item), a case, a site or a case event. Returns the photo id."""
        if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
            raw = bytes(path_or_bytes)
        else:
            try:
                raw = Path(path_or_bytes).read_bytes()
            except OSError as exc:
                raise InvalidInput("photo_unreadable", f"cannot read the photo: {exc}") from None
        s = self.settings
        photo = process_photo(raw, s.photo_max_px, s.jpeg_quality, s.photo_max_bytes)
        path = store_photo(self.photos_dir, photo, raw if s.keep_originals else None)
        photo_id = uuid7(s.now_ms)
        with self.store.write() as tx:
            self._user(tx)
            owner = tx.find(owner_id, PHOTO_OWNERS)
            if owner is None or owner.deleted:
                raise NotFound("unknown_owner", f"no inspection, case or site {owner_id}")
            if owner.entity == "inspection":
                _, template = self._draft(tx, owner_id)
                if item_code is not None and template.item(item_code) is None:
                    raise InvalidInput("unknown_template_item",
                                       f"template {template.id} has no item {item_code!r}",
                                       item_code=item_code)
            elif item_code is not None:
                raise InvalidInput("invalid_field", "item_code is only for inspection photos")
            fields = clean({
                "sha256": photo.sha256, "owner_entity": owner.entity, "owner_id": owner_id,
                "item_code": item_code, "caption": caption, "bytes": len(photo.data),
                "taken_at": taken_at or photo.taken_at or s.now_ms(),
                "lat": lat if lat is not None else photo.lat,
                "lon": lon if lon is not None else photo.lon,
            })
            refuse(field_rules.refuse_values("photo", fields))
            existing = tx.photo(photo.sha256)
            if existing is None:
                tx.add_photo(photo.sha256, str(path), len(photo.data), photo.width, photo.height)
            elif existing.state == "discarded":
                tx.update_photo(photo.sha256, state="pending", upload_url=None)
            self.outbox.insert(tx, "photo", photo_id, fields)
        return photo_id

    def delete_photo(self, photo_id: str) -> None:
        """Delete a photo of a draft inspection (its author only, while the
        inspection is editable: a draft, or a returned one reopened). The
        record is tombstoned by a ``delete`` mutation, so the item's photo
        count (and the missing list) drops at once. Its upload leaves the
        queue when no other live photo record on this device names the same
        bytes; the local file stays (the quarantine may give the photo back)
        and the server's copy is left to its orphan collection."""
        with self.store.write() as tx:
            row = tx.row("photo", photo_id)
            if row is None or row.deleted:
                raise NotFound("unknown_photo", f"no photo {photo_id} on this device",
                               id=photo_id)
            if row.data.get("owner_entity") != "inspection":
                raise DeviceError("wrong_op", "only a photo of a draft inspection can be deleted",
                                  owner_entity=row.data.get("owner_entity"))
            self._draft(tx, row.data.get("owner_id") or "")
            self.outbox.delete(tx, row)
            sha = row.data.get("sha256") or ""
            queued = tx.photo(sha)
            if queued is None or queued.state not in ("pending", "quarantined") or tx.rows_with(
                    "photo", sha256=sha):
                return  # sent already, or other photos still need these bytes
            if queued.state == "quarantined":  # its refused upload goes with it
                tx.resolve_quarantine(f"photo:{sha}", "discarded")
            tx.update_photo(sha, state="discarded", upload_url=None)
