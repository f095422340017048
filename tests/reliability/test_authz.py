"""Authorisation matrix: every endpoint × every role × in/out of scope gets
the expected answer. ``MATRIX`` is the table; ``render_matrix()`` prints it
into docs/reliability.md (a test keeps the two equal).

Scopes: grid1 is a grid officer of village 1, sector1 a sector inspector of
department 1; site1 (village 1, department 1) is *in* their scope, site2
(village 2, department 2) *out*. office1, leader1 and admin cover the whole
township, so for them "out" is site2 all the same.

Cells: an HTTP status, and for a push the mutation's result
(``applied`` or ``rejected:<code>``); for a pull whether the record is in it.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from server.support import (
    SCRYPT_N,
    World,
    assert_error_shape,
    complete_answers,
    device_secret,
    ok,
    submit_inspection,
)
from shared_schema.calendar import CALENDAR_FILE, LOCAL
from shared_schema.ids import uuid7
from sync_server.domain.auth.service import create_user, revoke_device
from sync_server.domain.registry.service import ServerWriter

ROLES = ("grid_officer", "sector_inspector", "office", "leader", "admin")
USER = {"grid_officer": "grid1", "sector_inspector": "sector1", "office": "office1",
        "leader": "leader1", "admin": "admin"}
FIELD_ROLES = ("grid_officer", "sector_inspector")
IN, OUT = "in", "out"

# (endpoint, what it does) -> role -> (in scope, out of scope)
_EDIT = {"grid_officer": ("applied", "rejected:out_of_scope"),
         "sector_inspector": ("applied", "rejected:out_of_scope"),
         "office": ("applied", "applied"),
         "leader": ("rejected:role_not_allowed", "rejected:role_not_allowed"),
         "admin": ("rejected:role_not_allowed", "rejected:role_not_allowed")}
_NOTE = {**_EDIT, "leader": ("applied", "applied")}
_READ = {"grid_officer": ("visible", "hidden"), "sector_inspector": ("visible", "hidden"),
         "office": ("visible", "visible"), "leader": ("visible", "visible"),
         "admin": ("visible", "visible")}
_BLOB = {"grid_officer": ("200", "404"), "sector_inspector": ("200", "404"),
         "office": ("200", "200"), "leader": ("200", "200"), "admin": ("200", "200")}
NO_UPLOADS = ("leader", "admin")  # they record no photos (rules.CREATE_ROLES)
_OWN_ONLY = {r: ("404", "404") if r in NO_UPLOADS else ("204", "404") for r in ROLES}
_FORBIDDEN = ("403", "403")


def _only(allowed: dict[str, str]) -> dict[str, tuple[str, str]]:
    return {r: (allowed[r], allowed[r]) if r in allowed else _FORBIDDEN for r in ROLES}


_OFFICE_READ = _only({"office": "200", "leader": "200"})
_OFFICE_ONLY = _only({"office": "200"})
_OFFICE_ONLY_CREATE = _only({"office": "201"})
_AUDIT_READ = _only({"office": "200", "leader": "200", "admin": "200"})
_ADMIN_ONLY = _only({"admin": "200"})
_ADMIN_CREATE = _only({"admin": "201"})
#: complainant data in the pull: in clear for whoever recorded the case and the
#: office roles, masked for the other field roles and for admin.
_COMPLAINANT = {"grid_officer": ("clear", "masked"), "sector_inspector": ("clear", "masked"),
                "office": ("clear", "clear"), "leader": ("clear", "clear"),
                "admin": ("masked", "masked")}
MATRIX: dict[tuple[str, str], dict[str, tuple[str, str]]] = {
    ("POST /auth/login", "log in (scope n/a)"): {r: ("200", "200") for r in ROLES},
    ("POST /auth/login", "another user's device id (in: with its secret, a hand-over; "
                         "out: with another secret)"): {r: ("200", "409") for r in ROLES},
    ("POST /sync/push", "edit a site"): _EDIT,
    ("POST /sync/push", "open a case on a site"): _EDIT,
    ("POST /sync/push", "add a note event to a case"): _NOTE,
    ("POST /sync/push", "add a photo record to a site"): _EDIT,
    ("POST /sync/push", "create a site in a village"): _EDIT,
    ("POST /sync/push", "push as another device (token of A, device_id B)"):
        {r: ("401", "401") for r in ROLES},
    ("GET /sync/pull", "site in the pull"): _READ,
    ("GET /sync/pull", "case in the pull"): _READ,
    ("GET /sync/pull", "complainant data (in: a case this user recorded on this device, "
                       "out: the office's case in scope)"):
        _COMPLAINANT,
    ("GET /sync/pull", "complainant data (in: a case this user recorded, pulled on another "
                       "of their devices; out: a case another user recorded on this device)"):
        _COMPLAINANT,
    ("GET /sync/receipt", "own device (in) / another user's device (out)"):
        {"grid_officer": ("200", "403"), "sector_inspector": ("200", "403"),
         "office": ("200", "200"), "leader": ("200", "403"), "admin": ("200", "200")},
    ("POST /uploads", "create an upload"):
        _only({"grid_officer": "201", "sector_inspector": "201", "office": "201"}),
    ("HEAD /uploads/{id}", "own upload (in) / another user's (out)"):
        {r: ("404", "404") if r in NO_UPLOADS else ("200", "404") for r in ROLES},
    ("PATCH /uploads/{id}", "own upload (in) / another user's (out)"): _OWN_ONLY,
    ("DELETE /uploads/{id}", "own upload (in) / another user's (out)"): _OWN_ONLY,
    ("GET /blobs/{sha256}", "photo of a site"): _BLOB,
    ("HEAD /blobs/{sha256}", "photo of a site"): _BLOB,
    # the office console and reports (township-wide: "out" is a site no field
    # role of the matrix covers; field roles are refused before any body is read)
    ("GET /office/inspections", "inspections of the site's village"): _OFFICE_READ,
    ("GET /office/inspections/{id}", "a submitted inspection of the site"): _OFFICE_READ,
    ("POST /office/inspections/{id}/review", "approve it"): _OFFICE_ONLY,
    ("GET /office/conflicts", "open conflicts"): _OFFICE_READ,
    ("GET /office/conflicts/{id}", "a conflict on the site"): _OFFICE_READ,
    ("POST /office/conflicts/{id}/resolve", "keep the winner"): _OFFICE_ONLY,
    ("GET /cases", "the ledger of the site's village"): _OFFICE_READ,
    ("POST /cases", "hotline intake (12333) on the site"): _OFFICE_ONLY_CREATE,
    ("GET /cases/{id}", "a case on the site"): _OFFICE_READ,
    ("POST /cases/{id}/events", "a note on that case"): _OFFICE_READ,
    ("GET /office/sites", "the registry of the site's village"): _OFFICE_READ,
    ("GET /office/sites/{id}/history", "the site's registry history"): _OFFICE_READ,
    ("GET /office/audit", "the audit log (scope n/a)"): _AUDIT_READ,
    ("GET /office/calendar", "the working-day calendar (scope n/a)"): _AUDIT_READ,
    ("PUT /admin/calendar", "replace the calendar (scope n/a)"): _ADMIN_ONLY,
    ("POST /admin/users", "create a grid officer of the site's village"): _ADMIN_CREATE,
    ("POST /admin/devices/{id}/revoke", "revoke a grid officer's device"): _ADMIN_ONLY,
    ("POST /admin/devices/{id}/enable", "re-enable a grid officer's revoked device"):
        _ADMIN_ONLY,
    ("POST /admin/users/{username}/disable", "disable a grid officer of the site's village"):
        _ADMIN_ONLY,
    ("POST /admin/users/{username}/enable", "enable a disabled grid officer"): _ADMIN_ONLY,
    ("POST /admin/users/{username}/password", "set a grid officer's password"): _ADMIN_ONLY,
    ("POST /admin/users/{username}/role", "make a grid officer a sector inspector"):
        _ADMIN_ONLY,
    ("POST /auth/logout", "log out its own login (scope n/a)"):
        {r: ("200", "200") for r in ROLES},
    ("GET /reports/summary", "this month's figures (scope n/a)"): _OFFICE_READ,
    ("GET /reports/monthly.xlsx", "this month's workbook (scope n/a)"): _OFFICE_READ,
    ("GET /reports/monthly.csv", "one sheet as CSV (scope n/a)"): _OFFICE_READ,
    # --- #17 cases ---
    ("GET /office/settings/case-routing", "the routing thresholds (scope n/a)"): _OFFICE_READ,
    ("PUT /office/settings/case-routing", "change them (scope n/a)"): _OFFICE_ONLY,
    # --- #17: printed documents, alerts, the risk list and 复查 tasks ---
    ("GET /office/inspections/{id}/record.pdf", "the inspection's 检查记录"): _OFFICE_READ,
    ("GET /office/inspections/{id}/rectification.pdf", "its 限期整改通知书 (a failed item)"):
        _OFFICE_READ,
    ("GET /cases/{id}/closure.pdf", "a case's 销号记录"): _OFFICE_READ,
    ("GET /office/calendar/coverage", "the calendar's coverage (scope n/a)"): _AUDIT_READ,
    ("GET /office/alerts", "the incident alerts (township-wide)"): _OFFICE_READ,
    ("POST /office/alerts/{id}/ack", "acknowledge the incident on the site"): _OFFICE_READ,
    ("GET /office/risk-warnings", "the risk list of the site's village"): _OFFICE_READ,
    ("POST /office/risk-warnings/{id}/handle", "mark a warning of the site handled"):
        _OFFICE_ONLY,
    ("GET /office/reinspections", "复查 tasks of the site's village"): _OFFICE_READ,
    ("POST /office/reinspections/{id}/extend", "a new due date for the site's task"):
        _OFFICE_ONLY,
}
#: Every authenticated endpoint without a token, with an unknown, a revoked
#: or an expired token: 401 with the one error shape, whatever the role.
AUTHED = ("POST /auth/logout", "POST /sync/push", "GET /sync/pull", "GET /sync/receipt", "POST /uploads",
          "HEAD /uploads/{id}", "PATCH /uploads/{id}", "DELETE /uploads/{id}",
          "GET /blobs/{sha256}", "HEAD /blobs/{sha256}",
          *sorted({endpoint for endpoint, _ in MATRIX if endpoint.split()[1].startswith(
              ("/office", "/cases", "/admin", "/reports"))}))
TOKEN_CASES = {"no token": "auth_required", "unknown token": "token_invalid",
               "revoked token": "token_revoked"}


def render_matrix() -> str:
    head = "| endpoint | action | " + " | ".join(ROLES) + " |"
    lines = [head, "|" + "---|" * (2 + len(ROLES))]
    for (endpoint, action), row in MATRIX.items():
        cells = [f"{row[r][0]} / {row[r][1]}" for r in ROLES]
        lines.append(f"| `{endpoint}` | {action} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("| endpoint | " + " | ".join(TOKEN_CASES) + " |")
    lines.append("|" + "---|" * (1 + len(TOKEN_CASES)))
    for endpoint in AUTHED:
        lines.append(f"| `{endpoint}` | " + " | ".join(f"401 `{c}`" for c in TOKEN_CASES.values())
                     + " |")
    return "\n".join(lines) + "\n"


# --- running the matrix --------------------------------------------------------------

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4 + b"\xff\xd9"


class Township:
    """The server World plus, per role, a logged-in device; office records
    in both sites (cases with complainant data, photos with their bytes)."""

    def __init__(self, world: World) -> None:
        self.w = world
        self.http = world.http
        self.dev = {r: world.device(USER[r], f"dev-{r}", pull=False) for r in ROLES}
        self.other = world.device("office1", "dev-office-2", pull=False)
        self.site = {IN: world.site1, OUT: world.site2}
        self.case: dict[str, str] = {}
        self.photo_sha: dict[str, str] = {}
        office = self.other
        for where, site in self.site.items():
            case = uuid7()
            self.case[where] = case
            sha_bytes = JPEG + where.encode()
            sha = hashlib.sha256(sha_bytes).hexdigest()
            self.photo_sha[where] = sha
            self.upload(office, sha_bytes)
            for res in office.sync(
                office.upsert("case", case, {"site_id": site, "sector": "construction",
                                             "title": "欠薪", "complainant_name": "张三丰",
                                             "complainant_phone": "13800001234",
                                             "complainant_id_number": "500101199001011234"}),
                office.insert("photo", uuid7(), {"sha256": sha, "owner_entity": "site",
                                                  "owner_id": site, "bytes": len(sha_bytes)})):
                assert res["status"] == "applied", res
        # each field role's own case, with complainant data, in its scope
        self.own_case: dict[str, str] = {}
        for role in ROLES:
            d = self.dev[role]
            cid = uuid7()
            self.own_case[role] = cid
            if role in ("grid_officer", "sector_inspector", "office"):
                res = d.sync(d.upsert("case", cid, {
                    "site_id": world.site1, "sector": "construction", "title": "本人登记",
                    "complainant_name": "李四", "complainant_phone": "13900005678"}))[0]
                assert res["status"] == "applied", res

        # the office console's objects: a construction site out of every field
        # scope of the matrix (village 2, department 2), a submitted inspection
        # and an open conflict on each side
        self.office_site = {IN: world.site1, OUT: uuid7()}
        with world.store.transaction() as tx:
            ServerWriter(tx, world.clock()).upsert("site", self.office_site[OUT], {
                "name": "二社区厂房扩建工地", "kind": "construction", "village_id": world.v2,
                "department_id": world.d2, "status": "active"})
        self.village = {IN: world.v1, OUT: world.v2}
        self.inspector = {IN: world.device("grid1", "dev-insp-in"),
                          OUT: world.device("grid2", "dev-insp-out")}
        self.editors = {IN: (self.inspector[IN], world.device("sector1", "dev-edit-in")),
                        OUT: (self.inspector[OUT], world.device("office1", "dev-edit-out"))}
        self.inspection = {w: self.submitted(w) for w in (IN, OUT)}
        self.conflict = {w: self.make_conflict(w) for w in (IN, OUT)}
        # an inspection that found a failed item and workers reporting arrears, on each side
        self.risky = {w: self.submitted_risky(w) for w in (IN, OUT)}
        # a collective incident reported on the site (it raises an alert)
        incident = uuid7()
        grid = self.inspector[IN]
        ok(grid.sync(grid.insert("incident", incident, {
            "kind": "collective_claim", "site_id": world.site1, "headcount": 12,
            "occurred_at": world.clock() - 60_000, "on_scene": "到场劝导，维持秩序",
            "brought_in": ["police"]}))[0])
        self.alert = world.store.get_record("incident", incident).data["alert_id"]

    def submitted(self, where: str) -> str:
        return submit_inspection(self.inspector[where], self.office_site[where],
                                 complete_answers())

    def submitted_risky(self, where: str) -> str:
        """A submitted inspection with a failed item and two workers reporting
        arrears: the server makes a risk warning and a 复查 task of it."""
        return submit_inspection(self.inspector[where], self.office_site[where], complete_answers(
            C22={"answer": "no"}, C26={"answer": "补设维权告示牌"},
            C24={"answer": {"interviewed": 6, "reporting_arrears": 2}}))

    def made_of(self, entity: str, inspection: str) -> str:
        """The server-made ``entity`` (risk_warning, reinspection) of ``inspection``."""
        [rec] = [r for r in self.w.store.records(entity) if r.data["inspection_id"] == inspection]
        return rec.id

    def make_conflict(self, where: str) -> str:
        """Two devices change the site's contractor from the same base."""
        a, b = self.editors[where]
        a.pull()
        b.pull()
        site = self.office_site[where]
        ma = a.upsert("site", site, {"contractor": "甲" + uuid7()[-6:]})
        self.w.clock.advance(10)
        mb = b.upsert("site", site, {"contractor": "乙" + uuid7()[-6:]})
        assert a.sync(ma)[0]["status"] == "applied"
        res = b.sync(mb)[0]
        assert res["status"] == "merged", res
        return res["conflicts"][0]["conflict_id"]

    def create_upload(self, dev: Any, data: bytes):
        sha = hashlib.sha256(data).hexdigest()
        meta = "sha256 " + base64.b64encode(sha.encode()).decode()
        return self.http.post("/api/v1/uploads", headers={
            **dev.headers, "Tus-Resumable": "1.0.0", "Upload-Length": str(len(data)),
            "Upload-Metadata": meta})

    def upload(self, dev: Any, data: bytes, finish: bool = True) -> str:
        r = self.create_upload(dev, data)
        assert r.status_code == 201, r.text
        location = r.headers["location"]
        if finish:
            r = self.patch(dev, location, data, 0)
            assert r.status_code == 204, r.text
        return location

    def patch(self, dev: Any, location: str, data: bytes, offset: int):
        return self.http.patch(location, content=data, headers={
            **dev.headers, "Tus-Resumable": "1.0.0", "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream"})


def push_one(dev: Any, mutation: dict[str, Any]) -> str:
    res = dev.sync(mutation)[0]
    if res["status"] == "rejected":
        return "rejected:" + res["error"]["code"]
    return res["status"]


def pulled(dev: Any) -> dict[tuple[str, str], dict[str, Any]]:
    return {(c["entity"], c["id"]): c["data"] for c in dev.pull(0)}


def run_cell(t: Township, endpoint: str, action: str, role: str, where: str) -> str:
    dev = t.dev[role]
    site, case, sha = t.site[where], t.case[where], t.photo_sha[where]
    key = (endpoint, action)
    if key == ("POST /auth/login", "log in (scope n/a)"):
        r = t.http.post("/api/v1/auth/login", json={
            "username": USER[role], "password": "pw-治欠", "device_id": f"login-{role}-{where}",
            "device_secret": device_secret(f"login-{role}-{where}")})
        return str(r.status_code)
    if action.startswith("another user's device id"):
        victim = t.w.device("grid2", f"victim-{role}-{where}", pull=False)
        secret = device_secret(victim.device_id) if where == IN else "another-" + uuid7()
        r = t.http.post("/api/v1/auth/login", json={
            "username": USER[role], "password": "pw-治欠", "device_id": victim.device_id,
            "device_secret": secret})
        return str(r.status_code)
    if endpoint == "POST /auth/logout":
        # a login of its own: the role's device keeps its token for the other cells
        headers = t.w.login(USER[role], f"logout-{role}-{where}")
        r = t.http.post("/api/v1/auth/logout", headers=headers)
        gone = t.http.get("/api/v1/sync/pull", headers=headers).status_code
        return str(r.status_code) if gone == 401 else f"{r.status_code}, token still works"
    if action == "edit a site":
        dev.pull()  # base on what the server holds: a clean edit
        return push_one(dev, dev.upsert("site", site, {"contact_phone": f"1{uuid7()[-10:]}"}))
    if action == "open a case on a site":
        return push_one(dev, dev.upsert("case", uuid7(), {"site_id": site, "sector": "construction",
                                                          "title": "矩阵"}))
    if action == "add a note event to a case":
        return push_one(dev, dev.insert("case_event", uuid7(), {"case_id": case, "kind": "note",
                                                                "note": "矩阵"}))
    if action == "add a photo record to a site":
        return push_one(dev, dev.insert("photo", uuid7(), {"sha256": sha, "owner_entity": "site",
                                                           "owner_id": site}))
    if action == "create a site in a village":
        village, dept = (t.w.v1, t.w.d1) if where == IN else (t.w.v2, t.w.d2)
        return push_one(dev, dev.upsert("site", uuid7(), {"name": "新工地", "kind": "other",
                                                          "village_id": village,
                                                          "department_id": dept}))
    if action.startswith("push as another device"):
        r = dev.push_response(dev.upsert("site", site, {"address": "x"}),
                              device_id=t.other.device_id)
        assert_error_shape(r)
        return str(r.status_code)
    if action == "site in the pull":
        return "visible" if ("site", site) in pulled(dev) else "hidden"
    if action == "case in the pull":
        return "visible" if ("case", case) in pulled(dev) else "hidden"
    if action.startswith("complainant data (in: a case this user recorded, pulled"):
        if where == IN:  # their own case (leader, admin: the office's), on a second device
            target = t.own_case[role] if role not in ("leader", "admin") else t.case[IN]
            dev = t.w.device(USER[role], f"second-{role}", pull=False)
        else:  # another user records a case on a device, then hands it to this role
            shared = f"handed-{role}"
            recorder = t.w.device("sector1" if role == "office" else "office1", shared,
                                  pull=False)
            target = uuid7()
            res = recorder.sync(recorder.upsert("case", target, {
                "site_id": t.w.site1, "sector": "construction", "title": "交接",
                "complainant_name": "张三丰", "complainant_phone": "13800001234"}))[0]
            assert res["status"] == "applied", res
            dev = t.w.device(USER[role], shared, pull=False)  # same device, same secret
        data = pulled(dev).get(("case", target))
        assert data is not None
        clear = data["complainant_name"] in ("张三丰", "李四")
        assert clear == (data["complainant_phone"] in ("13800001234", "13900005678"))
        return "clear" if clear else "masked"
    if action.startswith("complainant data"):
        target = t.own_case[role] if where == IN else t.case[IN]
        if where == IN and role in ("leader", "admin"):
            target = t.case[IN]  # they record no cases: the office's case in village 1
        data = pulled(dev).get(("case", target))
        assert data is not None
        clear = data["complainant_name"] in ("张三丰", "李四")
        assert clear == (data["complainant_phone"] in ("13800001234", "13900005678"))
        return "clear" if clear else "masked"
    if endpoint == "GET /sync/receipt":
        device_id = dev.device_id if where == IN else t.other.device_id
        r = t.http.get("/api/v1/sync/receipt", params={"device_id": device_id},
                       headers=dev.headers)
        return str(r.status_code)
    if endpoint == "POST /uploads":
        return str(t.create_upload(dev, JPEG + f"{role}{where}".encode()).status_code)
    if endpoint.endswith("/uploads/{id}"):
        # roles that record no photos have no upload of their own: the office's
        own = where == IN and role not in NO_UPLOADS
        # (an upload is its user's on any device: "out" is another user's)
        owner = dev if own else (t.dev["office"] if role != "office" else t.dev["grid_officer"])
        data = JPEG + f"{role}{where}{endpoint}".encode()
        location = t.upload(owner, data, finish=False)
        h = {**dev.headers, "Tus-Resumable": "1.0.0"}
        if endpoint.startswith("HEAD"):
            r = t.http.head(location, headers=h)
        elif endpoint.startswith("PATCH"):
            r = t.patch(dev, location, data, 0)
        else:
            r = t.http.delete(location, headers=h)
        return str(r.status_code)
    if endpoint.endswith("/blobs/{sha256}"):
        method = endpoint.split()[0]
        r = t.http.request(method, f"/api/v1/blobs/{sha}", headers=dev.headers)
        if method == "GET" and r.status_code == 200:
            assert hashlib.sha256(r.content).hexdigest() == sha
        return str(r.status_code)
    if endpoint.split()[1].startswith(("/office", "/cases", "/admin", "/reports")):
        return office_cell(t, endpoint, role, where)
    raise AssertionError(f"no runner for {key}")


def office_cell(t: Township, endpoint: str, role: str, where: str) -> str:
    """One request to the office console or reports; the status it answered.
    Each write acts on an object of its own, so every cell is independent."""
    dev, http = t.dev[role], t.http
    site, village = t.office_site[where], t.village[where]
    method, path = endpoint.split(" ", 1)
    body: Any = None
    query: dict[str, str] = {}
    match path:
        case "/office/inspections" | "/cases" | "/office/sites" if method == "GET":
            query = {"village": village}
        case "/office/inspections/{id}":
            path = path.replace("{id}", t.inspection[where])
        case "/office/inspections/{id}/review":
            path = path.replace("{id}", t.submitted(where))
            body = {"state": "approved", "comment": "矩阵"}
        case "/office/conflicts":
            query = {"status": "open"}
        case "/office/conflicts/{id}":
            path = path.replace("{id}", t.conflict[where])
        case "/office/conflicts/{id}/resolve":
            path = path.replace("{id}", t.make_conflict(where))
            body = {"choice": "winner"}
        case "/cases" if method == "POST":
            body = {"source": "12333", "sector": "construction", "title": "矩阵热线",
                    "site_id": site, "workers_owed": 2, "amount_owed": 8000}
        case "/cases/{id}" | "/cases/{id}/events":
            path = path.replace("{id}", t.case[IN if where == IN else OUT])
            if method == "POST":
                body = {"kind": "note", "note": "矩阵"}
        case "/office/sites/{id}/history":
            path = path.replace("{id}", site)
        case "/admin/calendar":
            body = json.loads(CALENDAR_FILE.read_text(encoding="utf-8"))
        case "/admin/users":
            body = {"username": "m" + uuid7()[-10:], "password": "pw-治欠-matrix",
                    "role": "grid_officer", "village_ids": [village]}
        case "/admin/devices/{id}/revoke":
            victim = t.w.device("grid1" if where == IN else "grid2", "rv-" + uuid7(), pull=False)
            path = path.replace("{id}", victim.device_id)
        case "/admin/devices/{id}/enable":
            victim = t.w.device("grid1" if where == IN else "grid2", "en-" + uuid7(), pull=False)
            assert revoke_device(t.w.store, victim.device_id, t.w.clock()) == 1
            path = path.replace("{id}", victim.device_id)
        case _ if path.startswith("/admin/users/{username}/"):
            # a grid officer of its own for every cell
            username = "lc" + uuid7()[-10:]
            create_user(t.w.store, username, "pw-治欠-lifecycle", "grid_officer",
                        village_ids=[village], scrypt_n=SCRYPT_N)
            path = path.replace("{username}", username)
            body = {"/password": {"password": "pw-治欠-new-one"},
                    "/role": {"role": "sector_inspector"}}.get(path[path.rindex("/"):])
        case "/reports/monthly.csv":
            query = {"sheet": "cases"}
        case "/office/settings/case-routing" if method == "PUT":
            body = {"workers": 10, "amount": 100_000}
        case "/office/inspections/{id}/record.pdf":
            path = path.replace("{id}", t.inspection[where])
        case "/office/inspections/{id}/rectification.pdf":
            path = path.replace("{id}", t.risky[where])
        case "/cases/{id}/closure.pdf":
            path = path.replace("{id}", t.case[where])
        case "/office/alerts/{id}/ack":
            path = path.replace("{id}", t.alert)
        case "/office/risk-warnings" | "/office/reinspections":
            query = {"village": village}
        case "/office/risk-warnings/{id}/handle":  # a warning of its own for every cell
            path = path.replace("{id}", t.made_of("risk_warning", t.submitted_risky(where)))
            body = {"note": "已约谈总包单位"}
        case "/office/reinspections/{id}/extend":
            path = path.replace("{id}", t.made_of("reinspection", t.submitted_risky(where)))
            due = dt.datetime.fromtimestamp(t.w.clock() / 1000 + 30 * 86400, LOCAL).date()
            body = {"due_date": due.isoformat(), "note": "春节前复查"}
    r = http.request(method, "/api/v1" + path, params=query, json=body, headers=dev.headers)
    if r.status_code >= 400:
        assert_error_shape(r)
    elif method == "GET" and path.endswith(".xlsx"):
        assert r.content[:2] == b"PK"  # a real workbook (a zip)
    elif method == "GET" and path.endswith(".pdf"):
        assert r.content[:5] == b"%PDF-"
    return str(r.status_code)


def test_authorisation_matrix(world: World, figures) -> None:
    t = Township(world)
    got: dict[tuple[str, str], dict[str, tuple[str, str]]] = {}
    cells = 0
    for key in MATRIX:
        got[key] = {}
        for role in ROLES:
            got[key][role] = (run_cell(t, *key, role, IN), run_cell(t, *key, role, OUT))
            cells += 2
    diffs = [f"{k} {r}: expected {MATRIX[k][r]}, got {got[k][r]}"
             for k in MATRIX for r in ROLES if got[k][r] != MATRIX[k][r]]
    assert not diffs, "\n".join(diffs)
    figures.record("authorisation matrix", cells=cells)


def _request(t: Township, endpoint: str, headers: dict[str, str]):
    method, path = endpoint.split(" ", 1)
    path = path.replace("{id}", uuid7()).replace("{sha256}", t.photo_sha[IN]).replace(
        "{username}", "grid2")
    kwargs: dict[str, Any] = {"headers": {**headers, "Tus-Resumable": "1.0.0"}}
    if endpoint == "POST /sync/push":
        kwargs["json"] = {"protocol": 1, "device_id": "x", "client_time_ms": 0, "mutations": []}
    if endpoint == "POST /uploads":
        kwargs["headers"].update({"Upload-Length": "10", "Upload-Metadata": "sha256 " +
                                  base64.b64encode(b"a" * 64).decode()})
    if endpoint.startswith("PATCH"):
        kwargs["headers"].update({"Upload-Offset": "0",
                                  "Content-Type": "application/offset+octet-stream"})
        kwargs["content"] = b"x"
    return t.http.request(method, "/api/v1" + path, **kwargs)


def test_bad_tokens_are_401_on_every_endpoint(world: World, figures) -> None:
    t = Township(world)
    revoked = world.device("grid1", "dev-revoked", pull=False)
    assert revoke_device(world.store, revoked.device_id, world.clock()) >= 1
    tokens = {"no token": {}, "unknown token": {"Authorization": "Bearer nope-" + uuid7()},
              "revoked token": revoked.headers}
    checked = 0
    for endpoint in AUTHED:
        for name, headers in tokens.items():
            r = _request(t, endpoint, headers)
            assert r.status_code == 401, (endpoint, name, r.status_code, r.text)
            if not endpoint.startswith("HEAD"):
                assert assert_error_shape(r)["code"] == TOKEN_CASES[name], (endpoint, name)
            checked += 1
    figures.record("authorisation matrix", bad_token_requests=checked)


def test_complainant_data_never_reaches_a_role_that_must_not_see_it(world: World) -> None:
    """Beyond the pull: no answer a field role can get carries the office's
    complainant data in clear (push answers, receipts, pulls of every page)."""
    t = Township(world)
    secrets = ("张三丰", "13800001234", "500101199001011234")
    for role in ("grid_officer", "sector_inspector", "admin"):
        dev = t.dev[role]
        bodies = [dev.pull_response(0, limit=1).text]
        bodies += [c for c in [str(dev.pull(0))]]
        bodies.append(t.http.get("/api/v1/sync/receipt", headers=dev.headers).text)
        bodies.append(dev.push_response(dev.upsert("case", t.case[IN], {"title": "改"})).text)
        # and every GET of the API (office console and reports included), with
        # path parameters filled with the case, its site and its village
        paths = t.http.get("/schema/openapi.json").json()["paths"]
        for path, ops in paths.items():
            if "get" not in ops or not path.startswith("/api/"):
                continue
            url = re.sub(r"\{[^}]*\}", t.case[IN], path)
            bodies.append(t.http.get(url, headers=dev.headers).text)
            for param in ("site", "village"):
                alt = {"site": world.site1, "village": world.v1}[param]
                bodies.append(t.http.get(re.sub(r"\{[^}]*\}", alt, path),
                                         headers=dev.headers).text)
        for body in bodies:
            for s in secrets:
                assert s not in body, (role, s)


def test_the_docs_print_the_matrix() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "reliability.md").read_text()
    assert render_matrix() in docs, "run: python -c 'from reliability.test_authz import " \
        "render_matrix; print(render_matrix())' and paste it into docs/reliability.md"


def test_every_api_route_is_in_the_matrix(world: World) -> None:
    """A new endpoint must get a row in MATRIX (and so a cell per role), or
    be the public login/OpenAPI routes."""
    routes = {(m, re.sub(r"\{[^}:]+(:[^}]+)?\}", "{}", r.path.removeprefix("/api/v1")))
              for r in world.http.app.routes for m in getattr(r, "methods", ())
              if m != "OPTIONS" and r.path.startswith("/api/v1/")}
    listed = {(endpoint.split()[0], re.sub(r"\{[^}]+\}", "{}", endpoint.split()[1]))
              for endpoint, _ in MATRIX}
    missing = sorted(routes - listed - {("HEAD", p) for m, p in routes if m == "GET"})
    assert not missing, f"endpoints without a row in MATRIX: {missing}"
