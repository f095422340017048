"""Demo data for 回龙坝镇 (division code 500106106): ``seed_demo(store, now_ms)``.

Everything here is made up except the township's name and code, the six
offices and the six project and firm names of the township plan. Villages,
communities and the two sector departments that the plan does not name
carry the marker "(演示)" and ``demo: true``; so do the invented firms,
projects and farms, builders and contractors; contacts are invented and
phone numbers are of the form 1380000xxxx. Contract amounts are of the size
a township's works cost, case amounts are workers × months × a local monthly
wage, and each case has its 欠薪期间.

The township itself (villages, departments, sites, users, first cases) is
data in ``sync_server.demo_township``: ids are uuid5 over a fixed namespace
and the record's name, and the sites come from a seeded ``random.Random``, so
a seed is the same every time. This module writes it, and the office's work
on top of it (inspections, reviews, a conflict, photos, more cases).
Every record goes through ``ServerWriter``, as any server-side write must;
users go through ``create_user``, which also publishes each as a ``user`` record.
"""

from __future__ import annotations

import hashlib
import io
import random
import uuid
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

from shared_schema.checklists import template_for_site_kind
from shared_schema.hlc import HybridClock
from shared_schema.wire import Insert, PushRequest, Upsert
from sync_server.domain.auth.passwords import OWASP_N
from sync_server.domain.auth.service import create_user
from sync_server.domain.principal import Principal
from sync_server.domain.office import writes as office_writes
from sync_server.domain.office.review import review as office_review
from shared_schema.office import ReviewRequest
from sync_server.domain.sync import service as sync_service
from sync_server.domain.registry.service import ServerWriter, publish_templates
from sync_server.domain.sync.records import set_derived
from sync_server.domain.sync.rules import case_initial
from sync_server.domain.uploads.service import BlobStore
from sync_server.settings import Settings
from sync_server.demo_township import (
    CONSTRUCTION_DEPT,
    DEMO_CASES,
    DEMO_PASSWORD,
    DEMO_USERS,
    DEPARTMENTS,
    DIVISION_CODE,
    FIRST_VILLAGE,
    GRID2_VILLAGE,
    NAMESPACE,
    NO_SECRET,
    OWED_MONTHS,
    SEED,
    SURNAMES,
    VILLAGES,
    demo_id,
    demo_sites,
    owed_period,
)
from shared_schema.calendar import local_date
from sync_server.store.base import DeviceRow, SyncStore

#: What the CLI and the tests read from here (the township's data is demo_township's).
__all__ = ["CONSTRUCTION_DEPT", "DEMO_CASES", "DEMO_MORE_CASES", "DEMO_PASSWORD", "DEMO_USERS",
           "FIRST_VILLAGE", "GRID2_VILLAGE", "DemoSummary", "demo_id", "demo_photo", "seed_demo"]


@dataclass(frozen=True)
class DemoSummary:
    seeded: bool  # False: the database already had users and was left alone
    villages: int
    departments: int
    sites: int
    users: int
    cases: int
    templates: int
    inspections: int = 0
    conflicts: int = 0


def _counts(store: SyncStore, seeded: bool) -> DemoSummary:
    return DemoSummary(
        seeded=seeded, villages=store.count_records("village"),
        departments=store.count_records("department"), sites=store.count_records("site"),
        users=len(store.list_users()), cases=store.count_records("case"),
        templates=store.count_records("checklist_template"),
        inspections=store.count_records("inspection"),
        conflicts=len(store.list_conflicts("open")),
    )


def seed_demo(store: SyncStore, now_ms: int, *, activity: bool = True,
              blobs: Path | None = None, scrypt_n: int = OWASP_N) -> DemoSummary:
    """Seed the demo township; a database that already has users is left alone.

    ``blobs`` is the server's photo folder: the demo inspections' photos are
    stored there as real (small, generated) JPEGs, so the office console shows
    them; without it the photo records name bytes the server does not hold.

    The demo users share ``DEMO_PASSWORD``, hashed at cost ``scrypt_n``: the
    one documented exemption from the password policy (``demo1234`` is on
    its list of common passwords, so no real account can have it; see
    docs/security.md, "Logins").

    ``activity`` adds the office console's work: inspections of the last ten weeks (some
    approved), an open conflict and cases at every stage. Tests that assert exact report
    figures or conflict counts of their own scenario seed without it."""
    if store.list_users():
        return _counts(store, seeded=False)
    rng = random.Random(SEED)
    village_ids = {name: demo_id("village", name) for name, *_ in VILLAGES}
    department_ids = {name: demo_id("department", name) for name, _ in DEPARTMENTS}
    sites = demo_sites(rng)
    with store.transaction() as tx:
        writer = ServerWriter(tx, now_ms)
        for name, kind, code, _ in VILLAGES:
            writer.upsert("village", village_ids[name], {
                "name": name, "kind": kind, "code": DIVISION_CODE + code, "demo": True})
        for name, sectors in DEPARTMENTS:
            writer.upsert("department", department_ids[name],
                          {"name": name, "sectors": list(sectors)})
        publish_templates(tx, now_ms)
        site_ids: dict[str, str] = {}
        for s in sites:
            fields = {k: v for k, v in s.items() if k not in ("village", "department")}
            fields["village_id"] = village_ids[s["village"]]
            fields["department_id"] = department_ids[s["department"]]
            site_ids[s["name"]] = demo_id("site", s["name"])
            writer.upsert("site", site_ids[s["name"]], fields)
        first_factory = next(s for s in sites if s["village"] == FIRST_VILLAGE
                             and ("纺织" in s["name"] or "织造" in s["name"]))
        for title, site_name, workers, amount, collective, source in DEMO_CASES:
            site = next(s for s in sites if s["name"] == (site_name or first_factory["name"]))
            fields = {
                "title": title, "site_id": site_ids[site["name"]],
                "village_id": village_ids[site["village"]],
                "employer": site.get("contractor") or site["name"],
                "employer_address": site["address"],
                "sector": "construction" if site["kind"] == "construction"
                else "non_construction",
                "workers_owed": workers, "amount_owed": amount, "collective_risk": collective,
                "source": source, "opened_at": now_ms,
                "complainant_name": "赵某某(演示)", "complainant_phone": "13800009901",
                **_period(title, now_ms),
            }
            record = writer.upsert("case", demo_id("case", title), fields)
            # Status and level are derived, as for a pushed case (rules.case_initial).
            set_derived(tx, record, case_initial({**record.data, **fields},
                                                 tx.get_record("site", fields["site_id"]), tx),
                        str(writer.clock.tick()), writer.author, now_ms)
    for u in DEMO_USERS:
        create_user(
            store, u.username, DEMO_PASSWORD, u.role, display_name=u.display_name,
            village_ids=[village_ids[v] for v in u.villages],
            department_ids=[department_ids[d] for d in u.departments],
            now_ms=now_ms, user_id=demo_id("user", u.username), scrypt_n=scrypt_n)
    if activity:
        _seed_activity(store, now_ms, random.Random(SEED + 1), blobs)
    return _counts(store, seeded=True)


# --- activity: inspections, reviews, a conflict and more cases ------------------------

DAY_MS = 24 * 3600 * 1000

#: (site name, author, device, days ago, on site C08, contracts C09, real-name C10,
#:  the 六项制度 items answered "no", reviewed: "approved" / "has_issues" / "" (pending))
DEMO_INSPECTIONS: tuple[tuple[str, str, str, int, int, int, int, tuple[str, ...], str], ...] = (
    ("一纵线建设", "grid1", "demo-grid1-phone", 74, 42, 40, 42, (), "approved"),
    ("区科技创新中心", "sector1", "demo-sector1-pad", 66, 118, 110, 118, (), "approved"),
    ("融创云鼎城", "sector1", "demo-sector1-pad", 58, 86, 71, 80, ("C07",), "approved"),
    ("梁滩河堤防整治工程(演示)", "sector1", "demo-sector1-pad", 47, 23, 23, 23, ("C22",),
     "has_issues"),
    ("一纵线建设", "grid1", "demo-grid1-phone", 39, 38, 36, 36, ("C16",), "approved"),
    ("回龙坝镇农贸市场改造工程(演示)", "sector1", "demo-sector1-pad", 30, 17, 12, 15,
     ("C04", "C16"), ""),
    ("区科技创新中心", "sector1", "demo-sector1-pad", 21, 124, 124, 124, (), ""),
    ("镇中心小学综合楼扩建工程(演示)", "sector1", "demo-sector1-pad", 12, 31, 28, 31, ("C17",),
     ""),
    ("融创云鼎城", "sector1", "demo-sector1-pad", 6, 92, 80, 85, ("C07", "C22"), ""),
    ("一纵线建设", "grid1", "demo-grid1-phone", 2, 35, 35, 35, (), ""),
)
CONFLICT_SITE = "一纵线建设"

#: (title, source, site name or "", workers, amount, collective, days ago, events, status)
#: events: (kind, days after opening, extra fields)
DEMO_MORE_CASES: tuple[tuple[str, str, str, int, float, bool, int,
                             tuple[tuple[str, int, dict], ...]], ...] = (
    ("农贸市场改造工程木工班组欠薪(演示)", "12333", "回龙坝镇农贸市场改造工程(演示)", 6, 42_000.0,
     False, 20, ()),  # registered long ago: acceptance overdue
    ("融创云鼎城外墙班组反映欠薪(演示)", "12345", "融创云鼎城", 9, 96_500.0, False, 2, ()),
    ("服饰厂2名工人来访反映欠薪(演示)", "walk_in", "", 2, 9_800.0, False, 25,
     (("accept", 1, {}),)),
    ("堤防整治工程劳务分包欠薪(演示)", "national_platform", "梁滩河堤防整治工程(演示)", 11,
     128_000.0, True, 40, (("accept", 2, {}), ("request_leading_group", 9,
                                                {"note": "分包单位失联，提请领导小组协调"}))),
    ("物流仓储装卸工欠薪(演示)", "12333", "传化物流", 4, 16_400.0, False, 35,
     (("accept", 1, {}), ("payment", 10, {"amount_recovered": 8_000, "workers_paid": 2}),
      ("resolve", 18, {"note": "已全部支付", "amount_recovered": 8_400, "workers_paid": 2}))),
    ("小学综合楼扩建工程钢筋工欠薪(演示)", "patrol", "镇中心小学综合楼扩建工程(演示)", 5,
     37_500.0, False, 62, (("accept", 1, {}),
                           ("resolve", 15, {"note": "总包代发", "amount_recovered": 37_500,
                                            "workers_paid": 5}),
                           ("close", 22, {"evidence": ["0" * 64],
                                          "callback_note": "电话回访5人，均已收到"}))),
    ("机械加工厂拖欠工资(演示)", "letter", "", 3, 21_000.0, False, 50,
     (("accept", 2, {}), ("escalate", 12, {"note": "村级调解未果，上报镇级处置"}),
      ("refer", 30, {"note": "涉嫌拒不支付劳动报酬",
                                         "referral_target": "区劳动保障监察支队"}))),
)


def _period(title: str, opened_ms: int) -> dict[str, str]:
    """The case's 欠薪期间 (period_from, period_to): its months owed before it was opened."""
    months = OWED_MONTHS.get(title, 1)
    start, end = owed_period(local_date(opened_ms), months)
    return {"period_from": start, "period_to": end}


def _answers(on_site: int, contracts: int, real_name: int, gaps: tuple[str, ...],
             rng: random.Random) -> dict[str, dict]:
    answers: dict[str, dict] = {}
    for item in template_for_site_kind("construction").items:
        if item.answer == "number":
            answers[item.code] = {"answer": 0}
        elif item.answer == "numbers":
            asked = rng.randrange(3, 8)
            answers[item.code] = {"answer": {"interviewed": asked, "reporting_arrears": 0}}
        elif item.answer == "text":
            answers[item.code] = {"answer": "无"}
        else:  # the compliant answer: no illegal subcontracting, no signs of a collective claim
            answers[item.code] = {"answer": item.good or "yes"}
    answers["C11"] = {"answer": "no"}  # no unregistered workers on site
    answers["C08"] = {"answer": on_site}
    answers["C09"] = {"answer": contracts}
    answers["C10"] = {"answer": real_name}
    for code in gaps:
        answers[code] = {"answer": "no"}
    return answers


def demo_photo(label: str) -> bytes:
    """A small, deterministic JPEG standing in for a site photo: a sky, a
    building block and a notice board, coloured by the label."""
    digest = hashlib.sha256(label.encode()).digest()
    img = Image.new("RGB", (480, 360), (150 + digest[0] % 60, 190 + digest[1] % 50, 230))
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 250, 480, 360), fill=(120 + digest[2] % 40, 110, 95))
    left = 40 + digest[3] % 120
    draw.rectangle((left, 90, left + 170, 260), fill=(200, 200, 190), outline=(90, 90, 90))
    for row in range(4):
        for col in range(3):
            x, y = left + 15 + col * 52, 105 + row * 38
            draw.rectangle((x, y, x + 34, y + 24), fill=(90, 120, 150))
    draw.rectangle((320, 200, 450, 290), fill=(240, 240, 235), outline=(160, 40, 40), width=4)
    # Pillow's built-in font has no CJK glyphs: the board shows the ASCII part
    draw.text((330, 215), "".join(ch for ch in label if ord(ch) < 128).strip()[-16:],
              fill=(40, 40, 40))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=70)
    return out.getvalue()


def _store_photo(store: SyncStore, blobs: Path, data: bytes, now_ms: int,
                 device_id: str, user_id: str) -> str:
    """Put the bytes where the upload path would (``BlobStore``) and record them
    (with their sender, as a verified upload does)."""
    sha = hashlib.sha256(data).hexdigest()
    target = BlobStore(blobs).path(sha)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    with store.transaction() as tx:
        tx.put_blob(sha, len(data), now_ms, device_id)
        tx.add_blob_holder(sha, user_id, now_ms)
    return sha


def _seed_activity(store: SyncStore, now_ms: int, rng: random.Random,
                   blobs: Path | None = None) -> None:
    """Inspections pushed by the demo field devices, office reviews, an open conflict and
    cases at every stage, all through the server's own push, review and case rules."""
    clock = [now_ms]
    settings = Settings(now_ms=lambda: clock[0])
    users = {u.username: u for u in store.list_users()}
    template = template_for_site_kind("construction")
    photo_items = [i.code for i in template.items if i.photo == "required"]
    clocks: dict[str, HybridClock] = {}
    seqs: dict[str, int] = {}
    # The demo's devices, as their logins would have registered them, bound to
    # a secret hash no secret has: nobody can log in with their ids, which
    # every pulled hlc shows (docs/security.md, "Device identity").
    with store.transaction() as tx:
        for device, username in (("demo-grid1-phone", "grid1"),
                                 ("demo-sector1-pad", "sector1"),
                                 ("demo-office-pc", "office1")):
            tx.put_device(DeviceRow(device_id=device, user_id=users[username].id,
                                    name=device, created_at=now_ms - 90 * DAY_MS,
                                    secret_hash=NO_SECRET))

    def principal(username: str, device: str) -> Principal:
        u = users[username]
        return Principal(user_id=u.id, username=u.username, role=u.role,
                         village_ids=frozenset(u.village_ids),
                         department_ids=frozenset(u.department_ids), device_id=device,
                         scope_version=u.scope_version)

    def mutation(kind, device: str, entity: str, entity_id: str, fields: dict, **extra):
        hlc = clocks.setdefault(device, HybridClock(device, now_ms=lambda: clock[0]))
        seqs[device] = seqs.get(device, 0) + 1
        return kind(id=demo_id("mutation", f"{device}:{seqs[device]}"), seq=seqs[device],
                    hlc=str(hlc.tick()), entity=entity, entity_id=entity_id, fields=fields,
                    **extra)

    def push(username: str, device: str, *mutations) -> list:
        res = sync_service.push(store, settings, principal(username, device),
                                PushRequest(device_id=device, mutations=list(mutations),
                                            client_time_ms=clock[0]))
        for r in res.results:
            assert r.status in ("applied", "merged"), r
        return res.results

    sites = {r.data["name"]: r for r in store.records("site")}
    office = principal("office1", "demo-office-pc")
    for n, (name, user, device, days, on_site, contracts, real_name, gaps, verdict) in \
            enumerate(DEMO_INSPECTIONS):
        clock[0] = now_ms - days * DAY_MS - rng.randrange(8, 16) * 3600 * 1000
        site = sites[name]
        insp = demo_id("inspection", f"{n}:{name}")
        push(user, device, mutation(Upsert, device, "inspection", insp, {
            "site_id": site.id,
            "lat": round(site.data["lat"] + rng.uniform(-0.0004, 0.0004), 6),
            "lon": round(site.data["lon"] + rng.uniform(-0.0004, 0.0004), 6),
            "answers": _answers(on_site, contracts, real_name, gaps, rng)}))
        clock[0] += 20 * 60 * 1000
        shas = {c: (_store_photo(store, blobs, demo_photo(f"{name} {c}"), clock[0], device,
                                 users[user].id)
                    if blobs is not None else str(uuid.uuid5(NAMESPACE, f"{insp}{c}").hex) * 2)
                for c in photo_items}
        push(user, device, *[mutation(Insert, device, "photo", demo_id("photo", f"{insp}{c}"), {
            "sha256": shas[c], "owner_entity": "inspection", "owner_id": insp, "item_code": c,
            "lat": site.data["lat"], "lon": site.data["lon"], "taken_at": clock[0]})
            for c in photo_items])
        push(user, device, mutation(Upsert, device, "inspection", insp, {"state": "submitted"}))
        if verdict:
            clock[0] += DAY_MS
            comment = "" if verdict == "approved" else "维权告示牌照片不清楚，请补拍"
            office_review(store, settings, office, insp,
                          ReviewRequest(state=verdict, comment=comment))

    # An open conflict: grid1 and sector1 change the same site field from the same base.
    site = store.get_record("site", demo_id("site", CONFLICT_SITE))
    base = {"contact_phone": site.meta["contact_phone"].rev}
    clock[0] = now_ms - 3 * DAY_MS
    a = mutation(Upsert, "demo-grid1-phone", "site", site.id,
                 {"contact_phone": "13800008801"}, base=base)
    clock[0] += 60_000
    b = mutation(Upsert, "demo-sector1-pad", "site", site.id,
                 {"contact_phone": "13800008802"}, base=base)
    push("grid1", "demo-grid1-phone", a)
    push("sector1", "demo-sector1-pad", b)

    # The collective claim on government-invested 一纵线建设 (the 14-worker case): grid1
    # goes to the scene, keeps order, brings in 平安办 and 派出所 and reports it from the
    # phone; the report joins the case, raises it to the township and alerts every
    # office and leader account (shared_schema.incidents, docs/cases.md "Incidents").
    clock[0] = now_ms - 2 * DAY_MS
    incident_site = sites["一纵线建设"]
    push("grid1", "demo-grid1-phone", mutation(
        Insert, "demo-grid1-phone", "incident", demo_id("incident", "一纵线建设"), {
            "kind": "collective_claim", "site_id": incident_site.id,
            "village_id": incident_site.data["village_id"],
            "place": "一纵线建设项目部门口", "headcount": 14,
            "occurred_at": clock[0] - 40 * 60 * 1000,
            "on_scene": "村主任到场劝导，维持秩序，登记班组人员和欠薪金额，"
                        "通知行业主管部门和劳保所到场(演示)",
            "brought_in": ["ping_an_ban", "police", "industry_department"],
            "attach_case_id": demo_id("case", "一纵线建设班组反映欠薪(演示)")}))

    # More cases, registered on their day and moved on through the case rules.
    for title, source, site_name, workers, amount, collective, days, events in \
            DEMO_MORE_CASES:
        if site_name:
            s = sites[site_name].data
        else:  # the employer the title names: the first 服饰 firm, machining works
            word = "服饰" if "服饰" in title else "机械加工厂"
            s = next(r.data for r in sorted(sites.values(), key=lambda r: r.data["name"])
                     if word in r.data["name"])
        opened = now_ms - days * DAY_MS
        clock[0] = opened
        case_id = demo_id("case", title)
        fields = {
            "title": title, "site_id": demo_id("site", s["name"]), "village_id": s["village_id"],
            "employer": s.get("contractor") or s["name"], "employer_address": s["address"],
            "sector": "construction" if s["kind"] == "construction" else "non_construction",
            "workers_owed": workers, "amount_owed": amount, "collective_risk": collective,
            "source": source, "opened_at": opened,
            "complainant_name": rng.choice(SURNAMES) + "某某(演示)",
            "complainant_phone": f"138000099{rng.randrange(10, 100)}",
            **_period(title, opened),
        }
        with store.transaction() as tx:
            office_writes.apply(tx, settings, office, opened, "upsert", "case", case_id, fields)
        for i, (kind, after, extra) in enumerate(events):
            at = opened + after * DAY_MS
            clock[0] = at
            with store.transaction() as tx:
                office_writes.apply(tx, settings, office, at, "insert", "case_event",
                                    demo_id("case_event", f"{title}:{i}"),
                                    {"case_id": case_id, "kind": kind, **extra})
