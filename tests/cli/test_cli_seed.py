"""``seed-demo``: the 回龙坝镇 demo database, its users and what they can see."""

from __future__ import annotations

import hashlib
import io
from collections import Counter

from PIL import Image

from server.support import device_secret
from shared_schema.checklists import load_templates
from sync_server.domain.sync.rules import fold_case

from sync_server.demo import (
    CONSTRUCTION_DEPT,
    DEMO_PASSWORD,
    DEMO_USERS,
    FIRST_VILLAGE,
    GRID2_VILLAGE,
    seed_demo,
)

NAMED = ("区科技创新中心", "一纵线建设", "融创云鼎城", "永辉超市物流", "传化物流", "红星美凯龙物流")
OFFICES = ("平安建设办公室", "财政办公室", "司法所", "农业服务中心", "劳动就业和社会保障服务所",
           "回龙坝派出所")
ROLES = {"grid1": "grid_officer", "grid2": "grid_officer", "sector1": "sector_inspector",
         "office1": "office", "leader1": "leader", "admin": "admin"}


def by_name(store, entity):
    return {r.data["name"]: r for r in store.records(entity)}


def test_seed_counts_and_names(db, api):
    with api.store(db) as store:
        villages = by_name(store, "village")
        departments = by_name(store, "department")
        sites = by_name(store, "site")
        assert len(villages) == 12
        assert Counter(v.data["kind"] for v in villages.values()) == {"village": 10,
                                                                     "community": 2}
        assert all(v.data["demo"] is True and "(演示)" in name for name, v in villages.items())
        assert all(v.data["code"].startswith("500106106") for v in villages.values())
        assert len(departments) >= 8
        assert set(OFFICES) <= set(departments)
        assert departments[CONSTRUCTION_DEPT].data["sectors"] == ["construction"]
        assert len(sites) >= 46
        assert set(NAMED) <= set(sites)
        assert sites["区科技创新中心"].data["gov_invested"] is True
        assert sites["一纵线建设"].data["gov_invested"] is True
        assert sites["融创云鼎城"].data["kind"] == "construction"
        assert {sites[n].data["kind"] for n in NAMED[3:]} == {"logistics"}
        industries = Counter(s.data.get("industry") for s in sites.values())
        assert industries["纺织"] >= 10 and industries["机械加工"] >= 10
        village_ids = {v.id for v in villages.values()}
        department_ids = {d.id for d in departments.values()}
        for site in sites.values():
            d = site.data
            assert d["village_id"] in village_ids and site.village_id == d["village_id"]
            assert d["department_id"] in department_ids
            assert 29.60 < d["lat"] < 29.72 and 106.32 < d["lon"] < 106.44
            assert "回龙坝镇" in d["address"]
            assert d["contact_phone"].startswith("1380000") and len(d["contact_phone"]) == 11
            assert d["start_date"][:2] == "20"
            if d["kind"] == "construction":
                assert d["builder"] and d["contractor"] and d["contract_amount"] > 0
                assert departments[CONSTRUCTION_DEPT].id == d["department_id"]
        # every village has sites, grid1's included
        assert set(s.data["village_id"] for s in sites.values()) == village_ids
        # both kinds, each in every version a stored inspection may name (v1 and v2)
        assert store.count_records("checklist_template") == len(load_templates()) == 4


def test_seed_users_roles_and_scope(db, api):
    with api.store(db) as store:
        users = {u.username: u for u in store.list_users()}
        assert {name: u.role for name, u in users.items()} == ROLES
        villages = by_name(store, "village")
        departments = by_name(store, "department")
        assert users["grid1"].village_ids == [villages[FIRST_VILLAGE].id]
        assert users["grid1"].department_ids == []
        assert users["grid2"].village_ids == [villages[GRID2_VILLAGE].id]
        assert users["sector1"].department_ids == [departments[CONSTRUCTION_DEPT].id]
        # each user is also a reference record, without secrets
        records = {r.id: r.data for r in store.records("user")}
        for u in users.values():
            assert records[u.id]["username"] == u.username
            assert records[u.id]["display_name"] == u.display_name
            assert records[u.id]["role"] == u.role
            assert "password_hash" not in records[u.id]


def test_demo_cases_follow_the_case_rules(db, api):
    from shared_schema.cases import route

    with api.store(db) as store:
        cases = store.records("case")
        assert cases
        events: dict[str, list[dict]] = {}
        for e in store.records("case_event"):
            events.setdefault(e.data["case_id"], []).append(e.data)
        for case in cases:
            d = case.data
            if case.id not in events:
                assert d["status"] == "registered"
                assert d["level"] == d["initial_level"]
            else:  # moved on through case events: status and level are their fold
                trail = sorted(events[case.id], key=lambda e: e["hlc"])
                derived = fold_case(case, [(e["kind"], e["author_role"], e, e.get("created_at"))
                                           for e in trail])
                assert {k: d.get(k) for k in ("status", "level", "extended")} == {
                    k: derived[k] for k in ("status", "level", "extended")}, case.id
            site = store.get_record("site", d["site_id"])
            # #17: routed by the site (a construction project's case is its department's)
            assert d["initial_level"] == route(d, site.data).level, case.id
            assert case.village_id == site.village_id
            assert case.department_id == site.department_id


def test_every_demo_user_logs_in(db, api):
    with api.client(db) as client:
        for u in DEMO_USERS:
            res = client.post("/api/v1/auth/login", json={
                "username": u.username, "password": DEMO_PASSWORD, "device_id": f"d-{u.username}",
                "device_secret": device_secret(f"d-{u.username}")})
            assert res.status_code == 200, res.text
            assert res.json()["user"]["role"] == u.role
        res = client.post("/api/v1/auth/login", json={
            "username": "grid1", "password": "wrong-pass", "device_id": "d-x",
            "device_secret": device_secret("d-x")})
        assert res.status_code == 401


def test_grid1_pulls_only_its_village(db, api):
    with api.store(db) as store:
        village = by_name(store, "village")[FIRST_VILLAGE].id
        own_sites = {s.id for s in store.records("site") if s.village_id == village}
        all_sites = store.count_records("site")
    with api.client(db) as client:
        changes = api.pull_all(client, api.login(client, "grid1"))
    kinds = Counter(c["entity"] for c in changes)
    assert kinds["village"] == 12 and kinds["user"] == 6 and kinds["checklist_template"] == len(load_templates())
    assert kinds["work_calendar"] == 1
    assert kinds["department"] >= 8
    sites = [c for c in changes if c["entity"] == "site"]
    assert {c["id"] for c in sites} == own_sites
    assert 0 < len(sites) < all_sites
    assert all(c["data"]["village_id"] == village for c in sites)
    for c in changes:
        if c["entity"] in ("case", "inspection"):
            assert c["data"]["site_id"] in own_sites
    pulled = {(c["entity"], c["id"]) for c in changes}
    for c in changes:  # children come with a parent this officer can see
        if c["entity"] == "case_event":
            assert ("case", c["data"]["case_id"]) in pulled
        if c["entity"] == "photo":
            assert (c["data"]["owner_entity"], c["data"]["owner_id"]) in pulled
    assert set(kinds) <= {"village", "department", "user", "checklist_template", "work_calendar",
                          "site", "case", "case_event", "inspection", "photo",
                          "reinspection", "risk_warning", "incident"}  # #17, of its sites
    assert "alert" not in kinds  # alerts are the office's and leaders'
    for c in changes:
        if c["entity"] in ("reinspection", "risk_warning", "incident"):
            assert c["data"]["site_id"] in own_sites


def test_sector1_pulls_construction_sites_of_its_department(db, api):
    with api.client(db) as client:
        changes = api.pull_all(client, api.login(client, "sector1"))
    sites = [c for c in changes if c["entity"] == "site"]
    assert sites and {c["data"]["kind"] for c in sites} == {"construction"}


def test_seed_twice_is_a_no_op(tmp_path, cli, api):
    path = tmp_path / "demo" / "s.db"
    first = cli("seed-demo", "--db", path)
    assert first.code == 0, first.err
    assert "seeded" in first.out and "demo1234" in first.out
    with api.store(path) as store:
        before = store.max_rev()
        users = [(u.id, u.password_hash) for u in store.list_users()]
    second = cli("seed-demo", "--db", path)
    assert second.code == 0
    assert "already seeded" in second.out
    with api.store(path) as store:
        assert store.max_rev() == before
        assert [(u.id, u.password_hash) for u in store.list_users()] == users


def test_seed_is_deterministic(tmp_path, api):
    def snapshot(path):
        with api.store(path) as store:
            assert seed_demo(store, api.now).seeded
            return {e: sorted((r.id, r.data["name"]) for r in store.records(e))
                    for e in ("village", "department", "site")}, \
                sorted((u.id, u.username) for u in store.list_users())

    assert snapshot(tmp_path / "a.db") == snapshot(tmp_path / "b.db")


def test_demo_info_prints_url_and_logins(db, cli):
    res = cli("demo-info", "--db", db, "--port", 8123)
    assert res.code == 0, res.err
    assert "http://127.0.0.1:8123" in res.out
    assert "http://127.0.0.1:8123/schema" in res.out
    for u in DEMO_USERS:
        assert u.username in res.out and u.role in res.out
    assert FIRST_VILLAGE in res.out and CONSTRUCTION_DEPT in res.out
    assert "全镇" in res.out and res.out.count("demo1234") >= 7


def test_demo_info_needs_a_seeded_database(tmp_path, cli):
    missing = cli("demo-info", "--db", tmp_path / "none.db")
    assert missing.code == 1 and "no database" in missing.err
    assert not (tmp_path / "none.db").exists()


def test_seed_fills_the_office_console(db, api):
    """Through the real app: inspections waiting for review, some approved, an open
    conflict, and cases at several stages with at least one overdue."""
    with api.client(db) as client:
        headers = {"Authorization": "Bearer " + api.login(client, "office1", "office-pc")}

        def get(path, **params):
            r = client.get(path, params=params, headers=headers)
            assert r.status_code == 200, r.text
            return r.json()["items"]

        inspections = get("/api/v1/office/inspections", limit="200")
        assert 8 <= len(inspections) <= 12
        assert all(i["state"] == "submitted" for i in inspections)
        reviews = Counter(i.get("review_state") or "pending" for i in inspections)
        assert reviews["pending"] >= 3 and reviews["approved"] >= 2
        assert {i["inspector_name"] for i in inspections} >= {"梁滩村网格员(演示)",
                                                              "规建办巡查员(演示)"}
        conflicts = get("/api/v1/office/conflicts", status="open")
        assert len(conflicts) >= 1 and conflicts[0]["field"] == "contact_phone"
        cases = get("/api/v1/cases", limit="200")
        assert len(cases) >= 8
        statuses = Counter(c["case"]["status"] for c in cases)
        assert len(statuses) >= 4, statuses
        assert {"registered", "accepted", "resolved", "closed"} <= set(statuses)
        assert any(c["deadlines"]["overdue"] for c in cases)


def test_seed_demo_stores_real_photos_the_server_serves(tmp_path, cli, api):
    """`seed-demo` puts the demo inspections' photos where `serve` looks for
    them (`<db dir>/blobs`): the office console gets real JPEGs, hash-checked."""
    db = tmp_path / "demo" / "server.db"
    assert cli("seed-demo", "--db", db).code == 0
    with api.client(db) as client:
        headers = {"Authorization": "Bearer " + api.login(client, "office1", "office-pc")}
        [first] = client.get("/api/v1/office/inspections", params={"limit": "1"},
                             headers=headers).json()["items"]
        detail = client.get(f"/api/v1/office/inspections/{first['id']}", headers=headers).json()
        assert detail["photos"]
        for photo in detail["photos"]:
            r = client.get(f"/api/v1/blobs/{photo['sha256']}", headers=headers)
            assert r.status_code == 200, r.text
            assert hashlib.sha256(r.content).hexdigest() == photo["sha256"]
            assert Image.open(io.BytesIO(r.content)).format == "JPEG"
    assert cli("seed-demo", "--db", db).code == 0  # seeding again changes nothing
