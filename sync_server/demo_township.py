"""The made-up township of the demo: its villages and communities, departments,
sites, users and first cases, as data (``sync_server.demo`` writes them).

Everything here is made up except the township's name and code, the six
offices and the six project and firm names of the township plan; see
``sync_server.demo``. Ids are uuid5 over a fixed namespace and the record's
name, and the sites come from a seeded ``random.Random``, so a seed gives
the same township every time.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import dataclass

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
#: Marks what the demo invented: firms, projects and farms that exist nowhere.
DEMO = "(演示)"
#: Township projects and their contract amounts in 10,000 yuan (lo, hi): what a
#: township's market, embankment, sewer, school, clinic and water works cost.
_PUBLIC_WORKS = (
    ("回龙坝镇农贸市场改造工程", (280, 650)), ("梁滩河堤防整治工程", (900, 1800)),
    ("回龙北街雨污管网改造工程", (350, 900)), ("镇中心小学综合楼扩建工程", (1200, 2600)),
    ("回龙坝镇卫生院门诊楼工程", (800, 1600)), ("农村饮水安全巩固提升工程", (150, 480)),
)
_PRIVATE_WORKS = (("标准厂房三期工程", (3000, 6800)), ("物流园配套仓储用房", (1800, 4500)),
                  ("商住楼一期工程", (6000, 15000)), ("安置房二期工程", (4000, 9800)))
#: Farms and other sites (site kind ``other``): (name, 类别 shown in the ledger).
_OTHER = (("花卉苗木基地", "花卉苗木基地"), ("蔬菜种植专业合作社", "农民专业合作社"),
          ("柑橘种植专业合作社", "农民专业合作社"))
_BUILDERS_GOV = ("回龙坝镇城乡建设发展有限公司(演示)", "沙坪坝区城市基础设施建设有限公司(演示)")
_BUILDERS = ("渝西置业有限公司(演示)", "嘉陵实业发展有限公司(演示)", "西部仓储投资有限公司(演示)")
_CONTRACTORS = ("重庆建工某某建设有限公司(演示)", "渝通市政工程有限公司(演示)",
                "川渝建设集团有限公司(演示)", "山城建筑工程有限公司(演示)",
                "巴南路桥工程有限公司(演示)")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
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
    DemoUser("office1", "office", "劳保所干事(演示)"),
    DemoUser("leader1", "leader", "分管领导(演示)"),
    DemoUser("admin", "admin", "系统管理员(演示)"),
)



def demo_sites(rng: random.Random) -> list[dict]:
    """The demo site list: the plan's six named sites and 43 generated ones, whose
    names end in (演示)."""
    village_at = {name: offset for name, _, _, offset in VILLAGES}
    village_names = [name for name, *_ in VILLAGES]
    phone = iter(range(1, 10_000))

    def person() -> str:
        return rng.choice(SURNAMES) + rng.choice(_GIVEN)

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
        sites.append(site(next(firm) + _TEXTILE[i % len(_TEXTILE)] + DEMO, "factory", next(cycle),
                          industry="纺织", start_date=start(dt.date(2008, 1, 1)),
                          status="closed" if i == 7 else "active"))
    for i in range(14):
        sites.append(site(next(firm) + _MACHINING[i % len(_MACHINING)] + DEMO, "factory",
                          next(cycle), industry="机械加工",
                          start_date=start(dt.date(2008, 1, 1))))
    works = [(w, True) for w in _PUBLIC_WORKS] + [(w, False) for w in _PRIVATE_WORKS]
    for i, ((work, (lo, hi)), gov) in enumerate(works):
        village = next(cycle)
        name = (work if gov else village.replace(DEMO, "") + work) + DEMO
        sites.append(site(
            name, "construction", village, industry="建筑", gov_invested=gov,
            builder=rng.choice(_BUILDERS_GOV if gov else _BUILDERS),
            contractor=rng.choice(_CONTRACTORS),
            contract_amount=float(rng.randrange(lo, hi) * 10_000),
            start_date=start(), status="completed" if i in (2, 7) else "active"))
    for name, category in _OTHER:
        sites.append(site(name + DEMO, "other", next(cycle), industry=category,
                          start_date=start()))
    return sites


#: (title, site name or "" for the first textile mill (纺织/织造) of grid1's village, workers
#: owed, amount owed, collective risk, source)
DEMO_CASES: tuple[tuple[str, str, int, float, bool, str], ...] = (
    ("纺织厂拖欠3名工人两个月工资(演示)", "", 3, 18_600.0, False, "patrol"),
    ("一纵线建设班组反映欠薪(演示)", "一纵线建设", 14, 236_000.0, True, "12345"),
)

#: Months of wages owed, by case title (the case's 欠薪期间: the months before it was
#: registered); the amounts are workers × months × a local monthly wage.
OWED_MONTHS: dict[str, int] = {
    "纺织厂拖欠3名工人两个月工资(演示)": 2,  # 3 × 2 × 3,100
    "一纵线建设班组反映欠薪(演示)": 3,  # 14 × 3 × ≈5,600
    "农贸市场改造工程木工班组欠薪(演示)": 1,  # 6 × 7,000
    "融创云鼎城外墙班组反映欠薪(演示)": 2,  # 9 × 2 × ≈5,400
    "服饰厂2名工人来访反映欠薪(演示)": 1,  # 2 × 4,900
    "堤防整治工程劳务分包欠薪(演示)": 2,  # 11 × 2 × ≈5,800
    "物流仓储装卸工欠薪(演示)": 1,  # 4 × 4,100
    "小学综合楼扩建工程钢筋工欠薪(演示)": 1,  # 5 × 7,500
    "机械加工厂拖欠工资(演示)": 2,  # 3 × 2 × 3,500
}


def owed_period(opened: dt.date, months: int) -> tuple[str, str]:
    """(period_from, period_to) as YYYY-MM: the ``months`` full months before ``opened``."""
    to_index = opened.year * 12 + opened.month - 2  # the month before, 0-based months
    from_index = to_index - max(1, months) + 1
    return (f"{from_index // 12:04d}-{from_index % 12 + 1:02d}",
            f"{to_index // 12:04d}-{to_index % 12 + 1:02d}")
