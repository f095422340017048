"""What the printed documents say, read from the store with the office's rights.

Office and leader roles only (``access.OFFICE_LEADER``: the whole township, so the
scope is the role); an unknown or deleted id is 404 ``not_found``; personal data
appear as the office console shows them (in clear to these roles). Dates count at
server time (``shared_schema.servertime``). Photo bytes are read through
``photo_bytes`` only.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from shared_schema.checklists import ChecklistTemplate, load_templates
from shared_schema.servertime import submitted_ms
from sync_server.domain.calendar.service import safe_local_date
from sync_server.domain.errors import DomainError
from sync_server.domain.office import access
from sync_server.domain.office.common import author, name_of
from sync_server.domain.principal import Principal
from sync_server.domain.uploads import service as uploads
from sync_server.domain.uploads.service import BlobStore
from sync_server.settings import Settings
from sync_server.store.base import StoredRecord, SyncStore

#: A rectification notice without a deadline on the inspection gives this many
#: calendar days from the submission (server time); docs/office-api.md.
DEFAULT_RECTIFICATION_DAYS = 15
#: The inspection field holding an office- or inspector-set rectification deadline
#: (YYYY-MM-DD); read when present.
DEADLINE_FIELDS = ("rectification_deadline", "rectification_due")
#: Thumbnails printed per inspection, and their longest side in pixels.
MAX_THUMBNAILS = 12
THUMB_PX = 360


@dataclass
class InspectionFacts:
    """An inspection and everything its record and notice print."""

    inspection: dict[str, Any]
    template: ChecklistTemplate | None
    site: dict[str, Any]
    village: str | None
    department: str | None
    inspector: str
    submitted_on: dt.date | None
    photos: list[tuple[bytes, str]] = field(default_factory=list)
    photos_missing: int = 0


@dataclass
class CaseFacts:
    case: dict[str, Any]
    village: str | None
    site: str | None
    events: list[StoredRecord]
    users: dict[str, str]


def _live(store: SyncStore, entity: str, id_: str, what: str) -> StoredRecord:
    rec = store.get_record(entity, id_)
    if rec is None or rec.deleted:
        raise DomainError("not_found", f"no such {what}", id=id_)
    return rec


def photo_bytes(store: SyncStore, blobs: BlobStore, p: Principal, sha256: str) -> bytes | None:
    """The bytes of one photo the caller may see, None when the server has none yet.
    The one call into the uploads room (its blob store may change behind it)."""
    try:
        with uploads.blob_for(store, blobs, p, sha256) as stream:
            return stream.read()
    except (DomainError, OSError):
        return None


def thumbnail(data: bytes) -> bytes | None:
    """A JPEG at most ``THUMB_PX`` on its longest side; None when not an image."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.thumbnail((THUMB_PX, THUMB_PX))
            out = io.BytesIO()
            img.convert("RGB").save(out, format="JPEG", quality=80)
            return out.getvalue()
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def inspection_facts(store: SyncStore, blobs: BlobStore, settings: Settings, p: Principal,
                     inspection_id: str, with_photos: bool = True) -> InspectionFacts:
    access.require(p, access.OFFICE_LEADER, "print inspection documents")
    rec = _live(store, "inspection", inspection_id, "inspection")
    d = rec.data
    site_rec = store.get_record("site", d.get("site_id") or "")
    site = site_rec.data if site_rec is not None else {}
    who = author(store, d.get("inspector_id") or rec.created_by_user, rec.created_by_device)
    facts = InspectionFacts(
        inspection=d, template=load_templates().get(d.get("template_id") or ""), site=site,
        village=name_of(store, "village", site_rec.village_id if site_rec else None),
        department=name_of(store, "department", site_rec.department_id if site_rec else None),
        inspector=who.display_name or who.username or "—",
        submitted_on=safe_local_date(submitted_ms(d, settings.max_backdate_ms)
                                     or d.get("started_at")))
    if with_photos:
        photos = sorted((r for r in store.children_of(rec.id, "photo")
                         if not r.deleted and r.data.get("sha256")),
                        key=lambda r: (r.data.get("item_code") or "", r.data.get("taken_at") or 0))
        for photo in photos[:MAX_THUMBNAILS]:
            raw = photo_bytes(store, blobs, p, photo.data["sha256"])
            small = thumbnail(raw) if raw is not None else None
            if small is None:
                facts.photos_missing += 1
            else:
                facts.photos.append((small, photo.data.get("item_code") or "现场照片"))
        facts.photos_missing += max(0, len(photos) - MAX_THUMBNAILS)
    return facts


def rectification_deadline(facts: InspectionFacts, c26_date: str | None) -> dt.date | None:
    """The deadline of the notice: the inspection's deadline field, else the date
    the inspector set on the rectification item, else the submission day plus
    ``DEFAULT_RECTIFICATION_DAYS``."""
    for name in DEADLINE_FIELDS:
        day = _iso_day(facts.inspection.get(name))
        if day is not None:
            return day
    day = _iso_day(c26_date)
    if day is not None:
        return day
    if facts.submitted_on is None:
        return None
    return facts.submitted_on + dt.timedelta(days=DEFAULT_RECTIFICATION_DAYS)


def _iso_day(value: Any) -> dt.date | None:
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    if isinstance(value, int) and not isinstance(value, bool):
        return safe_local_date(value)
    return None


def case_facts(store: SyncStore, p: Principal, case_id: str) -> CaseFacts:
    access.require(p, access.OFFICE_LEADER, "print case documents")
    rec = _live(store, "case", case_id, "case")
    events = sorted((e for e in store.children_of(rec.id, "case_event") if not e.deleted),
                    key=lambda e: e.data.get("hlc") or "")
    users: dict[str, str] = {}
    for e in events:
        uid = e.data.get("author_id")
        if uid and uid not in users:
            user = store.get_user(uid)
            users[uid] = (user.display_name or user.username) if user else "—"
    return CaseFacts(case=rec.data, village=name_of(store, "village", rec.village_id),
                     site=name_of(store, "site", rec.data.get("site_id")), events=events,
                     users=users)

