"""Site-list benchmark: how long the home screen's view-model takes to filter
2,000 sites per keystroke. Goal: under 100 ms per keystroke.

    .venv/bin/python bench/bench_site_list.py [--sites 2000] [--rounds 20]

It builds the rows once (as ``SiteListVM.load`` does after a sync, badges
included), then types queries one character at a time, with and without the
village / kind / due filters, and prints the median and worst time per
keystroke. No Flet client, no network: the same code the screen runs.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from field_app.ui.field.viewmodels import (  # noqa: E402
    SiteFilter,
    SiteListVM,
    build_site_rows,
    filter_sites,
)
from shared_schema.entities import SITE_KINDS  # noqa: E402

GOAL_MS = 100.0
WORDS = ("安置房", "标准厂房", "物流园", "农贸市场", "商住楼", "道路", "污水管网", "学校", "服装厂",
         "五金", "织造", "仓储", "一期", "二期", "三期", "改造", "工程", "项目")
COMPANIES = ("重庆建工某某建设有限公司", "渝通市政工程有限公司", "川渝建设集团有限公司",
             "山城建筑工程有限公司", "巴南路桥工程有限公司", "渝西置业有限公司")
QUERIES = ("回龙坝安置房二期", "渝通市政", "物流园 三期", "zzz-no-match")


def synthetic(n: int, rng: random.Random) -> tuple[list, list, list, list]:
    villages = [{"id": f"v{i}", "name": f"第{i}村"} for i in range(12)]
    kinds = SITE_KINDS
    sites = []
    for i in range(n):
        name = "回龙坝" + "".join(rng.sample(WORDS, 3)) + f"{i}"
        sites.append({"id": f"s{i}", "name": name, "kind": rng.choice(kinds),
                      "village_id": rng.choice(villages)["id"], "status": "active",
                      "address": f"重庆市沙坪坝区回龙坝镇{rng.randrange(1, 30)}社",
                      "builder": rng.choice(COMPANIES), "contractor": rng.choice(COMPANIES),
                      "gov_invested": rng.random() < 0.3})
    now = int(time.time() * 1000)
    inspections = [{"id": f"i{i}", "site_id": f"s{rng.randrange(n)}", "state": "submitted",
                    "submitted_at": now - rng.randrange(0, 90) * 86_400_000}
                   for i in range(n // 2)]
    cases = [{"id": f"c{i}", "site_id": f"s{rng.randrange(n)}", "status": "accepted"}
             for i in range(n // 20)]
    return sites, villages, inspections, cases


def keystrokes(vm: SiteListVM, query: str) -> list[float]:
    times = []
    for k in range(1, len(query) + 1):
        t0 = time.perf_counter()
        vm.search(query[:k])
        times.append((time.perf_counter() - t0) * 1000)
    return times


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sites", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=20)
    args = ap.parse_args(argv)
    rng = random.Random(42)
    sites, villages, inspections, cases = synthetic(args.sites, rng)
    pending = {("site", f"s{rng.randrange(args.sites)}"): 1 for _ in range(50)}
    t0 = time.perf_counter()
    rows = build_site_rows(sites, villages, inspections, cases, [], [], pending,
                           int(time.time() * 1000))
    load_ms = (time.perf_counter() - t0) * 1000
    vm = SiteListVM()
    vm.set_rows(rows)
    print(f"{len(rows)} sites; building the rows with badges (once per sync): {load_ms:.1f} ms")
    worst_all = 0.0
    for label, filt in (("query only", SiteFilter()),
                        ("query + village + kind", SiteFilter(village_id="v3",
                                                              kind="construction")),
                        ("query + due only", SiteFilter(due_only=True))):
        samples: list[float] = []
        for _ in range(args.rounds):
            for q in QUERIES:
                vm.filter = SiteFilter(village_id=filt.village_id, kind=filt.kind,
                                       due_only=filt.due_only)
                samples += keystrokes(vm, q)
        med, worst = statistics.median(samples), max(samples)
        p95 = statistics.quantiles(samples, n=20)[-1]
        worst_all = max(worst_all, p95)
        print(f"{label:<24} {len(samples):>5} keystrokes: median {med:6.2f} ms, "
              f"p95 {p95:6.2f} ms, worst {worst:6.2f} ms (goal < {GOAL_MS:.0f} ms)")
    shown = len(filter_sites(rows, SiteFilter(query="安置房")))
    print(f"e.g. '安置房' matches {shown} sites")
    ok = worst_all < GOAL_MS
    print(("OK" if ok else "SLOW") + f": p95 per keystroke {worst_all:.2f} ms vs {GOAL_MS:.0f} ms")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
