"""A pushed incident, applied inside the push's transaction (``sync/apply.py``'s hook).

A new incident opens a case at township level (``incident_id``,
``collective_incident``), or joins the case it names (checked: it exists
and the reporter may write it; a case still at village level is escalated
to the township by a server-made ``escalate`` event), and raises one alert
for every office and leader account. The case and the alert are written
with the write path's own pieces (``sync/records.py``): they get revisions
and pull like any record. Their ids derive from the incident's, and an
incident is insert-only, so a replayed report makes no second case.
"""

from __future__ import annotations

from typing import Any, Callable

from shared_schema import cases, incidents
from shared_schema import fields as field_rules
from shared_schema.hlc import Hlc
from shared_schema.wire import Insert
from sync_server.domain.errors import Rejection
from sync_server.domain.sync import rules
from sync_server.domain.sync.records import new_record, peek, scope_keys, set_derived, set_keys, \
    write_fields
from sync_server.store.base import StoredRecord

REPORTER_ROLES = set(incidents.REPORTER_ROLES)
#: ``incident_errors`` codes -> the rejection's code.
_CODES = {"required": "missing_field", "invalid_value": "invalid_value", "in_future": "invalid_value"}
_MESSAGES = {"required": "is required", "invalid_value": "is not a valid value",
             "in_future": "is later than the server's time"}

#: ``apply._insert``: how the hook adds the escalate event through the write path.
InsertEvent = Callable[[Any, Insert, dict[str, Any], str], str]


def record(b: Any, m: Insert, fields: dict[str, Any], hlc: str, rec: StoredRecord,
           insert_event: InsertEvent) -> str:
    """Apply a new incident (``rec``, not stored yet) of the batch ``b``
    (``apply.Batch``); a broken rule is a ``Rejection`` and the savepoint
    undoes everything."""
    p, tx = b.p, b.tx
    rules.check_role(p, REPORTER_ROLES, "report", "incident")
    errors = incidents.incident_errors(fields, b.now)
    if errors:
        name, code = next(iter(errors.items()))
        raise Rejection(_CODES[code], f"incident.{name} {_MESSAGES[code]}",
                        path=f"$.fields.{name}", field=name, reason=code)
    refusal = field_rules.refuse_writer("incident", fields, p.role, recorder=True)
    if refusal is not None:
        raise Rejection(refusal.code, refusal.message, **refusal.info())
    site = _site(b, fields)
    keys = _keys(b, m.entity_id, fields, site)
    rules.check_scope(p, keys[0], keys[1], p.user_id, "incident", m.entity_id)
    attach = fields.get("attach_case_id")
    case_id = _join(b, m, attach, hlc, insert_event) if attach else _open(b, m, fields, site, hlc)
    alert_id = incidents.derived_id(m.entity_id, "alert")
    _raise_alert(b, m, fields, site, case_id, alert_id, hlc)
    set_keys(rec, keys)
    out = {**fields, "reporter_id": p.user_id, "case_id": case_id, "alert_id": alert_id,
           **({"village_id": keys[0]} if keys[0] else {})}
    write_fields(tx, rec, out, {}, hlc, b.author, b.now, m.id)
    return "applied"


def _site(b: Any, fields: dict[str, Any]) -> StoredRecord | None:
    site_id = fields.get("site_id")
    if not site_id:
        village_id = fields.get("village_id")
        if village_id:
            village = peek(b.tx, "village", village_id)
            if village is None or village.deleted:
                raise Rejection("unknown_village", f"no village with id {village_id}",
                                village_id=village_id)
        return None
    site = peek(b.tx, "site", site_id)
    if site is None or site.deleted:
        raise Rejection("unknown_site", "the incident's site is not in the registry", site_id=site_id)
    return site


def _keys(b: Any, id: str, fields: dict[str, Any], site: StoredRecord | None):
    """(village, department, site, parent): a site's, else the village given."""
    if site is not None:
        return site.village_id, site.department_id, site.id, None
    return fields.get("village_id"), None, None, None


def _open(b: Any, m: Insert, fields: dict[str, Any], site: StoredRecord | None, hlc: str) -> str:
    """A new case for the incident, at township level; its id derives from the incident's."""
    tx = b.tx
    case_id = incidents.derived_id(m.entity_id, "case")
    if tx.get_record("case", case_id) is not None:
        return case_id  # made already (cannot happen for an insert-only incident; kept safe)
    data = incidents.case_fields(m.entity_id, fields, site.data if site is not None else None)
    data.update(rules.case_initial(data))
    data["opened_at"] = b.now
    case = new_record("case", case_id, b.now, b.author)
    set_keys(case, scope_keys(tx, "case", case_id, data))
    write_fields(tx, case, data, {}, hlc, b.author, b.now, m.id)
    return case_id


def _join(b: Any, m: Insert, case_id: str, hlc: str, insert_event: InsertEvent) -> str:
    """Join the named case: it must exist and be the reporter's to write. It is
    marked a collective incident; a case still at village level goes to the
    township by an ``escalate`` event (when the reporter's role may)."""
    p, tx = b.p, b.tx
    case = tx.get_record("case", case_id)
    if case is None or case.deleted:
        raise Rejection("unknown_case", "the case to join is not on the server", case_id=case_id,
                        path="$.fields.attach_case_id")
    rules.check_scope(p, case.village_id, case.department_id, case.created_by_user, "case", case.id)
    marks: dict[str, Any] = {"collective_incident": True}
    if not case.data.get("incident_id"):
        marks["incident_id"] = m.entity_id
    set_derived(tx, case, marks, hlc, b.author, b.now)
    state = cases.CaseState(status=case.data.get("status") or cases.REGISTERED,
                            level=case.data.get("level") or "village")
    if state.level == "village" and "escalate" in cases.allowed_kinds(state, p.role):
        event_hlc = _after(hlc)
        event_id = incidents.derived_id(m.entity_id, "escalate")
        event = {"case_id": case_id, "kind": "escalate",
                 "note": "群体性事件上报，升级至镇级处置（突发事件自动记录）"}
        insert_event(b, Insert(id=incidents.derived_id(m.id, "mutation"), seq=0, hlc=event_hlc,
                               entity="case_event", entity_id=event_id, fields=event),
                     event, event_hlc)
    return case_id


def _after(hlc: str) -> str:
    """The next HLC of the same node: the escalation sorts after the report."""
    h = Hlc.parse(hlc)
    return str(Hlc(h.wall_ms + 1, 0, h.node) if h.counter >= 9999 else Hlc(h.wall_ms, h.counter + 1, h.node))


def _raise_alert(b: Any, m: Insert, fields: dict[str, Any], site: StoredRecord | None,
                 case_id: str, alert_id: str, hlc: str) -> None:
    """The alert: no creator and no scope keys, so only whole-township roles
    (office, leader, admin) pull it; the office API lists it for office and leader."""
    data = incidents.alert_fields(m.entity_id, fields, case_id,
                                  site.data if site is not None else None, b.now)
    alert = new_record("alert", alert_id, b.now, None)
    write_fields(b.tx, alert, data, {}, hlc, b.author, b.now, m.id)


#: The write path applies incidents (and refuses alerts) through this module.
