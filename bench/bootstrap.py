"""A district-size registry written straight into a server database with batch
SQL (the same row shapes ``write_fields`` stores: data, per-field meta, scope
keys), for the bootstrap benchmark: a new office device pulls all of it.

    build(db, sites=20000, cases=50000, inspections=100000)
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path
from typing import Any, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent))

import msgspec

from common import PASSWORD, checklist_codes, registry_writer
from shared_schema.ids import uuid7

_enc = msgspec.json.Encoder()
VILLAGES = 40
DEPARTMENTS = 12
SERVER_USER = "server"


#: Ids are UUIDv7, as every Wage Patrol record's id is (``shared_schema.ids``):
#: here made over three years, in the order the records were written, with
#: the random bits from the seeded ``rng``. (Random UUIDv4 ids, used before,
#: cost the new device ~12% more per insert: no record id is made that way.)
_ID_START_MS = 1_700_000_000_000
_ID_STEP_MS = 3 * 365 * 86_400_000 // 170_000
_id_clock = [_ID_START_MS]


def _uid(rng: random.Random) -> str:
    _id_clock[0] += _ID_STEP_MS
    return uuid7(now_ms=lambda: _id_clock[0], rand=rng.randbytes)


def build(db: Path, sites: int, cases: int, inspections: int, seed: int = 42) -> dict[str, Any]:
    from sync_server.domain.auth.service import create_user
    from sync_server.store.sqlite import SqliteStore

    rng = random.Random(seed)
    _id_clock[0] = _ID_START_MS
    now = int(time.time() * 1000)
    store = SqliteStore(db)
    try:
        store.migrate()
        villages = [_uid(rng) for _ in range(VILLAGES)]
        departments = [_uid(rng) for _ in range(DEPARTMENTS)]
        with registry_writer(store, now) as w:
            for i, v in enumerate(villages):
                w.upsert("village", v, {"name": f"第{i + 1}村", "kind": "village"})
            for i, d in enumerate(departments):
                w.upsert("department", d, {"name": f"部门{i + 1}", "sectors": ["construction"]})
        inspector = create_user(store, "grid1", PASSWORD, "grid_officer",
                                village_ids=villages[:1], now_ms=now).id
        create_user(store, "office1", PASSWORD, "office", now_ms=now)
        con = store._writer
        # m005 (if the tree under test has it): meta one entry per write, and the
        # pull columns field_revs / newest_hlc, as ``put_record`` writes them.
        pull_columns = "field_revs" in {r[1] for r in con.execute("PRAGMA table_info(records)")}
        rev0 = store.max_rev()
        rev = rev0
        hlc_n = 0

        def stamp() -> tuple[int, str]:
            nonlocal rev, hlc_n
            rev += 1
            hlc_n += 1
            return rev, f"{now - 86_400_000 + hlc_n // 10:013d}.{hlc_n % 10:04d}.server"

        def fields_of(data: dict[str, Any]) -> list[str]:
            names: list[str] = []
            for k, v in data.items():
                if k in ("id", "created_at", "updated_at"):
                    continue
                if k == "answers":
                    names += [f"answers.{code}" for code in v]
                else:
                    names.append(k)
            return names

        def meta_of(data: dict[str, Any], r: int, h: str) -> str | tuple[str, str, str]:
            names = fields_of(data)
            if pull_columns:
                return (_enc.encode([[r, h, SERVER_USER, SERVER_USER, names]]).decode(),
                        _enc.encode({n: r for n in names}).decode(), h)
            return _enc.encode({n: [r, h, SERVER_USER, SERVER_USER] for n in names}).decode()

        def row(entity: str, id: str, r: int, data: dict[str, Any], meta: Any,
                *keys: Any) -> tuple:
            if pull_columns:
                return (entity, id, r, 0, 0, _enc.encode(data).decode(), meta[0], *keys,
                        meta[1], meta[2])
            return (entity, id, r, 0, 0, _enc.encode(data).decode(), meta, *keys)

        site_rows: list[tuple[str, str, str]] = []

        def site_gen() -> Iterator[tuple]:
            kinds = ["construction", "construction", "factory", "logistics"]
            for i in range(sites):
                sid, v, d = _uid(rng), rng.choice(villages), rng.choice(departments)
                site_rows.append((sid, v, d))
                r, h = stamp()
                data = {"id": sid, "created_at": now, "name": f"工地{i:05d}号",
                        "kind": rng.choice(kinds), "village_id": v, "department_id": d,
                        "address": f"回龙坝镇{rng.randrange(1, 99)}号路{rng.randrange(1, 500)}号",
                        "lat": round(29.5 + rng.uniform(-0.2, 0.2), 6),
                        "lon": round(106.4 + rng.uniform(-0.2, 0.2), 6),
                        "builder": f"建设单位{rng.randrange(1, 900)}",
                        "contractor": f"总包单位{rng.randrange(1, 900)}",
                        "contract_amount": float(rng.randrange(1, 900)) * 10000,
                        "status": "active", "updated_at": now}
                yield row("site", sid, r, data, meta_of(data, r, h), v, d, sid, None, None, None)

        codes = [c for c, _ in checklist_codes()]

        def case_gen() -> Iterator[tuple]:
            for i in range(cases):
                cid = _uid(rng)
                sid, v, d = rng.choice(site_rows)
                r, h = stamp()
                data = {"id": cid, "created_at": now, "site_id": sid, "village_id": v,
                        "title": f"拖欠工资案件{i:05d}", "employer": f"劳务公司{rng.randrange(1, 3000)}",
                        "sector": "construction", "workers_owed": rng.randrange(1, 40),
                        "amount_owed": float(rng.randrange(1, 400)) * 1000,
                        "status": rng.choice(["registered", "accepted", "resolved", "closed"]),
                        "level": "township", "initial_level": "township", "extended": False,
                        "amount_recovered": 0.0, "workers_paid": 0, "opened_at": now,
                        "source": "hotline", "updated_at": now}
                yield row("case", cid, r, data, meta_of(data, r, h), v, d, sid, None, None, None)

        def insp_gen() -> Iterator[tuple]:
            for _ in range(inspections):
                iid = _uid(rng)
                sid, v, d = rng.choice(site_rows)
                r, h = stamp()
                answers = {c: {"answer": rng.choices(("yes", "no", "na"), (70, 20, 10))[0]
                               if c in ("C01", "C04") else rng.choice(("yes", "yes", "no")),
                               "value": None, "note": None} for c in codes}
                data = {"id": iid, "created_at": now, "site_id": sid,
                        "template_id": "tpl-construction-v1", "inspector_id": inspector,
                        "started_at": now, "state": "submitted", "submitted_at": now,
                        "review_state": "pending", "answers": answers,
                        "lat": round(29.5 + rng.uniform(-0.2, 0.2), 6),
                        "lon": round(106.4 + rng.uniform(-0.2, 0.2), 6), "updated_at": now}
                yield row("inspection", iid, r, data, meta_of(data, r, h), v, d, sid, sid,
                          inspector, "bench-device")

        sql = ("INSERT INTO records (entity, id, rev, deleted, ref, data, meta, village_id, "
               "department_id, site_id, parent_id, created_by_user, created_by_device"
               + (", field_revs, newest_hlc) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
                  if pull_columns else ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"))
        with store._write_lock:
            con.execute("BEGIN IMMEDIATE")
            for gen in (site_gen(), case_gen(), insp_gen()):
                con.executemany(sql, gen)
            con.execute("UPDATE counters SET value=? WHERE name='rev'", (rev,))
            con.execute("COMMIT")
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        store.close()
    return {"records": rev - rev0, "db_mb": round(db.stat().st_size / 1e6, 1)}
