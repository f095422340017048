#!/usr/bin/env python3
"""The office console's lists at district size: the case ledger (台账), the
review queue and the site registry, each as its service builds the first page
(50 rows) on a district's database (``bootstrap.build``: 20,000 sites, 50,000
cases, 100,000 inspections), the way the office screen asks for it.

    .venv/bin/python bench/office_lists.py [--db /tmp/district.db] [--rounds 3]

Reuses ``--db`` if it exists (built otherwise, about 20 s). Prints the median
of ``--rounds`` per list and filter, next to a baseline run in the same process
on the same database: every record of the entity decoded and filtered, ordered
and paged in Python (what each list did before its store query; the registry
also counted every site's open cases), without the names and deadlines of
every row that the old case ledger also worked out, so it is a lower bound of
their cost.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # the product tree under test on sys.path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="/tmp/district.db")
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()

    from shared_schema.cases import FINAL_STATUSES
    from sync_server.domain.principal import Principal
    from sync_server.domain.calendar import service as calendar
    from sync_server.domain.office import cases, registry, review
    from sync_server.settings import Settings
    from sync_server.store.sqlite import SqliteStore

    db = Path(a.db)
    if not db.exists():
        import bootstrap

        print(f"building a district into {db} ...", file=sys.stderr)
        bootstrap.build(db, sites=20_000, cases=50_000, inspections=100_000)
    store = SqliteStore(db)
    # The builder opens every case at the time it ran: read the ledger 30 days
    # later, so the overdue filter has cases to find (the registered ones).
    newest = store.cases_page(limit=1)[1]
    opened = (newest[0].data.get("opened_at") if newest else None) or int(time.time() * 1000)
    settings = Settings(db_path=db, now_ms=lambda: opened + 30 * 86_400_000)
    office = Principal(user_id="bench", username="bench", role="office",
                       village_ids=frozenset(), department_ids=frozenset(), device_id="bench",
                       scope_version=0)

    def timed(fn: Callable[[], Any]) -> tuple[float, int]:
        times, total = [], 0
        for _ in range(a.rounds):
            t0 = time.perf_counter()
            total = fn()
            times.append(time.perf_counter() - t0)
        return statistics.median(times), total

    def ledger(**f: Any) -> Callable[[], int]:
        args = dict(status=None, level=None, village=None, overdue=None, due_soon=None,
                    source=None, limit=50, offset=0) | f
        return lambda: cases.list_cases(store, settings, office, **args).page.total

    def queue(**f: Any) -> Callable[[], int]:
        args = dict(state=None, review_state=None, village=None, department=None, kind=None,
                    date_from=None, date_to=None, limit=50, offset=0) | f
        return lambda: review.list_inspections(store, office, **args).page.total

    def sites(**f: Any) -> Callable[[], int]:
        args = dict(village=None, kind=None, q=None, limit=50, offset=0) | f
        return lambda: registry.list_sites(store, office, **args).page.total

    def in_python(entity: str, keep: Callable[[dict], bool], order: Callable[[Any], Any]
                  ) -> Callable[[], int]:
        def run() -> int:
            rows = [r for r in store.records(entity) if not r.deleted and keep(r.data)]
            rows.sort(key=order, reverse=True)  # the page is then rows[:50]
            return len(rows)
        return run

    def sites_in_python(needle: str) -> Callable[[], int]:
        def run() -> int:
            store.cases_per_site(FINAL_STATUSES)  # every site's open cases, as before
            rows = [r for r in store.records("site") if not r.deleted and (not needle or any(
                needle in str(r.data.get(k) or "").lower() for k in registry.SEARCHED))]
            rows.sort(key=lambda r: (r.data.get("name") or "", r.id))
            return len(rows)
        return run

    def overdue_in_python() -> int:
        cal, now = calendar.load(store), settings.now_ms()
        rows = [r for r in store.records("case")
                if not r.deleted and calendar.case_deadlines(cal, r.data, now).overdue]
        rows.sort(key=newest_case, reverse=True)
        return len(rows)

    def newest_case(r: Any) -> tuple[Any, str]:
        return (r.data.get("opened_at") or 0, r.id)

    def newest_inspection(r: Any) -> tuple[Any, str]:
        return (r.data.get("submitted_at") or r.data.get("started_at") or 0, r.id)

    plan = [
        ("case ledger, first page", ledger(),
         in_python("case", lambda d: True, newest_case)),
        ("case ledger, status registered", ledger(status="registered"),
         in_python("case", lambda d: d.get("status") == "registered", newest_case)),
        ("case ledger, overdue", ledger(overdue=True), overdue_in_python),
        ("case ledger, page 900", ledger(offset=45_000), None),
        ("review queue, first page", queue(),
         in_python("inspection", lambda d: True, newest_inspection)),
        ("review queue, submitted + pending", queue(state="submitted", review_state="pending"),
         in_python("inspection", lambda d: d.get("state") == "submitted"
                   and d.get("review_state") == "pending", newest_inspection)),
        ("site registry, first page", sites(), sites_in_python("")),
        ("site registry, search", sites(q="工地0001"), sites_in_python("工地0001")),
    ]
    out = []
    print(f"{'list':36} | {'ours s':>7} | {'baseline s':>10} | rows matching")
    for name, ours, base in plan:
        t, total = timed(ours)
        b = timed(base)[0] if base else None
        out.append({"list": name, "seconds": round(t, 3), "matching": total,
                    "baseline_seconds": None if b is None else round(b, 3)})
        print(f"{name:36} | {t:7.3f} | {'' if b is None else f'{b:10.3f}':>10} | {total:,}")
    store.close()
    print(json.dumps({"db": str(db), "rounds": a.rounds, "tree": str(common.SRC), "lists": out}))


if __name__ == "__main__":
    main()
