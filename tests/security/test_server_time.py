"""Finding 2 of issue #14 (backdating): the server counts on its own time.

Deadlines, on-time rates and the monthly figures count a record or event at
the time the server received it (``received_at``), or at the device's time
when that is at most ``max_backdate_ms`` before the receipt and not after it.
The device's own times stay in the record, shown as "reported at".
"""

from __future__ import annotations

import datetime as dt
from typing import Any

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
