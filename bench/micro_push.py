#!/usr/bin/env python3
"""In-process push cost, without HTTP: ``service.push`` on a fresh store with the
peer's documents as inspection upserts, batches of 200 (the device default).
Prints wall and CPU seconds per 1,000 mutations: a low-noise figure for
before/after comparisons of the server's write path.

    .venv/bin/python bench/micro_push.py --docs /tmp/wp-peerbench/data/inspections_10000.json
    BENCH_SRC=/tmp/head_src .venv/bin/python bench/micro_push.py ...   # another tree
    .venv/bin/python bench/micro_push.py --pg --docs ...   # on a fresh PostgreSQL database

On PostgreSQL ``cpu_s`` is this process's alone; ``db_cpu_s`` adds the
database backend's (bench/pgdb.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # the product tree under test on sys.path

import msgspec


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", required=True)
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--pragma", action="append", default=[], help="extra PRAGMA on the writer")
    ap.add_argument("--pg", action="store_true", help="a fresh PostgreSQL database, not SQLite")
    a = ap.parse_args()
    from shared_schema.hlc import HybridClock
    from shared_schema.ids import uuid7
    from shared_schema.wire import PushRequest, Upsert
    from sync_server.domain.principal import Principal
    from sync_server.domain.sync import service
    from sync_server.settings import Settings
    from sync_server.store import open_store

    import pgdb

    docs = msgspec.json.decode(Path(a.docs).read_bytes())
    with tempfile.TemporaryDirectory() as d, (pgdb.database() if a.pg else nullcontext()) as url:
        db: Path | str = url or Path(d) / "s.db"
        users = common.seed(db, common.peer_sites(docs))
        store = open_store(str(db))
        for p in a.pragma:
            store._writer.execute(f"PRAGMA {p}")  # type: ignore[attr-defined]
        settings = Settings(db_path=Path(d) / "s.db")
        db_cpu = pgdb.BackendCpu(url)
        dev = uuid7()
        with store.transaction() as tx:
            from sync_server.store.base import DeviceRow

            tx.put_device(DeviceRow(device_id=dev, user_id=users["grid1"], name="bench"))
        u = store.get_user(users["grid1"])
        p = Principal(user_id=u.id, username=u.username, role=u.role,
                      village_ids=frozenset(u.village_ids),
                      department_ids=frozenset(u.department_ids), device_id=dev,
                      scope_version=u.scope_version)
        clock = HybridClock(dev)
        codes = common.checklist_codes()
        muts = [Upsert(id=uuid7(), seq=i + 1, hlc=str(clock.tick()), entity="inspection",
                       entity_id=doc["_id"], fields=common.doc_fields(doc, codes),
                       base={"site_id": 0}) for i, doc in enumerate(docs)]
        db_cpu.start()
        w0, c0 = time.perf_counter(), time.process_time()
        statuses: dict[str, int] = {}
        for i in range(0, len(muts), a.batch):
            req = PushRequest(device_id=dev, mutations=muts[i:i + a.batch])
            for r in service.push(store, settings, p, req).results:
                statuses[r.status] = statuses.get(r.status, 0) + 1
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        backend = db_cpu.stop()
        store.close()
    n = len(muts)
    print(json.dumps({"mutations": n, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
                      "cpu_ms_per_mutation": round(1000 * cpu / n, 3),
                      "mutations_per_cpu_s": round(n / cpu, 1), "statuses": statuses,
                      "db_cpu_s": backend, "engine": "postgresql" if a.pg else "sqlite",
                      "pragmas": a.pragma, "tree": str(common.SRC)}))


if __name__ == "__main__":
    main()
