"""``Device``: the one facade the UI, the CLI and the tests drive.

One data folder is one device. Every user action checks its input against
the same pure rules the server uses (shared_schema: field types, checklist
templates, the case state machine), then writes its record rows and its
outbox mutation in ONE local transaction. Nothing here needs the network
except ``login``, ``sync``, ``pull`` and ``receipt``.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections import Counter
from pathlib import Path
from typing import Any, Callable

import msgspec

from field_app.core.api import ApiClient, expect_ok
from field_app.core.errors import DeviceError, InvalidInput, LoginRequired, NotFound
from field_app.core.outbox import DeviceClock, Outbox
from field_app.core.photos import process_photo, store_photo, write_atomically
from field_app.core.rebase import view
from field_app.core.reports import (
    DeviceStatus,
    QuarantineItem,
    ReceiptReport,
    SyncProgress,
    SyncReport,
)
from field_app.core.settings import DeviceSettings
from field_app.core.store import KEY_COLUMNS, LocalStore, RecordRow, Tx
from field_app.core.sync import SyncClient
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
from shared_schema.entities import ENTITY_TYPES, SYSTEM_FIELDS, FieldTypeError, check_fields
from shared_schema.roles import FIELD_ROLES
from shared_schema.ids import uuid7
from shared_schema.wire import (
    LoginRequest,
    UserInfo,
    encoder,
    login_response_decoder,
    receipt_decoder,
)

INSPECTOR_ROLES = FIELD_ROLES
EDITOR_ROLES = ("grid_officer", "sector_inspector", "office")
#: A case's derived fields: written by the server from its events, never by a device.
CASE_DERIVED = frozenset({
    "status", "level", "initial_level", "extended", "amount_recovered", "workers_paid",
    "accepted_at", "resolved_at", "closed_at",
})
PHOTO_OWNERS = ("inspection", "case", "site", "case_event")


def _clean(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


def _refuse(r: field_rules.FieldRefusal | None) -> None:
    """Raise the device error for a refusal of the field table (the same code
    the server would reject the mutation with, at once instead of after a sync)."""
    if r is None:
        return
    if r.code == "field_not_writable":
        raise DeviceError(r.code, r.message, **r.info())
    raise InvalidInput(r.code, r.message, **r.info())


def _typed(entity: str, fields: dict[str, Any],
           stored: dict[str, Any] | None = None) -> dict[str, Any]:
    """Check a partial field map against the field table (unknown fields,
    lengths, masked personal values: ``shared_schema.fields``) and type-check
    it against the entity's record type. Fields the app stamps itself (id,
    times, deleted) and fields only the server writes are not the caller's."""
    known = ENTITY_TYPES[entity].__struct_fields__
    unknown = sorted(k for k in fields if field_rules.rule_for(entity, k) is None)
    if unknown:
        raise InvalidInput("unknown_field", f"{entity} has no field(s) {', '.join(unknown)}",
                           fields=unknown, path=f"$.fields.{unknown[0]}", field=unknown[0])
    _refuse(field_rules.refuse_values(entity, fields, stored))
    theirs = sorted(k for k in fields if k in SYSTEM_FIELDS or k not in known)
    if theirs:
        _refuse(field_rules.FieldRefusal(
            "field_not_writable", theirs[0], f"$.fields.{theirs[0]}",
            f"{entity}.{theirs[0]} is set by the app or the server, not by hand",
            {"entity": entity, "fields": theirs}))
    try:
        return check_fields(entity, fields)
    except FieldTypeError as exc:
        raise InvalidInput("invalid_field", str(exc), path=exc.path) from None


def _owners(user: dict[str, Any], entity: str, fields: dict[str, Any],
            recorder: bool | None) -> None:
    """Who may write these fields (``shared_schema.fields``), as far as the
    device can tell: ``recorder`` ``None`` leaves that to the server."""
    _refuse(field_rules.refuse_writer(entity, fields, user.get("role") or "",
                                      recorder=recorder))


def _case_recorder(row: RecordRow) -> bool | None:
    """Whether this user recorded the case, as far as the phone knows: a case
    the server has not acknowledged yet was recorded here; one whose
    personal data the server sent masked was not (the server shows it in
    clear to its recorder and the office); otherwise the server decides."""
    if row.server is None:
        return True
    if any(field_rules.is_masked(row.server.get(k)) for k in field_rules.PERSONAL["case"]):
        return False
    return None


class Device:
    """An inspector's phone (or a test's tmp folder): see docs/device-api.md."""

    def __init__(self, store: LocalStore, settings: DeviceSettings, device_id: str,
                 clock: DeviceClock) -> None:
        self.store = store
        self.settings = settings
        self.device_id = device_id
        self.clock = clock
        self.outbox = Outbox(clock, settings.now_ms)
        self.photos_dir = store.data_dir / "photos"
        self._sync_lock = threading.Lock()

    # opening ------------------------------------------------------------------------
    @classmethod
    def open(cls, data_dir: str | Path, settings: DeviceSettings | None = None) -> "Device":
        """Create or reopen the device whose data lives in ``data_dir``."""
        settings = settings or DeviceSettings()
        store = LocalStore(data_dir, settings.now_ms)
        store.migrate()
        with store.write() as tx:
            device_id = tx.get("device_id")
            if not device_id:  # generated once, for the life of this data folder
                device_id = uuid7(settings.now_ms)
                tx.set("device_id", device_id)
                tx.set("created_at", settings.now_ms())
            if not tx.get("device_secret"):
                # What proves the device id to the server (every login sends
                # it; the server keeps its hash). Made with the id, or on the
                # first open by an app from before secrets. Never shown, never
                # logged; a new data folder (a wiped app) makes a new pair.
                tx.set("device_secret", secrets.token_urlsafe(32))
            hlc = tx.get("hlc")
        return cls(store, settings, device_id, DeviceClock(device_id, settings.now_ms, hlc))

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> "Device":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def data_dir(self) -> Path:
        return self.store.data_dir

    # login ---------------------------------------------------------------------------
    def login(self, server_url: str, username: str, password: str) -> UserInfo:
        """Log in online once; the token is kept and used offline afterwards."""
        with self.store.read() as tx:
            prev_user, prev_url = tx.get("user"), tx.get("server_url")
            waiting = tx.count("outbox") + tx.count("quarantine", "state='open'")
            secret = tx.get("device_secret")
        switching = prev_user is not None and (
            prev_user.get("username") != username or prev_url != server_url.rstrip("/"))
        if switching and waiting:
            raise DeviceError(
                "pending_other_user",
                f"{waiting} change(s) by {prev_user.get('username')} are still on this device: "
                "sync them (or clear the quarantine) before another login", waiting=waiting)
        req = LoginRequest(username=username, password=password, device_id=self.device_id,
                           device_name=self.settings.device_name, device_secret=secret)
        with ApiClient(server_url, self.settings) as api:
            r = api.call("POST", "/api/v1/auth/login", "login", auth=False,
                         content=encoder.encode(req), headers={"Content-Type": "application/json"})
            expect_ok(r, "login")
        resp = login_response_decoder.decode(r.content)
        with self.store.write() as tx:
            if switching:  # another user or server: their scope, so rebuild the mirror
                tx.set("gen", int(tx.get("gen", 0)) + 1)
                tx.set("resync", True)
                tx.set("cursor", 0)
            tx.set("server_url", server_url.rstrip("/"))
            tx.set("token", resp.token)
            tx.set("token_expires_at", resp.expires_at)
            tx.set("user", msgspec.to_builtins(resp.user))
            tx.set("login_required", False)
            tx.set("login_reason", None)
            if resp.server_time_ms:
                tx.set("clock_offset_ms", resp.server_time_ms - self.settings.now_ms())
        return resp.user

    def _user(self, tx: Tx) -> dict[str, Any]:
        user = tx.get("user")
        if not user:
            raise LoginRequired("not_logged_in", "log in once (online) before recording")
        return user

    # reading the local mirror -----------------------------------------------------------
    def get(self, entity: str, id: str) -> dict[str, Any] | None:
        """The record as the user sees it (server values + local edits), or None."""
        with self.store.read() as tx:
            row = tx.row(entity, id)
        return row.data if row else None

    def sites(self, query: str | None = None, village_id: str | None = None,
              kind: str | None = None) -> list[dict[str, Any]]:
        """Sites of the local registry mirror (what the server shows this user,
        plus sites created here), filtered; ordered by name."""
        where, params = [], []
        if village_id:
            where.append("json_extract(data, '$.village_id') = ?")
            params.append(village_id)
        if kind:
            where.append("json_extract(data, '$.kind') = ?")
            params.append(kind)
        if query:
            like = f"%{query}%"
            where.append(" OR ".join(f"json_extract(data, '$.{f}') LIKE ?" for f in
                                     ("name", "address", "builder", "contractor")))
            params += [like] * 4
        with self.store.read() as tx:
            rows = tx.rows("site", " AND ".join(f"({w})" for w in where), params)
        return [r.data for r in rows]

    def records(self, entity: str, **equal: Any) -> list[dict[str, Any]]:
        """Records of one entity whose fields equal the given values."""
        # The link fields have their own indexed columns (m002), text only.
        where = " AND ".join(
            f"{k} = ?" if k in KEY_COLUMNS and isinstance(v, str)
            else f"json_extract(data, '$.{k}') = ?" for k, v in equal.items())
        with self.store.read() as tx:
            return [r.data for r in tx.rows(entity, where, list(equal.values()))]

    def villages(self) -> list[dict[str, Any]]:
        return self.records("village")

    def inspections(self, site_id: str | None = None) -> list[dict[str, Any]]:
        return self.records("inspection", **({"site_id": site_id} if site_id else {}))

    def cases(self, site_id: str | None = None) -> list[dict[str, Any]]:
        return self.records("case", **({"site_id": site_id} if site_id else {}))

    def photos(self, owner_id: str) -> list[dict[str, Any]]:
        return self.records("photo", owner_id=owner_id)

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

    # sites ------------------------------------------------------------------------------
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
        fields = _typed("site", _clean(fields))
        missing = [f for f in ("name", "kind", "village_id") if fields.get(f) in (None, "")]
        if missing:
            raise InvalidInput("missing_field", f"a new site needs: {', '.join(missing)}",
                               missing=missing)
        site_id = uuid7(self.settings.now_ms)
        with self.store.write() as tx:
            user = self._user(tx)
            self._role(user, EDITOR_ROLES, "add a site")
            _owners(user, "site", fields, recorder=True)
            self._known(tx, "village", fields.get("village_id"))
            self._known(tx, "department", fields.get("department_id"))
            self.outbox.upsert(tx, "site", site_id, fields, {k: 0 for k in fields})
        return site_id

    def update_site(self, site_id: str, **fields: Any) -> None:
        fields = _typed("site", fields)
        with self.store.write() as tx:
            user = self._user(tx)
            self._role(user, EDITOR_ROLES, "edit a site")
            row = self._live(tx, "site", site_id)
            self._known(tx, "village", fields.get("village_id"))
            self._known(tx, "department", fields.get("department_id"))
            changed = self._changed(row, fields)
            _owners(user, "site", changed, recorder=None)
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
        extra = _typed("inspection", _clean(fields))
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
            item = _clean({"answer": answer, "value": value, "note": note})
            _refuse(field_rules.refuse_values("inspection", {"answers": {item_code: item}}))
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
        fields = _typed("inspection", {"lat": lat, "lon": lon, "accuracy_m": accuracy_m,
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

    # photos ------------------------------------------------------------------------------
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
            fields = _clean({
                "sha256": photo.sha256, "owner_entity": owner.entity, "owner_id": owner_id,
                "item_code": item_code, "caption": caption, "bytes": len(photo.data),
                "taken_at": taken_at or photo.taken_at or s.now_ms(),
                "lat": lat if lat is not None else photo.lat,
                "lon": lon if lon is not None else photo.lon,
            })
            _refuse(field_rules.refuse_values("photo", fields))
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
            if queued is None or queued.state not in ("pending", "quarantined") or tx.rows(
                    "photo", "json_extract(data, '$.sha256') = ?", (sha,)):
                return  # sent already, or other photos still need these bytes
            if queued.state == "quarantined":  # its refused upload goes with it
                tx.resolve_quarantine(f"photo:{sha}", "discarded")
            tx.update_photo(sha, state="discarded", upload_url=None)

    # cases ---------------------------------------------------------------------------------
    def _case_fields(self, tx: Tx, fields: dict[str, Any],
                     row: RecordRow | None = None) -> dict[str, Any]:
        derived = sorted(CASE_DERIVED.intersection(fields))
        if derived:
            raise InvalidInput("derived_field", "a case's status and level come from its "
                               "events; add a case event instead", fields=derived)
        fields = _typed("case", fields, row.server if row is not None else None)
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
            fields = self._case_fields(tx, _clean(fields))
            _owners(user, "case", fields, recorder=True)
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
            _owners(user, "case", changed, recorder=_case_recorder(row))
            if changed:
                self.outbox.edit(tx, row, changed)

    def add_case_event(self, case_id: str, kind: str, **fields: Any) -> str:
        """Append an event (a transition or a note) to a case, if the case state
        machine allows it for this user's role in the case's current state."""
        fields = _typed("case_event", _clean(fields))
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

    # sync --------------------------------------------------------------------------------
    def _client(self) -> SyncClient:
        return SyncClient(self.store, self.outbox, self.clock, self.settings, self.device_id)

    def sync(self, progress: Callable[[SyncProgress], None] | None = None) -> SyncReport:
        """Pull, push the outbox, upload photos, pull again. Never raises for
        network or server trouble: the report says what happened."""
        if not self._sync_lock.acquire(blocking=False):
            raise DeviceError("sync_in_progress", "a sync is already running")
        try:
            return self._client().run(progress)
        finally:
            self._sync_lock.release()

    def pull(self, progress: Callable[[SyncProgress], None] | None = None) -> SyncReport:
        """Only pull (and rebase): nothing leaves the device."""
        if not self._sync_lock.acquire(blocking=False):
            raise DeviceError("sync_in_progress", "a sync is already running")
        try:
            return self._client().run(progress, push=False)
        finally:
            self._sync_lock.release()

    def status(self) -> DeviceStatus:
        with self.store.read() as tx:
            user = tx.get("user") or {}
            token = tx.get("token")
            expires = tx.get("token_expires_at")
            offset = tx.get("clock_offset_ms")
            reason = tx.get("login_reason")
            if tx.get("login_required"):
                state = "login_required"
            elif token:
                state = "logged_in"
                if expires is not None and expires <= self.settings.now_ms() + (offset or 0):
                    state, reason = "login_required", "token_expired"
            else:
                state = "logged_out"
            return DeviceStatus(
                device_id=self.device_id, data_dir=str(self.data_dir), login_state=state,
                login_reason=reason if state == "login_required" else None,
                username=user.get("username"), role=user.get("role"),
                server_url=tx.get("server_url"), token_expires_at=expires,
                pending_mutations=tx.count("outbox"),
                pending_photos=tx.count("photos", "state='pending'"),
                quarantined=tx.count("quarantine", "state='open'"),
                last_sync_ms=tx.get("last_sync_ms"), last_sync_ok=tx.get("last_sync_ok"),
                cursor=int(tx.get("cursor", 0)), clock_offset_ms=offset, hlc=self.clock.last,
                last_good_sync_ms=tx.get("last_good_sync_ms"),
            )

    # quarantine ----------------------------------------------------------------------------
    def quarantine(self) -> list[QuarantineItem]:
        """What the server refused for good, with its code and message."""
        with self.store.read() as tx:
            rows = tx.quarantine("open")
        return [QuarantineItem(
            id=q.id, kind=q.kind, code=q.code, message=q.message, details=q.details,
            entity=q.entity, entity_id=q.entity_id, op=q.op, seq=q.seq, created_at=q.created_at,
            fields=dict(q.mutation.fields) if q.mutation else {}) for q in rows]

    def _qid(self, tx: Tx, item_id: str) -> str:
        ids = [q.id for q in tx.quarantine("open")]
        if item_id in ids:
            return item_id
        found = [i for i in ids if i.startswith(item_id) or i.startswith(f"photo:{item_id}")]
        if len(found) == 1 and len(item_id) >= 4:
            return found[0]
        raise NotFound("not_in_quarantine", f"nothing open in the quarantine matches {item_id}")

    def retry_quarantined(self, item_id: str, **changes: Any) -> str:
        """Fix-and-retry: queue the item again (a new mutation) with ``changes``
        written over its fields. Returns the new mutation id."""
        with self.store.write() as tx:
            return self.outbox.retry(tx, self._qid(tx, item_id), changes)

    def discard_quarantined(self, item_id: str, confirm: bool = False) -> None:
        """Drop a quarantined item for good; ``confirm=True`` says the user agreed."""
        if not confirm:
            raise DeviceError("confirmation_required",
                              "discarding loses this change for good: confirm to go on")
        with self.store.write() as tx:
            self.outbox.discard(tx, self._qid(tx, item_id))

    # receipt -------------------------------------------------------------------------------
    def receipt(self) -> ReceiptReport:
        """The server's receipt for this device next to the local counts."""
        with self.store.read() as tx:
            url, token = tx.get("server_url"), tx.get("token")
            if not url or not token or tx.get("login_required"):
                raise LoginRequired("not_logged_in", "log in to read the server's receipt")
            acked, rejected = int(tx.get("acked_count", 0)), int(tx.get("rejected_count", 0))
            last_seq = int(tx.get("last_answered_seq", 0))
            pending = tx.count("outbox")
            quarantined = tx.count("quarantine", "state='open'")
            pending_photos = tx.count("photos", "state IN ('pending', 'quarantined')")
            uploaded = [p.sha256 for p in tx.photos("uploaded")]
        with ApiClient(url, self.settings, token) as api:
            r = expect_ok(api.call("GET", "/api/v1/sync/receipt", "receipt",
                                   params={"device_id": self.device_id}), "receipt")
        server = receipt_decoder.decode(r.content)
        verified = set(server.photos_verified)
        missing = sorted(h for h in uploaded if h not in verified)
        problems = []
        if pending:
            problems.append(f"{pending} change(s) not yet sent")
        if quarantined:
            problems.append(f"{quarantined} item(s) in the quarantine")
        if pending_photos:
            problems.append(f"{pending_photos} photo(s) not yet uploaded")
        if server.mutations_received < acked + rejected:
            problems.append(f"the server holds {server.mutations_received} of this device's "
                            f"{acked + rejected} answered changes")
        if server.last_seq < last_seq:
            problems.append(f"the server's last seq {server.last_seq} is behind {last_seq}")
        if missing:
            problems.append(f"{len(missing)} uploaded photo(s) not verified on the server")
        if server.photos_missing:
            problems.append(f"the server misses {len(server.photos_missing)} photo(s) "
                            "named by this device's records")
        return ReceiptReport(
            server=server, local_acknowledged=acked, local_rejected=rejected,
            local_last_seq=last_seq, pending_mutations=pending, quarantined=quarantined,
            pending_photos=pending_photos, photos_uploaded=len(uploaded),
            photos_not_on_server=missing, safe_to_wipe=not problems, problems=problems)

    # self-check ------------------------------------------------------------------------------
    def check(self) -> list[str]:
        """Consistency of the local store (empty list: consistent): every view
        equals its server values with its waiting mutations on top, every
        waiting mutation has its record, every local-only record has one, and
        every waiting photo record has its file in the photo queue."""
        problems: list[str] = []
        with self.store.read() as tx:
            integrity = tx.q("PRAGMA integrity_check").fetchone()[0]
            if integrity != "ok":
                problems.append(f"integrity_check: {integrity}")
            for row in tx.all_rows():
                muts = tx.overlays(row.entity, row.id)
                if row.server is None and not muts:
                    problems.append(f"{row.entity} {row.id}: local record without a mutation")
                expected = view(row.entity, row.id, row.server, muts)
                got = row.data
                if row.entity == "case":  # locally derived status is shown on top
                    got = {k: v for k, v in got.items() if k not in CASE_DERIVED}
                    expected = {k: v for k, v in expected.items() if k not in CASE_DERIVED}
                if got != expected:
                    problems.append(f"{row.entity} {row.id}: view differs from server + outbox")
            for entry in tx.outbox():
                m = entry.mutation
                if tx.row(m.entity, m.entity_id) is None:
                    problems.append(f"mutation {m.id} ({m.entity} {m.entity_id}) has no record")
            queued = {p.sha256: p for p in tx.photos()}
            for entry in tx.outbox():
                m = entry.mutation
                if m.entity == "photo":
                    sha = m.fields.get("sha256") or ""
                    photo = queued.get(sha)
                    if photo is None:
                        problems.append(f"photo {m.entity_id}: {sha} is not in the photo queue")
                    elif not Path(photo.path).exists():
                        problems.append(f"photo {m.entity_id}: the file {photo.path} is missing")
            seqs = [e.seq for e in tx.outbox()]
            if seqs != sorted(set(seqs)) or (seqs and seqs[-1] > int(tx.get("next_seq", 0))):
                problems.append("outbox seq numbers are out of order")
        return problems
