"""What a submitted inspection sets off (docs/inspections.md), run by the one
write path (``sync/apply.py``) inside the push's transaction, so a warning, a
复查 task and the site's risk level commit with the submission or not at all:

* a ``risk_warning`` record when the answers reveal risk
  (``shared_schema.risk.assess``), and the site's ``risk_level`` raised;
* a ``reinspection`` task when the inspection leaves items to rectify
  (``shared_schema.risk.rectification``), due on the answer's date or 15 days
  after the submission (server time, China date);
* for a re-inspection (``reinspection_of``): the task closed when its items
  are fixed, else extended to the new inspection's deadline, with a history
  row (and no second task).

Every record is written by the server (``ServerWrites``: server-owned fields,
revisions, pulled by devices in the site's scope). A ``reinspection_of`` that
names no task of the same site is refused (``unknown_reinspection``).

It lives in the sync package, beside the write path that calls it, and uses
only its record writes: the office side (``domain/risk``) reads what it made.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from shared_schema import risk
from shared_schema.calendar import LOCAL
from shared_schema.checklists import load_templates
from shared_schema.servertime import SUBMITTED_RECEIVED_AT
from shared_schema.entities import check_fields
from shared_schema.hlc import HybridClock
from shared_schema.merge import Author
from shared_schema.paths import flatten
from sync_server.domain.errors import Rejection
from sync_server.domain.principal import Principal
from sync_server.domain.sync.records import new_record, scope_keys, set_keys, write_fields
from sync_server.store.base import StoreTx, StoredRecord

SERVER = Author(user_id="server", device_id="server")


class ServerWrites:
    """Server-owned fields written into records in one transaction, at the
    server's clock, based on what is stored (never a conflict)."""

    def __init__(self, tx: StoreTx, now_ms: int) -> None:
        self.tx = tx
        self.now = now_ms
        self.clock = HybridClock(SERVER.device_id, now_ms=lambda: now_ms)

    def upsert(self, entity: str, id: str, fields: dict[str, Any]) -> StoredRecord:
        fields = check_fields(entity, fields)
        record = self.tx.get_record(entity, id) or new_record(entity, id, self.now, None)
        set_keys(record, scope_keys(self.tx, entity, id, {**record.data, **fields}))
        base = {k: record.meta[k].rev if k in record.meta else 0 for k in flatten(entity, fields)}
        write_fields(self.tx, record, fields, base, str(self.clock.tick()), SERVER, self.now,
                     mutation_id="server")
        return record

#: Ids of the records an inspection sets off: derived from the inspection id,
#: so a replayed or re-applied submission finds the same record.
_NS = uuid.UUID("6f1d7f5e-2c55-4b8e-9a57-1f0d9b0c7e17")


def derived_id(kind: str, inspection_id: str) -> str:
    return str(uuid.uuid5(_NS, f"{kind}:{inspection_id}"))


def china_day(ms: int) -> dt.date:
    return dt.datetime.fromtimestamp(ms / 1000, LOCAL).date()


def check_link(tx: StoreTx, p: Principal, merged: dict[str, Any], fields: dict[str, Any]) -> None:
    """A ``reinspection_of`` sent must name a 复查 task of the inspection's site."""
    task_id = fields.get("reinspection_of")
    if not task_id:
        return
    task = tx.get_record("reinspection", task_id)
    if task is None or task.deleted or task.data.get("site_id") != merged.get("site_id"):
        raise Rejection("unknown_reinspection", "no re-inspection task of this site with that id",
                        path="$.fields.reinspection_of", reinspection_of=task_id)


def after_inspection_write(tx: StoreTx, p: Principal, now: int, fields: dict[str, Any],
                           record: StoredRecord) -> None:
    """The hook of ``sync/apply.py``: run after every inspection upsert; acts on
    a submission (the state going to ``submitted``: the write the rules stamp
    with the submission's server time, ``submitted_received_at``)."""
    check_link(tx, p, record.data, fields)
    if SUBMITTED_RECEIVED_AT not in fields:
        return
    template = load_templates().get(record.data.get("template_id") or "")
    if template is None:
        return
    answers = {k: v for k, v in (record.data.get("answers") or {}).items() if isinstance(v, dict)}
    writer = ServerWrites(tx, now)
    site_id = record.data.get("site_id") or ""
    site = tx.get_record("site", site_id)
    if site is None:
        return
    _raise_warning(tx, writer, now, record, site, answers)
    today = china_day(now)
    if record.data.get("reinspection_of"):
        # a re-inspection settles its task (closed or extended), no second task
        _recheck(tx, writer, now, record, template, answers, today)
        return
    fix = risk.rectification(template, answers, today)
    if fix.needed:
        task_id = derived_id("reinspection", record.id)
        writer.upsert("reinspection", task_id, {
            "site_id": site_id, "village_id": site.village_id, "inspection_id": record.id,
            "responsible_id": record.data.get("inspector_id"), "items": list(fix.items),
            "rectification": fix.text, "due_date": fix.due_date, "state": "open",
            "history": [{"action": "opened", "at": now, "due_date": fix.due_date,
                         "inspection_id": record.id}],
        })


def _raise_warning(tx: StoreTx, writer: ServerWrites, now: int, record: StoredRecord,
                   site: StoredRecord, answers: dict[str, Any]) -> None:
    found = risk.assess(answers)
    if not found.risky:
        return
    writer.upsert("risk_warning", derived_id("risk_warning", record.id), {
        "site_id": site.id, "village_id": site.village_id, "inspection_id": record.id,
        "inspector_id": record.data.get("inspector_id"), "level": found.level,
        "reasons": [r.as_dict() for r in found.reasons], "raised_at": now, "state": "open",
    })
    refresh_site_level(tx, writer, site.id)


def refresh_site_level(tx: StoreTx, writer: ServerWrites, site_id: str) -> str:
    """The site's ``risk_level``: the highest level of its open warnings."""
    level = "none"
    for rec in tx.children_of_site(site_id):
        if rec.entity == "risk_warning" and not rec.deleted and rec.data.get("state") == "open":
            level = risk.higher(level, rec.data.get("level"))
    site = tx.get_record("site", site_id)
    if site is not None and (site.data.get("risk_level") or "none") != level:
        writer.upsert("site", site_id, {"risk_level": level})
    return level


def _recheck(tx: StoreTx, writer: ServerWrites, now: int, record: StoredRecord, template: Any,
             answers: dict[str, Any], today: dt.date) -> None:
    task = tx.get_record("reinspection", record.data["reinspection_of"])
    if task is None or task.data.get("state") == "closed":
        return
    still = risk.recheck(template, list(task.data.get("items") or []), answers)
    history = list(task.data.get("history") or [])
    if not still:
        history.append({"action": "closed", "at": now, "inspection_id": record.id,
                        "by": record.data.get("inspector_id")})
        writer.upsert("reinspection", task.id, {
            "state": "closed", "closed_by": record.id, "closed_at": now, "history": history})
        return
    due = risk.rectification(template, answers, today).due_date or risk.default_due(today)
    history.append({"action": "extended", "at": now, "inspection_id": record.id,
                    "by": record.data.get("inspector_id"), "due_date": due,
                    "still_failing": list(still)})
    writer.upsert("reinspection", task.id, {
        "state": "extended", "due_date": due, "items": list(still), "history": history})
