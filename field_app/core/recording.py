"""Recording sites, inspections and cases offline: ``Recording``, a part of ``Device``.

Every action checks its input against the shared rules (``checks``), then
writes its record rows and its outbox mutation in ONE local transaction.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import msgspec

from field_app.core.checks import (
    CASE_DERIVED,
    EDITOR_ROLES,
    INSPECTOR_ROLES,
    case_recorder,
    check_owners,
    clean,
    refuse,
    typed,
)
from field_app.core.errors import DeviceError, InvalidInput, NotFound
from field_app.core.outbox import Outbox
from field_app.core.settings import DeviceSettings
from field_app.core.store import LocalStore, RecordRow, Tx
from shared_schema import cases
from shared_schema import fields as field_rules
from shared_schema.calendar import CALENDAR_ID, CalendarData, WorkCalendar
from shared_schema.calendar import packaged as packaged_calendar
from shared_schema.checklists import (
    AnswerError,
    ChecklistTemplate,
    TemplateNotFoundError,
    load_templates,
    missing_for_submit,
    template_for_site_kind,
    validate_answer,
)
from shared_schema.ids import uuid7


class Recording:
    """Sites, inspections and cases (``Device`` is one)."""

    store: LocalStore
    settings: DeviceSettings
    outbox: Outbox

    if TYPE_CHECKING:  # given by the other parts of ``Device``
        def _user(self, tx: Tx) -> dict[str, Any]: ...

        def photos(self, owner_id: str) -> list[dict[str, Any]]: ...

    def _live(self, tx: Tx, entity: str, id: str) -> RecordRow:
        row = tx.row(entity, id)
        if row is None or row.deleted:
            raise NotFound(f"unknown_{entity}", f"no {entity} {id} on this device", id=id)
        return row

    def _known(self, tx: Tx, entity: str, id: str | None) -> None:
        if id and tx.row(entity, id) is None:
            raise InvalidInput(f"unknown_{entity}", f"no {entity} {id} on this device", id=id)

    def _role(self, user: dict[str, Any], roles: tuple[str, ...], action: str) -> None:
        if user.get("role") not in roles:
            raise DeviceError("role_not_allowed", f"a {user.get('role')} may not {action}",
                              role=user.get("role"))

    @staticmethod
    def _changed(row: RecordRow, fields: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in fields.items() if row.data.get(k) != v}

    def create_site(self, **fields: Any) -> str:
        fields = typed("site", clean(fields))
        missing = [f for f in ("name", "kind", "village_id") if fields.get(f) in (None, "")]
        if missing:
            raise InvalidInput("missing_field", f"a new site needs: {', '.join(missing)}",
                               missing=missing)
        site_id = uuid7(self.settings.now_ms)
        with self.store.write() as tx:
            user = self._user(tx)
            self._role(user, EDITOR_ROLES, "add a site")
            check_owners(user, "site", fields, recorder=True)
            self._known(tx, "village", fields.get("village_id"))
            self._known(tx, "department", fields.get("department_id"))
            self.outbox.upsert(tx, "site", site_id, fields, {k: 0 for k in fields})
        return site_id

    def update_site(self, site_id: str, **fields: Any) -> None:
        fields = typed("site", fields)
        with self.store.write() as tx:
            user = self._user(tx)
            self._role(user, EDITOR_ROLES, "edit a site")
            row = self._live(tx, "site", site_id)
            self._known(tx, "village", fields.get("village_id"))
            self._known(tx, "department", fields.get("department_id"))
            changed = self._changed(row, fields)
            check_owners(user, "site", changed, recorder=None)
            if changed:
                self.outbox.edit(tx, row, changed)

    # inspections ---------------------------------------------------------------------------
    def template(self, template_id: str) -> ChecklistTemplate:
        """A checklist template: bundled with the app, or pulled from the server."""
        bundled = load_templates()
        if template_id in bundled:
            return bundled[template_id]
        with self.store.read() as tx:
            row = tx.row("checklist_template", template_id)
        if row is None or not row.data.get("body"):
            raise NotFound("unknown_template", f"no checklist template {template_id}")
        return msgspec.convert(row.data["body"], ChecklistTemplate)

    def work_calendar(self) -> WorkCalendar:
        """The working-day calendar case deadlines count over: the server's
        (the ``work_calendar`` reference record, kept current by every pull,
        so an admin's change reaches the phone), else the one packaged with
        the app (before the first sync, or from a server that sends none)."""
        with self.store.read() as tx:
            row = tx.row("work_calendar", CALENDAR_ID)
        if row is None or not row.data.get("body"):
            return packaged_calendar()
        try:
            return WorkCalendar.from_data(msgspec.convert(row.data["body"], CalendarData))
        except msgspec.ValidationError:  # unreadable: the packaged one, as before any pull
            return packaged_calendar()

    def start_inspection(self, site_id: str, **fields: Any) -> str:
        """Start a draft inspection of a site with the template for its kind."""
        extra = typed("inspection", clean(fields))
        if set(extra) - {"lat", "lon", "accuracy_m", "located_at", "notes"}:
            raise InvalidInput("invalid_field",
                               "only lat, lon, accuracy_m, located_at and notes can be given here")
        insp_id = uuid7(self.settings.now_ms)
        with self.store.write() as tx:
            user = self._user(tx)
            self._role(user, INSPECTOR_ROLES, "start an inspection")
            site = self._live(tx, "site", site_id)
            try:
                template = template_for_site_kind(site.data.get("kind") or "other")
            except TemplateNotFoundError as exc:
                raise InvalidInput(exc.code, exc.message, **exc.details) from None
            data = {"site_id": site_id, "template_id": template.id, "inspector_id": user["id"],
                    "started_at": self.settings.now_ms(), "state": "draft", **extra}
            self.outbox.upsert(tx, "inspection", insp_id, data, {k: 0 for k in data})
        return insp_id

    def _draft(self, tx: Tx, insp_id: str) -> tuple[RecordRow, ChecklistTemplate]:
        user = self._user(tx)
        row = self._live(tx, "inspection", insp_id)
        if row.data.get("inspector_id") != user["id"]:
            raise DeviceError("not_author", "only the inspector who recorded it may change it")
        if row.data.get("state") == "submitted":
            raise DeviceError("inspection_submitted",
                              "this inspection was submitted and is read-only")
        return row, self.template(row.data.get("template_id") or "")

    def answer(self, insp_id: str, item_code: str, answer: Any, value: Any = None,
               note: str | None = None) -> None:
        """Record (or change) the answer to one checklist item."""
        with self.store.write() as tx:
            row, template = self._draft(tx, insp_id)
            try:
                validate_answer(template, item_code, answer, value)
            except AnswerError as exc:
                raise InvalidInput(exc.code, exc.message, **exc.details) from None
            item = clean({"answer": answer, "value": value, "note": note})
            refuse(field_rules.refuse_values("inspection", {"answers": {item_code: item}}))
            if (row.data.get("answers") or {}).get(item_code) != item:
                self.outbox.edit(tx, row, {"answers": {item_code: item}})

    def set_inspection_location(self, insp_id: str, lat: float, lon: float,
                                accuracy_m: float | None, located_at: int) -> None:
        """The draft inspection's location: a GPS fix with its accuracy radius
        (metres) and the time it was taken. The caller decides which fix is
        the best (the UI keeps the one with the smallest radius)."""
        if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (
                accuracy_m is not None and accuracy_m < 0):
            raise InvalidInput("invalid_value", "not a GPS position",
                               lat=lat, lon=lon, accuracy_m=accuracy_m)
        fields = typed("inspection", {"lat": lat, "lon": lon, "accuracy_m": accuracy_m,
                                       "located_at": located_at})
        with self.store.write() as tx:
            row, _ = self._draft(tx, insp_id)
            changed = {k: v for k, v in fields.items() if row.data.get(k) != v}
            if changed:
                self.outbox.edit(tx, row, changed)

    def reopen_inspection(self, insp_id: str) -> None:
        """A returned inspection (review ``rejected``, 退回) back to a draft of
        the same inspection, for its author to fix and submit again (a new
        revision; the server sets the review back to pending on resubmit;
        docs/cases.md, "Returned inspections")."""
        with self.store.write() as tx:
            user = self._user(tx)
            row = self._live(tx, "inspection", insp_id)
            if row.data.get("inspector_id") != user["id"]:
                raise DeviceError("not_author", "only the inspector who recorded it may change it")
            if row.data.get("state") != "submitted" or row.data.get("review_state") != "rejected":
                raise DeviceError("not_returned",
                                  "only a submitted inspection returned by the office can reopen")
            self.outbox.edit(tx, row, {"state": "draft"})

    def photo_counts(self, insp_id: str) -> dict[str, int]:
        return dict(Counter(p.get("item_code") or "" for p in self.photos(insp_id)))

    def submit_inspection(self, insp_id: str) -> None:
        """Submit: every required item answered and photographed; then read-only."""
        counts = self.photo_counts(insp_id)
        with self.store.write() as tx:
            row, template = self._draft(tx, insp_id)
            missing = missing_for_submit(template, row.data.get("answers") or {}, counts)
            if missing:
                raise InvalidInput("incomplete_inspection",
                                   f"{len(missing)} item(s) still need an answer or a photo",
                                   missing=missing)
            self.outbox.edit(tx, row, {"state": "submitted",
                                       "submitted_at": self.settings.now_ms()})

    # --- #17 warnings: the header the checklist asks for, and the 复查 task checked ---
    INSPECTION_HEADER = frozenset({"co_inspectors", "subcontractors", "reinspection_of"})

    def set_inspection_fields(self, insp_id: str, **fields: Any) -> None:
        """A draft's header fields (同行巡查人员, 分包单位) or the 复查 task it
        checks again (``reinspection_of``); a blank text clears the field."""
        if set(fields) - self.INSPECTION_HEADER:
            raise InvalidInput("invalid_field", "only co_inspectors, subcontractors and "
                               "reinspection_of can be set here")
        values = typed("inspection", {k: (v.strip() or None) if isinstance(v, str) else v
                                      for k, v in fields.items()})
        with self.store.write() as tx:
            row, _ = self._draft(tx, insp_id)
            changed = {k: v for k, v in values.items() if row.data.get(k) != v}
            if changed:
                self.outbox.edit(tx, row, changed)


    def _case_fields(self, tx: Tx, fields: dict[str, Any],
                     row: RecordRow | None = None) -> dict[str, Any]:
        derived = sorted(CASE_DERIVED.intersection(fields))
        if derived:
            raise InvalidInput("derived_field", "a case's status and level come from its "
                               "events; add a case event instead", fields=derived)
        fields = typed("case", fields, row.server if row is not None else None)
        for name in ("workers_owed", "amount_owed"):
            if (fields.get(name) or 0) < 0:
                raise InvalidInput("negative_value", f"{name} cannot be negative", field=name)
        if fields.get("site_id"):
            site = self._live(tx, "site", fields["site_id"])
            if not fields.get("village_id") and site.data.get("village_id"):
                fields["village_id"] = site.data["village_id"]
        self._known(tx, "village", fields.get("village_id"))
        return fields

    def open_case(self, **fields: Any) -> str:
        """Open a wage-arrears case (欠薪线索); its status comes from its events."""
        case_id = uuid7(self.settings.now_ms)
        with self.store.write() as tx:
            user = self._user(tx)
            self._role(user, EDITOR_ROLES, "open a case")
            fields = self._case_fields(tx, clean(fields))
            check_owners(user, "case", fields, recorder=True)
            missing = [] if fields.get("sector") else ["sector"]
            if not (fields.get("title") or fields.get("employer")):
                missing.append("title|employer")
            if missing:
                raise InvalidInput("missing_field", f"a new case needs: {', '.join(missing)}",
                                   missing=missing)
            fields.setdefault("opened_at", self.settings.now_ms())
            self.outbox.upsert(tx, "case", case_id, fields, {k: 0 for k in fields})
        return case_id

    def update_case(self, case_id: str, **fields: Any) -> None:
        with self.store.write() as tx:
            user = self._user(tx)
            self._role(user, EDITOR_ROLES, "edit a case")
            row = self._live(tx, "case", case_id)
            # A value the user left as shown (a masked phone too) is no change.
            fields = {k: v for k, v in fields.items() if k not in row.data or row.data[k] != v}
            changed = self._changed(row, self._case_fields(tx, fields, row))
            check_owners(user, "case", changed, recorder=case_recorder(row))
            if changed:
                self.outbox.edit(tx, row, changed)

    def add_case_event(self, case_id: str, kind: str, **fields: Any) -> str:
        """Append an event (a transition or a note) to a case, if the case state
        machine allows it for this user's role in the case's current state."""
        fields = typed("case_event", clean(fields))
        event_id = uuid7(self.settings.now_ms)
        with self.store.write() as tx:
            user = self._user(tx)
            case = self._live(tx, "case", case_id)
            d = case.data
            state = cases.CaseState(
                status=d.get("status") or cases.REGISTERED,
                level=d.get("level") or cases.route_level(d),
                extended=bool(d.get("extended")))
            try:
                cases.apply_event(state, kind, user.get("role") or "", fields)
            except cases.CaseRuleError as exc:
                raise InvalidInput(exc.code, exc.message, **exc.details) from None
            self.outbox.insert(tx, "case_event", event_id,
                               {"case_id": case_id, "kind": kind, **fields})
        return event_id
