"""Who may write what: role, scope and domain rules per entity.

Every function raises ``Rejection`` with a stable code (docs/errors.md);
nothing here writes.
"""

from __future__ import annotations

import re
from typing import Any

from shared_schema import cases
from shared_schema.checklists import CHOICES, AnswerError, missing_for_submit, validate_answer
from shared_schema.entities import INSERT_ONLY_ENTITIES, REFERENCE_ENTITIES
from shared_schema.servertime import SUBMITTED_RECEIVED_AT
from sync_server.domain.principal import Principal
from sync_server.domain.errors import Rejection
from sync_server.store.base import StoredRecord

SHA256 = re.compile(r"^[0-9a-f]{64}$")
UPSERT_ROLES = {
    "site": {"grid_officer", "sector_inspector", "office"},
    "inspection": {"grid_officer", "sector_inspector", "office"},
    "case": {"grid_officer", "sector_inspector", "office"},
}
CREATE_ROLES = {
    "site": {"grid_officer", "sector_inspector", "office"},
    "inspection": {"grid_officer", "sector_inspector"},
    "case": {"grid_officer", "sector_inspector", "office"},
    "photo": {"grid_officer", "sector_inspector", "office"},
}
DELETE_ROLES = {"site": {"office"}, "inspection": {"grid_officer", "sector_inspector", "office"},
                "case": {"office"},
                # a photo of a draft inspection, by its inspector (``check_photo_delete``)
                "photo": {"grid_officer", "sector_inspector"}}
#: Insert-only entities that may still be deleted (tombstoned): a photo, by
#: the rules of ``check_photo_delete``. A case event never is.
DELETABLE_INSERT_ONLY = frozenset({"photo"})
REQUIRED_ON_CREATE = {
    "site": ("name", "kind", "village_id"),
    "inspection": ("site_id",),
    "case": ("sector",),
    "photo": ("sha256", "owner_entity", "owner_id"),
    "case_event": ("case_id", "kind"),
}
REVIEW_FIELDS = frozenset({"review_state", "review_comment"})
CASE_DERIVED = frozenset({
    "status", "level", "initial_level", "extended", "amount_recovered", "workers_paid",
    "accepted_at", "resolved_at", "closed_at",
    # #17: routing, 首问负责, 调查, exits, advances (shared_schema.cases)
    "first_receiver_id", "route", "route_reason", "handled_by", "amount_advanced",
    "workers_advanced", "advanced_by_source", "investigation_records", "investigation_outcome",
    "transfer_to", "referral_target", "complainant_reply", "reply_date", "replied_at",
})
NON_NEGATIVE = {
    "inspection": ("accuracy_m",),
    "site": ("contract_amount",),
    "case": ("workers_owed", "amount_owed"),
    "case_event": ("amount_recovered", "workers_paid", "amount_advanced", "workers_advanced"),
    "photo": ("bytes",),
}


def check_op(entity: str, op: str) -> None:
    if entity in REFERENCE_ENTITIES:
        raise Rejection("read_only_entity", f"{entity} is reference data; devices cannot write it",
                        entity=entity)
    if entity in INSERT_ONLY_ENTITIES and op != "insert" and not (
            op == "delete" and entity in DELETABLE_INSERT_ONLY):
        raise Rejection("wrong_op", f"{entity} is insert-only; use op 'insert'", entity=entity, op=op)
    if entity not in INSERT_ONLY_ENTITIES and op == "insert":
        raise Rejection("wrong_op", f"{entity} is merged per field; use op 'upsert'",
                        entity=entity, op=op)


def check_role(p: Principal, roles: set[str], action: str, entity: str) -> None:
    if p.role not in roles:
        raise Rejection("role_not_allowed", f"a {p.role} may not {action} a {entity}",
                        role=p.role, entity=entity, allowed_roles=sorted(roles))


def check_scope(p: Principal, village_id: str | None, department_id: str | None,
                created_by: str | None, entity: str, id: str) -> None:
    """Writes need the record's village or department in scope; a record
    with neither (a case with no village yet) is writable by its creator."""
    if p.all_scope:
        return
    if village_id is None and department_id is None:
        if created_by == p.user_id:
            return
    elif p.sees(village_id, department_id):
        return
    raise Rejection("out_of_scope", f"this {entity} is outside your villages or departments",
                    entity=entity, id=id, village_id=village_id, department_id=department_id)


def check_required(entity: str, merged: dict[str, Any]) -> None:
    missing = [f for f in REQUIRED_ON_CREATE.get(entity, ()) if merged.get(f) in (None, "")]
    if entity == "case" and not (merged.get("title") or merged.get("employer")):
        missing.append("title|employer")
    if missing:
        raise Rejection("missing_field", f"a new {entity} needs: {', '.join(missing)}",
                        entity=entity, missing=missing)


def check_values(entity: str, fields: dict[str, Any]) -> None:
    for name in NON_NEGATIVE.get(entity, ()):
        value = fields.get(name)
        if value is not None and value < 0:
            raise Rejection("negative_value", f"{name} cannot be negative", field=name)
    if entity == "photo":
        if fields.get("sha256") is not None and not SHA256.match(fields["sha256"]):
            raise Rejection("invalid_field", "sha256 must be 64 lowercase hex digits",
                            path="$.fields.sha256")
    if entity == "case_event":
        bad = [h for h in fields.get("evidence") or [] if not SHA256.match(h)]
        if bad:
            raise Rejection("invalid_field", "evidence must list photo sha256 hashes",
                            path="$.fields.evidence", bad=bad)
        try:
            cases.check_new_event(fields.get("kind") or "", fields)
        except cases.CaseRuleError as exc:
            raise Rejection(exc.code, exc.message, **exc.details) from None


def check_case_fields(fields: dict[str, Any]) -> None:
    derived = sorted(CASE_DERIVED.intersection(fields))
    if derived:
        raise Rejection("derived_field",
                        "a case's status and level come from its events; add a case_event instead",
                        fields=derived)


def check_inspection(p: Principal, stored: StoredRecord | None, fields: dict[str, Any],
                     template: Any, photo_counts: dict[str, int], now_ms: int) -> dict[str, Any]:
    """Checks an inspection edit; returns the fields to write (with defaults)."""
    review = REVIEW_FIELDS.intersection(fields)
    author_fields = set(fields) - REVIEW_FIELDS
    data = stored.data if stored else {}
    if review and p.role != "office":
        raise Rejection("role_not_allowed", "only the labour office reviews inspections",
                        fields=sorted(review))
    if review and (data.get("state") != "submitted"):
        raise Rejection("not_submitted", "only a submitted inspection can be reviewed")
    out = dict(fields)
    if stored is None:
        check_role(p, CREATE_ROLES["inspection"], "start", "inspection")
        if fields.get("inspector_id") not in (None, p.user_id):
            raise Rejection("invalid_value", "inspector_id must be the logged-in user",
                            path="$.fields.inspector_id")
        out.setdefault("inspector_id", p.user_id)
        out.setdefault("state", "draft")
        out.setdefault("review_state", "pending")
        out.setdefault("started_at", now_ms)
        out["template_id"] = template.id
    elif author_fields:
        if data.get("inspector_id") != p.user_id:
            raise Rejection("not_author", "only the inspector who recorded it may change it")
        if data.get("state") == "submitted" and not reopens(data, fields):
            raise Rejection("inspection_submitted",
                            "this inspection was submitted and is read-only for its author")
        if "site_id" in fields and fields["site_id"] != data.get("site_id"):
            raise Rejection("invalid_value", "an inspection cannot move to another site",
                            path="$.fields.site_id")
        if "template_id" in fields and fields["template_id"] != data.get("template_id"):
            raise Rejection("invalid_value", "an inspection's template cannot change",
                            path="$.fields.template_id")
    if fields.get("state") not in (None, "draft", "submitted"):
        raise Rejection("invalid_value", "state must be draft or submitted", path="$.fields.state")
    indexed = _indexed(template)
    choices = indexed.choices
    for code, ans in (fields.get("answers") or {}).items():
        ans = ans or {}
        answer, value = ans.get("answer"), ans.get("value")
        allowed = choices.get(code)
        if allowed is not None and value is None and type(answer) is str and answer in allowed:
            continue  # a valid yes/no answer: exactly what validate_answer accepts for it
        try:
            validate_answer(indexed, code, answer, value)
        except AnswerError as exc:
            raise Rejection(exc.code, exc.message, path=f"$.fields.answers.{code}",
                            **exc.details) from None
    if fields.get("state") == "submitted" and data.get("state") != "submitted":
        answers = dict(data.get("answers") or {})
        answers.update(fields.get("answers") or {})
        missing = missing_for_submit(template, answers, photo_counts)
        if missing:
            raise Rejection("incomplete_inspection",
                            f"{len(missing)} item(s) still need an answer or a photo",
                            missing=missing)
        out.setdefault("submitted_at", now_ms)
        out[SUBMITTED_RECEIVED_AT] = now_ms  # the submission's receipt: server time
        if data.get("review_state") == "rejected":
            # a returned inspection resubmitted: a new revision waits for review
            out["review_state"] = "pending"
    return out


def check_photo_delete(p: Principal, photo: StoredRecord, owner: StoredRecord | None) -> None:
    """A photo is deleted only while its inspection is editable by its author:
    a photo of an inspection (not of a case, site or case event), by the
    inspection's inspector, while the inspection is not submitted (a draft,
    or a returned one reopened). Replacing a photo is this delete and a new
    photo (docs/protocol.md, "Photos of a draft")."""
    if photo.data.get("owner_entity") != "inspection" or owner is None:
        raise Rejection("wrong_op", "only a photo of a draft inspection can be deleted; "
                        "photos of cases, sites and case events are kept",
                        entity="photo", op="delete", owner_entity=photo.data.get("owner_entity"))
    check_inspection_photos(p, owner)


def check_inspection_photos(p: Principal, inspection: StoredRecord) -> None:
    """An inspection's photos are added or deleted only by its inspector, and
    only while it is not submitted: a submitted inspection is what was
    reviewed (a returned one is reopened as a draft first)."""
    if inspection.data.get("inspector_id") != p.user_id:
        raise Rejection("not_author", "only the inspector who recorded it may change its photos")
    if inspection.data.get("state") == "submitted":
        raise Rejection("inspection_submitted",
                        "this inspection was submitted: its photos are read-only")


def reopens(data: dict[str, Any], fields: dict[str, Any]) -> bool:
    """A returned inspection (review ``rejected``, 退回) going back to a draft
    for its author to fix: the only author edit of a submitted inspection
    (docs/cases.md, "Returned inspections")."""
    return data.get("review_state") == "rejected" and fields.get("state") == "draft"


class _IndexedTemplate:
    """A template's items by code, for ``validate_answer`` (which looks items up
    with ``template.item(code)``: a scan of the items on the template itself)."""

    __slots__ = ("id", "_items", "choices")

    def __init__(self, template: Any) -> None:
        self.id = template.id
        self._items = {item.code: item for item in template.items}
        #: code -> the answers a choice item (yes/no…) takes and no extra value;
        #: anything else, and any answer not in the set, goes to validate_answer.
        self.choices = {item.code: frozenset(CHOICES[item.answer]) for item in template.items
                        if item.answer in CHOICES}

    def item(self, code: str) -> Any:
        return self._items.get(code)


#: id(template) -> (template, its index); the template is kept so its id stays its own.
_INDEXED: dict[int, tuple[Any, _IndexedTemplate]] = {}


def _indexed(template: Any) -> _IndexedTemplate:
    hit = _INDEXED.get(id(template))
    if hit is not None and hit[0] is template:
        return hit[1]
    if len(_INDEXED) > 64:
        _INDEXED.clear()
    index = _INDEXED[id(template)] = (template, _IndexedTemplate(template))
    return index[1]


def routing_thresholds(tx: Any) -> cases.RoutingThresholds:
    """The office's routing thresholds: the ``setting`` record ``case_routing``."""
    rec = tx.get_record("setting", cases.ROUTING_SETTING_ID)
    return cases.thresholds_from(rec.data.get("body") if rec is not None and not rec.deleted
                                 else None)


def case_initial(fields: dict[str, Any], site: StoredRecord | None = None, tx: Any = None,
                 receiver: str | None = None) -> dict[str, Any]:
    """A new case's server fields: where it starts and who handles it
    (``cases.route`` over its site and the office's thresholds), and its
    first receiver (首问负责: the user who registered it)."""
    thresholds = routing_thresholds(tx) if tx is not None else None
    r = cases.route(fields, site.data if site is not None and not site.deleted else None,
                    thresholds)
    state = cases.CaseState(level=r.level, route=r.route)
    out = {"status": state.status, "level": state.level, "initial_level": state.level,
           "route": r.route, "route_reason": r.reason, "handled_by": state.handled_by,
           "extended": False, "amount_recovered": 0.0, "workers_paid": 0}
    if receiver:
        out["first_receiver_id"] = receiver
    return out


def fold_case(case: StoredRecord, events: list[tuple[str, str, dict[str, Any], int | None]]
              ) -> dict[str, Any]:
    """Derived case fields from its events (already in HLC order)."""
    initial = cases.CaseState(level=case.data.get("initial_level") or "township",
                              route=case.data.get("route") or cases.ROUTE_LOCAL)
    try:
        state = cases.fold(initial, events)
    except cases.CaseRuleError as exc:
        raise Rejection(exc.code, exc.message, **exc.details) from None
    out = {
        "status": state.status, "level": state.level, "extended": state.extended,
        "amount_recovered": state.amount_recovered, "workers_paid": state.workers_paid,
        "accepted_at": state.accepted_at, "resolved_at": state.resolved_at,
        "closed_at": state.closed_at, "handled_by": state.handled_by,
    }
    # #17: written once they have a value, so a case without them stays as it was.
    extra = {
        "amount_advanced": state.amount_advanced or None,
        "workers_advanced": state.workers_advanced or None,
        "advanced_by_source": dict(state.advanced_by_source) or None,
        "investigation_records": state.investigation_records or None,
        "investigation_outcome": state.investigation_outcome,
        "transfer_to": state.transfer_to, "referral_target": state.referral_target,
        "complainant_reply": state.complainant_reply, "reply_date": state.reply_date,
        "replied_at": state.replied_at,
    }
    out.update({k: v for k, v in extra.items() if v is not None or k in case.data})
    return out
