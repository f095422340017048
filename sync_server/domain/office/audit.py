"""The audit log: reviews, conflict resolutions, case intake and transitions,
calendar edits, user and device admin — who, what, when."""

from __future__ import annotations

import datetime as dt

from sync_server.domain.principal import Principal
from sync_server.domain.office import access
from sync_server.domain.office.params import day_start_ms
from shared_schema.audit import AUDIT_ACTIONS
from shared_schema.office import AuditList, Page
from sync_server.store.base import SyncStore

ACTIONS = AUDIT_ACTIONS


def list_audit(store: SyncStore, p: Principal, *, action: str | None, entity_id: str | None,
               date_from: dt.date | None, date_to: dt.date | None, limit: int,
               offset: int) -> AuditList:
    access.require(p, access.AUDIT_READERS, "read the audit log")
    since = day_start_ms(date_from) if date_from else None
    until = day_start_ms(date_to + dt.timedelta(days=1)) if date_to else None
    rows = store.list_audit(action=action, entity_id=entity_id, since=since, until=until,
                            limit=limit + 1, offset=offset)
    items = rows[:limit]
    # total: this page's end, plus one when there is more (the log can be long)
    return AuditList(items=items, page=Page(total=offset + len(rows), limit=limit,
                                            offset=offset))
