"""Reference data the server publishes itself (users), and finding villages
and departments by name or id.

Users live in the ``users`` table (with their secrets); every user is also
published as a ``user`` reference record (no secrets) so devices can show
who recorded an inspection or a case event. ``publish_user`` is the one
place that does it: the demo seed and ``sync-server user add`` both call it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable

from sync_server.domain.registry.service import ServerWriter
from sync_server.store.base import StoredRecord, StoreTx, SyncStore, UserRow

#: How demo names are marked: "梁滩村(演示)" (ASCII or full-width brackets).
DEMO_MARK = re.compile(r"\s*[(（]演示[)）]\s*$")


def publish_user(tx: StoreTx, user: UserRow, now_ms: int) -> StoredRecord:
    """Write ``user`` as a reference record (id = the user's id, no secrets)."""
    return ServerWriter(tx, now_ms).upsert(
        "user", user.id,
        {"username": user.username, "display_name": user.display_name, "role": user.role},
    )


class ReferenceLookupError(ValueError):
    """A name or id that names no record, or more than one."""


def plain_name(name: str) -> str:
    """A name without its demo marker: "梁滩村(演示)" → "梁滩村"."""
    return DEMO_MARK.sub("", name.strip())


@dataclass
class NameIndex:
    """Live records of one reference entity, found by id, exact name, or
    name without the demo marker."""

    entity: str
    records: list[StoredRecord] = field(default_factory=list)

    @classmethod
    def of(cls, store: SyncStore, entity: str) -> "NameIndex":
        return cls(entity, [r for r in store.records(entity) if not r.deleted])

    def name_of(self, id: str) -> str:
        for r in self.records:
            if r.id == id:
                return r.data.get("name") or id
        return id

    def find(self, text: str) -> StoredRecord | None:
        """The record ``text`` names; None if none; ``ReferenceLookupError`` if ambiguous."""
        text = str(text).strip()
        if not text:
            return None
        for r in self.records:
            if r.id == text:
                return r
        for key in (lambda r: (r.data.get("name") or "").strip(),
                    lambda r: plain_name(r.data.get("name") or "")):
            hits = [r for r in self.records if key(r) in (text, plain_name(text))]
            if len(hits) > 1:
                raise ReferenceLookupError(
                    f"{text!r} names {len(hits)} {self.entity} records; use the id instead")
            if hits:
                return hits[0]
        return None

    def resolve(self, texts: Iterable[str]) -> list[str]:
        """Ids for names or ids; ``ReferenceLookupError`` names every unknown one."""
        ids: list[str] = []
        unknown: list[str] = []
        for text in texts:
            rec = self.find(text)
            if rec is None:
                unknown.append(text)
            elif rec.id not in ids:
                ids.append(rec.id)
        if unknown:
            known = ", ".join(r.data.get("name") or r.id for r in self.records) or "none"
            raise ReferenceLookupError(
                f"unknown {self.entity}: {', '.join(unknown)} (known: {known})")
        return ids
