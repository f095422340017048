"""Writes made by the server itself: seed data, registry imports, users as
reference records. They go through the same per-field write path as pushes,
so devices pull them with revisions like any other change."""

from __future__ import annotations

from typing import Any

from shared_schema.calendar import CALENDAR_ID
from shared_schema.entities import check_fields
from shared_schema.hlc import HybridClock
from shared_schema.merge import Author
from shared_schema.paths import flatten
from sync_server.domain.sync.records import (
    new_record,
    rescope_children,
    keys_of,
    scope_keys,
    set_keys,
    write_fields,
)
from sync_server.store.base import StoreTx, StoredRecord

SERVER = Author(user_id="server", device_id="server")


class ServerWriter:
    """Upserts records inside one transaction, stamped by the server's clock."""

    def __init__(self, tx: StoreTx, now_ms: int, author: Author = SERVER) -> None:
        self.tx = tx
        self.now = now_ms
        self.author = author
        self.clock = HybridClock(author.device_id, now_ms=lambda: now_ms)

    def upsert(self, entity: str, id: str, fields: dict[str, Any]) -> StoredRecord:
        fields = check_fields(entity, fields)
        stored = self.tx.get_record(entity, id)
        record = stored or new_record(entity, id, self.now, None)
        keys = scope_keys(self.tx, entity, id, {**record.data, **fields})
        moved = stored is not None and keys_of(stored) != keys
        set_keys(record, keys)
        base = {k: record.meta[k].rev if k in record.meta else 0 for k in flatten(entity, fields)}
        write_fields(self.tx, record, fields, base, str(self.clock.tick()), self.author,
                     self.now, mutation_id="server")
        if moved and entity == "site":
            rescope_children(self.tx, id)
        return record


def publish_calendar(tx: StoreTx, now_ms: int, data: dict[str, Any]) -> bool:
    """Make the working-day calendar (``CalendarData`` as builtins) the
    ``work_calendar`` reference record every device pulls, so phones count
    case deadlines over the calendar the office ledger uses. Idempotent: an
    unchanged calendar writes nothing. Returns whether it changed."""
    before = tx.get_record("work_calendar", CALENDAR_ID)
    record = ServerWriter(tx, now_ms).upsert("work_calendar", CALENDAR_ID, {"body": data})
    return before is None or record.rev != before.rev


def publish_templates(tx: StoreTx, now_ms: int) -> int:
    """Make every checklist template a ``checklist_template`` reference record.

    Idempotent: an unchanged template writes nothing. Returns how many
    templates changed."""
    import msgspec

    from shared_schema.checklists import load_templates

    writer = ServerWriter(tx, now_ms)
    changed = 0
    for template in load_templates().values():
        before = tx.get_record("checklist_template", template.id)
        rev = before.rev if before else None
        record = writer.upsert("checklist_template", template.id, {
            "kind": template.kind, "version": template.version,
            "body": msgspec.to_builtins(template),
        })
        changed += record.rev != rev
    return changed
