"""Demo data for 回龙坝镇 (division code 500106106): ``seed_demo(store, now_ms)``.

Everything here is made up except the township's name and code, the six
offices and the six project and firm names of the township plan. Villages,
communities and the two sector departments that the plan does not name
carry the marker "(演示)" and ``demo: true``; builders, contractors and
contacts are invented and phone numbers are of the form 1380000xxxx.

Ids are uuid5 over a fixed namespace and the record's name, and the sites
come from a seeded ``random.Random``, so a seed is the same every time.
Every record goes through ``ServerWriter``, as any server-side write must;
users go through ``create_user``, which also publishes each as a ``user`` record.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import random
import uuid
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

from shared_schema.checklists import load_templates
from shared_schema.hlc import HybridClock
from shared_schema.wire import Insert, PushRequest, Upsert
from sync_server.domain.auth.passwords import OWASP_N
from sync_server.domain.auth.service import Principal, create_user
from sync_server.domain.office import writes as office_writes
from sync_server.domain.office.review import review as office_review
from shared_schema.office import ReviewRequest
from sync_server.domain.sync import service as sync_service
from sync_server.domain.registry.service import ServerWriter, publish_templates
from sync_server.domain.sync.records import set_derived
from sync_server.domain.sync.rules import case_initial
from sync_server.domain.uploads.service import BlobStore
from sync_server.settings import Settings
from sync_server.store.base import DeviceRow, SyncStore

DEMO_PASSWORD = "demo1234"
DIVISION_CODE = "500106106"
TOWNSHIP = "回龙坝镇"
CENTRE = (29.66, 106.38)  # ≈ township centre [inferred]
NAMESPACE = uuid.UUID("6f1c3a52-8d0e-5b6e-9a57-500106106000")
SEED = 500106106
#: The secret hash of the demo's devices: not a sha256 of anything, so no
#: login secret matches it (``auth.service.secret_hash`` is 64 hex digits).
NO_SECRET = "no-login: demo device"


def demo_id(kind: str, name: str) -> str:
    """A stable id for a demo record: reseeding gives the same ids."""
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{name}"))


# --- villages and communities ----------------------------------------------------

#: (name, kind, code suffix, offset from the centre in degrees (lat, lon))
VILLAGES: tuple[tuple[str, str, str, tuple[float, float]], ...] = (
    ("回龙社区(演示)", "community", "001", (0.000, 0.000)),
    ("龙泉社区(演示)", "community", "002", (0.006, 0.012)),
    ("梁滩村(演示)", "village", "201", (0.010, 0.022)),
    ("新桥村(演示)", "village", "202", (0.022, 0.030)),
    ("石院村(演示)", "village", "203", (0.024, -0.006)),
    ("天星村(演示)", "village", "204", (0.016, -0.020)),
    ("明灯村(演示)", "village", "205", (-0.004, -0.026)),
    ("大林村(演示)", "village", "206", (-0.018, -0.014)),
    ("桂花村(演示)", "village", "207", (-0.024, 0.004)),
    ("高峰村(演示)", "village", "208", (-0.016, 0.020)),
    ("玉泉村(演示)", "village", "209", (-0.006, 0.032)),
    ("三合村(演示)", "village", "210", (0.030, 0.010)),
)
FIRST_VILLAGE = "梁滩村(演示)"  # grid1's village
GRID2_VILLAGE = "新桥村(演示)"  # grid2's village; the logistics firms are here

# --- departments -----------------------------------------------------------------

CONSTRUCTION_DEPT = "规划建设管理环保办公室(演示)"
ECONOMY_DEPT = "经济发展办公室(演示)"
LABOUR_OFFICE = "劳动就业和社会保障服务所"
AGRICULTURE = "农业服务中心"
#: (name, the site kinds it supervises). The first six are the plan's offices.
DEPARTMENTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("平安建设办公室", ()),
    ("财政办公室", ()),
    ("司法所", ()),
    (AGRICULTURE, ("other",)),
    (LABOUR_OFFICE, ()),
    ("回龙坝派出所", ()),
    (CONSTRUCTION_DEPT, ("construction",)),
    (ECONOMY_DEPT, ("factory", "logistics")),
)
SUPERVISOR = {"construction": CONSTRUCTION_DEPT, "factory": ECONOMY_DEPT,
              "logistics": ECONOMY_DEPT, "other": AGRICULTURE}

# --- sites -----------------------------------------------------------------------

#: The plan's named projects and firms: (name, kind, village, gov_invested, amount).
NAMED_SITES: tuple[tuple[str, str, str, bool | None, float | None], ...] = (
    ("区科技创新中心", "construction", "回龙社区(演示)", True, 386_000_000.0),
    ("一纵线建设", "construction", FIRST_VILLAGE, True, 152_500_000.0),
    ("融创云鼎城", "construction", "龙泉社区(演示)", False, 624_000_000.0),
    ("永辉超市物流", "logistics", GRID2_VILLAGE, None, None),
    ("传化物流", "logistics", GRID2_VILLAGE, None, None),
    ("红星美凯龙物流", "logistics", GRID2_VILLAGE, None, None),
)
_FIRM_WORDS = ("龙泉", "兴旺", "恒达", "瑞丰", "锦程", "华盛", "金梭", "宏远", "永盛", "巴渝",
               "嘉陵", "鑫源", "盛达", "顺发", "德隆", "众诚", "联创", "利民", "万通", "祥和",
               "天力", "富川", "金桥", "红岩", "长丰", "新锐", "凯达", "荣昌", "明辉", "佳和")
_TEXTILE = ("纺织有限公司", "织造厂", "服饰有限公司", "制衣厂", "针织有限公司")
_MACHINING = ("机械加工厂", "精密机械有限公司", "五金制品厂", "汽配有限公司", "模具有限公司")
_PUBLIC_WORKS = (
    "回龙坝镇农贸市场改造工程", "梁滩河堤防整治工程", "回龙北街雨污管网改造工程",
    "镇中心小学综合楼扩建工程", "回龙坝镇卫生院门诊楼工程", "农村饮水安全巩固提升工程",
)
_PRIVATE_WORKS = ("标准厂房三期工程", "物流园配套仓储用房", "商住楼一期工程", "安置房二期工程")
_OTHER = ("花卉苗木基地", "蔬菜种植专业合作社")
_BUILDERS_GOV = ("回龙坝镇城乡建设发展有限公司(演示)", "沙坪坝区城市基础设施建设有限公司(演示)")
_BUILDERS = ("渝西置业有限公司(演示)", "嘉陵实业发展有限公司(演示)", "西部仓储投资有限公司(演示)")
_CONTRACTORS = ("重庆建工某某建设有限公司(演示)", "渝通市政工程有限公司(演示)",
                "川渝建设集团有限公司(演示)", "山城建筑工程有限公司(演示)",
                "巴南路桥工程有限公司(演示)")
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
_GIVEN = ("伟", "芳", "强", "敏", "军", "静", "勇", "丽", "杰", "涛", "明", "超", "霞", "平",
          "刚", "建华", "晓东", "春梅", "志强", "海燕")

# --- users -----------------------------------------------------------------------


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    display_name: str
    villages: tuple[str, ...] = ()
    departments: tuple[str, ...] = ()


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("grid1", "grid_officer", "梁滩村网格员(演示)", villages=(FIRST_VILLAGE,)),
    DemoUser("grid2", "grid_officer", "新桥村网格员(演示)", villages=(GRID2_VILLAGE,)),
    DemoUser("sector1", "sector_inspector", "规建办巡查员(演示)",
             departments=(CONSTRUCTION_DEPT,)),
    DemoUser("office1", "office", "劳动保障所干事(演示)"),
    DemoUser("leader1", "leader", "分管领导(演示)"),
    DemoUser("admin", "admin", "系统管理员(演示)"),
)


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


def demo_sites(rng: random.Random) -> list[dict]:
    """The demo site list: the plan's six named sites and 42 generated ones."""
    village_at = {name: offset for name, _, _, offset in VILLAGES}
    village_names = [name for name, *_ in VILLAGES]
    phone = iter(range(1, 10_000))

    def person() -> str:
        return rng.choice(_SURNAMES) + rng.choice(_GIVEN)

    def place(village: str) -> tuple[float, float]:
        dlat, dlon = village_at[village]
        return (round(CENTRE[0] + dlat + rng.uniform(-0.004, 0.004), 6),
                round(CENTRE[1] + dlon + rng.uniform(-0.004, 0.004), 6))

    def start(lo: dt.date = dt.date(2022, 3, 1), hi: dt.date = dt.date(2025, 6, 30)) -> str:
        return (lo + dt.timedelta(days=rng.randrange((hi - lo).days))).isoformat()

    def site(name: str, kind: str, village: str, **extra) -> dict:
        lat, lon = place(village)
        base = village.replace("(演示)", "")
        if kind == "logistics":
            address = f"重庆市沙坪坝区{TOWNSHIP}西部现代物流园{rng.randrange(1, 60)}号(演示地址)"
        else:
            address = f"重庆市沙坪坝区{TOWNSHIP}{base}{rng.randrange(1, 12)}社(演示地址)"
        return {
            "name": name, "kind": kind, "village": village,
            "department": SUPERVISOR[kind], "address": address, "lat": lat, "lon": lon,
            "status": "active", "contact_name": person(),
            "contact_phone": f"1380000{next(phone):04d}", **extra,
        }

    sites = []
    for name, kind, village, gov, amount in NAMED_SITES:
        if kind == "construction":
            sites.append(site(
                name, kind, village, industry="建筑", gov_invested=gov,
                builder=rng.choice(_BUILDERS_GOV if gov else _BUILDERS),
                contractor=rng.choice(_CONTRACTORS), contract_amount=amount,
                start_date=start()))
        else:
            sites.append(site(name, kind, village, industry="物流", start_date=start()))
    spread = list(village_names)
    rng.shuffle(spread)
    cycle = iter(spread * 4)
    words = list(_FIRM_WORDS)
    rng.shuffle(words)
    firm = iter(words)
    for i in range(16):
        sites.append(site(next(firm) + _TEXTILE[i % len(_TEXTILE)], "factory", next(cycle),
                          industry="纺织", start_date=start(dt.date(2008, 1, 1)),
                          status="closed" if i == 7 else "active"))
    for i in range(14):
        sites.append(site(next(firm) + _MACHINING[i % len(_MACHINING)], "factory",
                          next(cycle), industry="机械加工",
                          start_date=start(dt.date(2008, 1, 1))))
    works = [(w, True) for w in _PUBLIC_WORKS] + [(w, False) for w in _PRIVATE_WORKS]
    for i, (work, gov) in enumerate(works):
        village = next(cycle)
        name = work if gov else village.replace("(演示)", "") + work
        sites.append(site(
            name, "construction", village, industry="建筑", gov_invested=gov,
            builder=rng.choice(_BUILDERS_GOV if gov else _BUILDERS),
            contractor=rng.choice(_CONTRACTORS),
            contract_amount=float(rng.randrange(30, 2000) * 100_000),
            start_date=start(), status="completed" if i in (2, 7) else "active"))
    for name in _OTHER:
        sites.append(site(name, "other", next(cycle), industry="农业", start_date=start()))
    return sites


#: (title, site name or "" for the first textile factory of grid1's village, workers owed,
#: amount owed, collective risk, source)
DEMO_CASES: tuple[tuple[str, str, int, float, bool, str], ...] = (
    ("纺织厂拖欠3名工人两个月工资(演示)", "", 3, 18_600.0, False, "patrol"),
    ("一纵线建设班组反映欠薪(演示)", "一纵线建设", 14, 236_000.0, True, "12345"),
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
                             and s.get("industry") == "纺织")
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
            }
            record = writer.upsert("case", demo_id("case", title), fields)
            # Status and level are derived, as for a pushed case (rules.case_initial).
            set_derived(tx, record, case_initial({**record.data, **fields}),
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
    ("梁滩河堤防整治工程", "sector1", "demo-sector1-pad", 47, 23, 23, 23, ("C22",),
     "has_issues"),
    ("一纵线建设", "grid1", "demo-grid1-phone", 39, 38, 36, 36, ("C16",), "approved"),
    ("回龙坝镇农贸市场改造工程", "sector1", "demo-sector1-pad", 30, 17, 12, 15,
     ("C04", "C16"), ""),
    ("区科技创新中心", "sector1", "demo-sector1-pad", 21, 124, 124, 124, (), ""),
    ("镇中心小学综合楼扩建工程", "sector1", "demo-sector1-pad", 12, 31, 28, 31, ("C17",), ""),
    ("融创云鼎城", "sector1", "demo-sector1-pad", 6, 92, 80, 85, ("C07", "C22"), ""),
    ("一纵线建设", "grid1", "demo-grid1-phone", 2, 35, 35, 35, (), ""),
)
CONFLICT_SITE = "一纵线建设"

#: (title, source, site name or "", workers, amount, collective, days ago, events, status)
#: events: (kind, days after opening, extra fields)
DEMO_MORE_CASES: tuple[tuple[str, str, str, int, float, bool, int,
                             tuple[tuple[str, int, dict], ...]], ...] = (
    ("农贸市场改造工程木工班组欠薪(演示)", "12333", "回龙坝镇农贸市场改造工程", 6, 42_000.0,
     False, 20, ()),  # registered long ago: acceptance overdue
    ("融创云鼎城外墙班组反映欠薪(演示)", "12345", "融创云鼎城", 9, 96_500.0, False, 2, ()),
    ("服饰厂2名工人来访反映欠薪(演示)", "walk_in", "", 2, 9_800.0, False, 25,
     (("accept", 1, {}),)),
    ("堤防整治工程劳务分包欠薪(演示)", "national_platform", "梁滩河堤防整治工程", 11,
     128_000.0, True, 40, (("accept", 2, {}), ("request_leading_group", 9,
                                                {"note": "分包单位失联，提请领导小组协调"}))),
    ("物流仓储装卸工欠薪(演示)", "12333", "传化物流", 4, 16_400.0, False, 35,
     (("accept", 1, {}), ("payment", 10, {"amount_recovered": 8_000, "workers_paid": 2}),
      ("resolve", 18, {"note": "已全部支付", "amount_recovered": 8_400, "workers_paid": 2}))),
    ("小学综合楼扩建工程钢筋工欠薪(演示)", "patrol", "镇中心小学综合楼扩建工程", 5,
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


def _answers(on_site: int, contracts: int, real_name: int, gaps: tuple[str, ...],
             rng: random.Random) -> dict[str, dict]:
    answers: dict[str, dict] = {}
    for item in load_templates()["tpl-construction-v1"].items:
        if item.answer == "number":
            answers[item.code] = {"answer": 0}
        elif item.answer == "numbers":
            asked = rng.randrange(3, 8)
            answers[item.code] = {"answer": {"interviewed": asked, "reporting_arrears": 0}}
        elif item.answer == "text":
            answers[item.code] = {"answer": "无"}
        else:
            answers[item.code] = {"answer": "yes"}
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
    template = load_templates()["tpl-construction-v1"]
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

    # More cases, registered on their day and moved on through the case rules.
    for title, source, site_name, workers, amount, collective, days, events in \
            DEMO_MORE_CASES:
        if site_name:
            s = sites[site_name].data
        else:
            industry = "纺织" if "服饰" in title else "机械加工"
            s = next(r.data for r in sites.values() if r.data.get("industry") == industry)
        opened = now_ms - days * DAY_MS
        clock[0] = opened
        case_id = demo_id("case", title)
        fields = {
            "title": title, "site_id": demo_id("site", s["name"]), "village_id": s["village_id"],
            "employer": s.get("contractor") or s["name"], "employer_address": s["address"],
            "sector": "construction" if s["kind"] == "construction" else "non_construction",
            "workers_owed": workers, "amount_owed": amount, "collective_risk": collective,
            "source": source, "opened_at": opened,
            "complainant_name": rng.choice(_SURNAMES) + "某某(演示)",
            "complainant_phone": f"138000099{rng.randrange(10, 100)}",
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
