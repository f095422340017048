"""Lookups the office services share: names of users, devices and places; photos."""

from __future__ import annotations

from shared_schema.office import Author, PhotoInfo
from sync_server.store.base import StoredRecord, SyncStore


def author(store: SyncStore, user_id: str | None, device_id: str | None) -> Author:
    user = store.get_user(user_id) if user_id else None
    device = store.get_device(device_id) if device_id else None
    return Author(user_id=user_id, username=user.username if user else None,
                  display_name=user.display_name if user else None, device_id=device_id,
                  device_name=device.name if device else None)


def name_of(store: SyncStore, entity: str, id: str | None) -> str | None:
    rec = store.get_record(entity, id) if id else None
    return rec.data.get("name") if rec else None


def photos_of(store: SyncStore, owner_id: str) -> list[PhotoInfo]:
    photos = [r for r in store.children_of(owner_id, "photo") if not r.deleted]
    held = store.blobs_in([p.data["sha256"] for p in photos if p.data.get("sha256")])
    return [PhotoInfo(id=p.id, sha256=p.data.get("sha256"), item_code=p.data.get("item_code"),
                      taken_at=p.data.get("taken_at"), lat=p.data.get("lat"),
                      lon=p.data.get("lon"), caption=p.data.get("caption"),
                      url=f"/api/v1/blobs/{p.data['sha256']}" if p.data.get("sha256") else None,
                      received=p.data.get("sha256") in held)
            for p in photos]


def live(rec: StoredRecord | None) -> bool:
    return rec is not None and not rec.deleted
