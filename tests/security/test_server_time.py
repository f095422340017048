"""Finding 2 of issue #14 (backdating): the server counts on its own time.

Deadlines, on-time rates and the monthly figures count a record or event at
the time the server received it (``received_at``), or at the device's time
when that is at most ``max_backdate_ms`` before the receipt and not after it.
The device's own times stay in the record, shown as "reported at".
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import openpyxl

from server.support import DAY_MS, Device, World, ok, rejected
from shared_schema.ids import uuid7
from shared_schema.servertime import DEFAULT_MAX_BACKDATE_MS

LOCAL = dt.timezone(dt.timedelta(hours=8))


def month_of(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, LOCAL).strftime("%Y-%m")


def summary(world: World, headers: dict[str, str], month: str) -> dict[str, Any]:
    r = world.http.get("/api/v1/reports/summary", params={"month": month}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def case_detail(world: World, headers: dict[str, str], case_id: str) -> dict[str, Any]:
    r = world.http.get(f"/api/v1/cases/{case_id}", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def new_case(dev: Device, world: World, **fields: Any) -> str:
    case_id = uuid7()
    ok(dev.sync(dev.upsert("case", case_id, {
        "village_id": world.v1, "site_id": world.site1, "sector": "construction",
        "title": "班组反映欠薪", "employer": "某劳务公司", "workers_owed": 2,
        "amount_owed": 9_000, **fields}))[0])
    return case_id


def add_event(dev: Device, case_id: str, kind: str, **fields: Any) -> dict[str, Any]:
    return dev.sync(dev.insert("case_event", uuid7(), {"case_id": case_id, "kind": kind,
                                                       **fields}))[0]


def test_backdated_payment_does_not_move_an_old_month(world: World) -> None:
    office = world.login("office1", "office-pc")
    grid1 = world.device("grid1", "devA")
    case_id = new_case(grid1, world)
    ok(add_event(grid1, case_id, "accept"))
    long_ago = world.clock() - 400 * DAY_MS
    old_month = month_of(long_ago)
    assert summary(world, office, old_month)["totals"]["amount_recovered"] == 0
    ok(add_event(grid1, case_id, "payment", amount_recovered=1e9, workers_paid=2,
                 created_at=long_ago))
    old = summary(world, office, old_month)["totals"]
    assert (old["amount_recovered"], old["workers_paid"]) == (0, 0)
    # The workbook is written from the same summary: its 汇总 sheet agrees.
    r = world.http.get("/api/v1/reports/monthly.xlsx", params={"month": old_month},
                       headers=office)
    assert r.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(r.content))["汇总"]
    cells = {row[0]: row[1] for row in sheet.iter_rows(min_row=3, values_only=True)}
    assert cells["本月追回金额(元)"] == 0
    # It counts when the server received it: this month.
    this = summary(world, office, month_of(world.clock()))["totals"]
    assert (this["amount_recovered"], this["workers_paid"]) == (1e9, 2)


def test_backdated_resolution_is_not_on_time(world: World) -> None:
    """A case the server holds since 200 days, resolved now but "5 days later"
    by the device's clock, is late."""
    office = world.login("office1", "office-pc")
    grid1 = world.device("grid1", "devA")
    opened = world.clock()
    case_id = new_case(grid1, world)
    ok(add_event(grid1, case_id, "accept"))
    world.clock.advance(200 * DAY_MS)
    grid1.headers = world.login("grid1", "devA")  # a login lasts 30 days
    office = world.login("office1", "office-pc")
    ok(add_event(grid1, case_id, "resolve", note="已支付", created_at=opened + 5 * DAY_MS))
    ok(add_event(grid1, case_id, "note", note="回访", created_at=opened + 6 * DAY_MS))
    detail = case_detail(world, office, case_id)
    assert detail["deadlines"]["on_time"] is False
    assert detail["case"]["resolved_at"] >= world.clock() - DEFAULT_MAX_BACKDATE_MS
    early = summary(world, office, month_of(opened + 5 * DAY_MS))["totals"]
    assert (early["cases_concluded"], early["concluded_on_time"]) == (0, 0)
    now = summary(world, office, month_of(world.clock()))["totals"]
    assert (now["cases_concluded"], now["concluded_on_time"]) == (1, 0)
    assert now["on_time_rate"] == 0.0


def test_case_opened_in_2100_becomes_overdue(world: World) -> None:
    office = world.login("office1", "office-pc")
    grid1 = world.device("grid1", "devA")
    year_2100 = int(dt.datetime(2100, 1, 1, tzinfo=LOCAL).timestamp() * 1000)
    case_id = new_case(grid1, world, opened_at=year_2100)
    world.clock.advance(30 * DAY_MS)
    office = world.login("office1", "office-pc")
    detail = case_detail(world, office, case_id)
    assert detail["case"]["opened_at"] == year_2100  # the device's time is kept
    assert detail["deadlines"].get("overdue") is True
    listed = world.http.get("/api/v1/cases", params={"overdue": "true"}, headers=office).json()
    assert [c["case"]["id"] for c in listed["items"]] == [case_id]


def test_an_offline_case_keeps_its_recorded_time(world: World) -> None:
    """Recorded yesterday on a phone without signal, synced today: the case is
    opened yesterday for its deadlines and the report, its device times are
    kept as reported, and it carries the server's receipt."""
    from shared_schema import calendar

    office = world.login("office1", "office-pc")
    grid1 = world.device("grid1", "devA")
    yesterday = world.clock() - DAY_MS
    case_id = new_case(grid1, world, opened_at=yesterday, created_at=yesterday)
    ok(add_event(grid1, case_id, "accept", created_at=yesterday + 3_600_000))
    detail = case_detail(world, office, case_id)
    case = detail["case"]
    assert (case["opened_at"], case["created_at"]) == (yesterday, yesterday)
    assert case["received_at"] == world.clock()
    assert case["accepted_at"] == yesterday + 3_600_000
    due = calendar.packaged().add_workdays(calendar.local_date(yesterday), calendar.ACCEPT_DAYS)
    assert detail["deadlines"]["accept_due"] == due.isoformat()
    [accept] = detail["events"]
    assert (accept["created_at"], accept["received_at"], accept["counted_at"]) == (
        yesterday + 3_600_000, world.clock(), yesterday + 3_600_000)
    rows = summary(world, office, month_of(yesterday))["cases"]["rows"]
    assert [r["opened"] for r in rows] == [calendar.local_date(yesterday).isoformat()]
    # Five days offline is more than the window: it counts from receipt − 72 h.
    five_days = world.clock() - 5 * DAY_MS
    late = new_case(grid1, world, opened_at=five_days)
    opened = calendar.local_date(world.clock() - DEFAULT_MAX_BACKDATE_MS)
    due = calendar.packaged().add_workdays(opened, calendar.ACCEPT_DAYS)
    late_detail = case_detail(world, office, late)
    assert late_detail["case"]["opened_at"] == five_days
    assert late_detail["deadlines"]["accept_due"] == due.isoformat()


def test_the_window_is_a_setting(make_app_client, clock) -> None:
    from server.support import World as W

    app = make_app_client(max_backdate_ms=0)
    world = W(app.client, app.store, clock).seed()
    office = world.login("office1", "office-pc")
    grid1 = world.device("grid1", "devA")
    case_id = new_case(grid1, world, opened_at=world.clock() - DAY_MS)
    ok(add_event(grid1, case_id, "accept", created_at=world.clock() - DAY_MS))
    case = case_detail(world, office, case_id)["case"]
    assert case["accepted_at"] == world.clock()  # no device time counts earlier than receipt


def test_received_at_cannot_be_written_by_a_device(world: World) -> None:
    grid1 = world.device("grid1", "devA")
    case_id = uuid7()
    fields = {"village_id": world.v1, "sector": "construction", "title": "欠薪",
              "received_at": world.clock() - 400 * DAY_MS}
    err = rejected(grid1.sync(grid1.upsert("case", case_id, fields))[0], "field_not_writable")
    assert err["details"]["path"] == "$.fields.received_at"
    assert world.store.get_record("case", case_id) is None
    del fields["received_at"]
    ok(grid1.sync(grid1.upsert("case", case_id, fields))[0])
    stamped = world.store.get_record("case", case_id).data["received_at"]
    world.clock.advance(60_000)
    rejected(grid1.sync(grid1.upsert("case", case_id, {"received_at": 1}))[0],
             "field_not_writable")
    rejected(grid1.sync(grid1.insert("case_event", uuid7(), {
        "case_id": case_id, "kind": "note", "note": "x", "received_at": 1}))[0],
        "field_not_writable")
    rejected(grid1.sync(grid1.upsert("inspection", uuid7(), {
        "site_id": world.site1, "submitted_received_at": 1}))[0], "field_not_writable")
    assert world.store.get_record("case", case_id).data["received_at"] == stamped
    assert world.store.count_records("case_event") == 0


def test_pull_carries_received_at(world: World) -> None:
    grid1 = world.device("grid1", "devA")
    world.clock.advance(5_000)
    reported = world.clock() - DAY_MS
    case_id = new_case(grid1, world, created_at=reported)
    sector1 = world.device("sector1", "devB")  # supervises the case's site
    for dev in (grid1, sector1):
        dev.pull()
        data = dev.record("case", case_id)
        assert (data["received_at"], data["created_at"]) == (world.clock(), reported)
    assert grid1.record("site", world.site1)["received_at"] == world.clock() - 5_000


def _inspection(dev: Device, world: World, submitted_at: int) -> str:
    import hashlib

    from server.support import CONSTRUCTION, complete_answers
    from shared_schema.checklists import load_templates

    insp = uuid7()
    ok(dev.sync(dev.upsert("inspection", insp, {"site_id": world.site1,
                                                "answers": complete_answers()}))[0])
    for code in (i.code for i in load_templates()[CONSTRUCTION].items if i.photo == "required"):
        ok(dev.sync(dev.insert("photo", uuid7(), {
            "sha256": hashlib.sha256(f"{insp}{code}".encode()).hexdigest(),
            "owner_entity": "inspection", "owner_id": insp, "item_code": code}))[0])
    ok(dev.sync(dev.upsert("inspection", insp, {"state": "submitted",
                                                "submitted_at": submitted_at}))[0])
    return insp


def test_backdated_inspection_does_not_cover_an_old_month(world: World) -> None:
    office = world.login("office1", "office-pc")
    grid1 = world.device("grid1", "devA")
    long_ago = world.clock() - 400 * DAY_MS
    insp = _inspection(grid1, world, long_ago)
    r = world.http.post(f"/api/v1/office/inspections/{insp}/review",
                        json={"state": "approved"}, headers=office)
    assert r.status_code == 200, r.text
    assert r.json()["registry"]["fields"]["last_inspected_at"] == \
        world.clock() - DEFAULT_MAX_BACKDATE_MS
    old = summary(world, office, month_of(long_ago))["totals"]
    assert old["projects_inspected"] == 0
    now = summary(world, office, month_of(world.clock()))["totals"]
    assert now["projects_inspected"] == 1
    stored = world.store.get_record("inspection", insp).data
    assert (stored["submitted_at"], stored["submitted_received_at"]) == (long_ago, world.clock())


def test_office_intake_counts_from_the_stated_arrival(world: World) -> None:
    """The office console is the township's own desk: a complaint it registers
    late counts from the arrival time it states (a past time, audited)."""
    office = world.login("office1", "office-pc")
    arrived = world.clock() - 10 * DAY_MS
    r = world.http.post("/api/v1/cases", json={
        "source": "12333", "sector": "construction", "title": "来信反映欠薪",
        "village_id": world.v1, "received_at": arrived}, headers=office)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["case"]["received_at"] == arrived == body["case"]["opened_at"]
    assert body["deadlines"].get("overdue") is True
    [entry] = world.http.get("/api/v1/office/audit", params={"entity_id": body["case"]["id"]},
                             headers=office).json()["items"]
    assert entry["details"]["received_at"] == arrived
