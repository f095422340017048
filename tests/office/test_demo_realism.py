"""The demo reads like a township's own data (issue #17): invented firms, projects
and farms say (演示), township works cost what township works cost, each case names
the employer its title names, has its 欠薪期间, and owes a plausible monthly wage."""

from __future__ import annotations

import datetime as dt
import re
from typing import Callable

from server.support import AppClient, ManualClock
from shared_schema.calendar import local_date
from sync_server.demo import seed_demo
from sync_server.demo_township import NAMED_SITES, OWED_MONTHS, owed_period

PLAN_NAMES = {name for name, *_ in NAMED_SITES}
MONTH = re.compile(r"^20[0-9]{2}-(0[1-9]|1[0-2])$")


def test_owed_period_counts_the_months_before_opening() -> None:
    assert owed_period(dt.date(2025, 11, 26), 2) == ("2025-09", "2025-10")
    assert owed_period(dt.date(2026, 1, 5), 3) == ("2025-10", "2025-12")
    assert owed_period(dt.date(2026, 1, 5), 1) == ("2025-12", "2025-12")


def test_the_demo_is_realistic(make_app_client: Callable[..., AppClient],
                               clock: ManualClock) -> None:
    app = make_app_client()
    seed_demo(app.store, clock(), scrypt_n=app.settings.scrypt_n)
    sites = {s.id: s.data for s in app.store.records("site")}
    invented = [d for d in sites.values() if d["name"] not in PLAN_NAMES]
    assert invented and all(d["name"].endswith("(演示)") for d in invented)
    for d in sites.values():
        for firm in (d.get("builder"), d.get("contractor")):
            assert firm is None or firm.endswith("(演示)")
    township_works = [d for d in invented if d["kind"] == "construction" and d.get("gov_invested")]
    assert township_works
    assert all(1_000_000 <= d["contract_amount"] <= 30_000_000 for d in township_works)
    others = [d for d in sites.values() if d["kind"] == "other"]
    assert {d["industry"] for d in others} == {"花卉苗木基地", "农民专业合作社"}

    cases = [c.data for c in app.store.records("case")]
    assert len(cases) == len(OWED_MONTHS)
    for c in cases:
        assert MONTH.match(c["period_from"]) and MONTH.match(c["period_to"]), c["title"]
        assert c["period_from"] <= c["period_to"] < local_date(c["opened_at"]).strftime("%Y-%m")
        months = OWED_MONTHS[c["title"]]
        assert owed_period(local_date(c["opened_at"]), months) == (c["period_from"],
                                                                   c["period_to"])
        monthly = c["amount_owed"] / c["workers_owed"] / months
        assert 2_500 <= monthly <= 9_000, (c["title"], monthly)
        site = sites[c["site_id"]]
        if site["kind"] == "construction":
            assert c["employer"] == site["contractor"]
        else:
            assert c["employer"] == site["name"]
        for word, names in (("纺织厂", ("纺织", "织造")), ("服饰厂", ("服饰",)),
                            ("机械加工厂", ("机械加工厂",))):
            if c["title"].startswith(word):
                assert any(n in c["employer"] for n in names), (c["title"], c["employer"])
