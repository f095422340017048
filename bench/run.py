#!/usr/bin/env python3
"""Wage Patrol benchmark, side by side with the CouchDB-replication peer.

    .venv/bin/python bench/run.py            # the issue's sizes (make bench)
    .venv/bin/python bench/run.py --quick    # 1k docs, 50 devices, 1/10 bootstrap
    .venv/bin/python bench/run.py --only push,pull --sizes 10000
    .venv/bin/python bench/run.py --engines sqlite,pg1,pg2 --only peer,push,pull,concurrent \
        --out bench/results/pg-DATE.json    # the same phases on PostgreSQL, 1 and 2 workers

The 200 devices and the bootstrap run ``--repeat`` times (default 3): the table
gives the median run and each run's figure. Prints a table and writes
bench/results/latest.json. The peer (pouchdb-server
4.2 <-> PouchDB 9, ../shared/peers/pouchdb) runs in the same invocation on the
same documents, installed from the npm registry into --peer-work (outside the
repository).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from common import SRC, Server, cpu_s, load_docs, peer_sites, seed  # noqa: E402
from engine_table import engine_table  # noqa: E402
from report import encoding_table, table  # noqa: E402

#: The server setups a run can measure: the engine and the worker processes.
ENGINES = {"sqlite": ("sqlite", 1), "pg1": ("postgresql", 1), "pg2": ("postgresql", 2)}
ENGINE_NAMES = {"sqlite": "SQLite, 1 process", "pg1": "PostgreSQL, 1 worker",
                "pg2": "PostgreSQL, 2 workers"}
#: The 200 devices' users are hashed at scrypt 2^14 and the server told so, as the
#: tests do: their logins come before the timed rounds, and at OWASP's 2^17 seeding
#: and logging in 200 users takes minutes of a 2-core machine.
BENCH_SCRYPT_N = 2**14
PEER_SRC = Path(os.environ.get("PEER_SRC", ROOT.parent / "shared" / "peers" / "pouchdb"))
PY = sys.executable


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def phase(name: str, *args: str, timeout: int = 1800, script: str = "phases.py") -> dict[str, Any]:
    r = subprocess.run([PY, str(HERE / script), name, *args], capture_output=True,
                       text=True, timeout=timeout, env={**os.environ, "PYTHONPATH": str(SRC)})
    if r.returncode != 0:
        raise RuntimeError(f"phase {name} failed:\n{r.stderr[-4000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def floor(side: str, db: Path) -> dict[str, Any]:
    """The SQLite floor of a phase (bench/floor.py): its rows written again bare."""
    return phase(side, str(db), script="floor.py")


# --- the peer -------------------------------------------------------------------


def peer_setup(work: Path, sizes: list[int], install: bool = True) -> Path:
    """Copy the peer harness to ``work``, install it from npm once, generate the documents."""
    work.mkdir(parents=True, exist_ok=True)
    for f in list(PEER_SRC.glob("*.py")) + list(PEER_SRC.glob("*.js")):
        shutil.copy(f, work / f.name)
        os.chmod(work / f.name, 0o755)
    if not (work / "package.json").exists():
        subprocess.run(["npm", "init", "-y"], cwd=work, check=True, capture_output=True)
    if install and not ((work / "node_modules" / "pouchdb-server").is_dir()
            and (work / "node_modules" / "pouchdb").is_dir()):
        log("installing pouchdb-server 4.2.0 + pouchdb 9.0.0 from npm (once)")
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "pouchdb-server@4.2.0",
                        "pouchdb@9.0.0"], cwd=work, check=True, capture_output=True)
    need = [n for n in sorted(set(sizes) | {1000}) if not (work / "data" / f"inspections_{n}.json").exists()]
    if need:
        subprocess.run(["python3", "gen_docs.py", "--sizes", ",".join(map(str, need)),
                        "--seed", "42", "--out", "data"], cwd=work, check=True,
                       capture_output=True)
    return work / "data"


def peer_run(work: Path, sizes: list[int], conflict: int) -> dict[str, Any]:
    from common import free_port

    r = subprocess.run(["node", "bench_pouch.js", "--run", "1", "--sizes",
                        ",".join(map(str, sizes)), "--conflict", str(conflict),
                        "--port", str(free_port())], cwd=work, capture_output=True, text=True,
                       timeout=3600)
    if r.returncode != 0:
        raise RuntimeError(f"peer failed: {r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


# --- our side -------------------------------------------------------------------


PG_ADMIN: list[str] = []  # --pg, the cluster the PostgreSQL databases are made on
KEEP_DBS: list[bool] = [False]  # --keep: the PostgreSQL databases too


@contextmanager
def server_db(engine: str, d: Path) -> Iterator[str]:
    """Where the server's database is: a new SQLite file in ``d``, or a new
    PostgreSQL database (dropped afterwards, unless ``--keep``)."""
    if ENGINES[engine][0] == "sqlite":
        yield str(d / "server.db")
        return
    from pgdb import database

    with database(*PG_ADMIN, keep=KEEP_DBS[0]) as url:
        if KEEP_DBS[0]:
            log(f"keeping the database {url}")
        yield url


def db_cpu(location: str) -> Any:
    from pgdb import BackendCpu

    return BackendCpu(location if "://" in location else None, *PG_ADMIN)


def count_inspections(location: str) -> int:
    from sync_server.store import open_store

    store = open_store(location)
    try:
        return store.count_records("inspection")
    finally:
        store.close()


def bench_push_pull(data: Path, n: int, work: Path, encodings: bool,
                    engine: str = "sqlite") -> dict[str, Any]:
    docs = load_docs(data, n)
    d = work / f"pp{n}-{engine}"
    d.mkdir(parents=True)
    with server_db(engine, d) as location:
        seed(location, peer_sites(docs))
        out: dict[str, Any] = {"engine": engine}
        with Server(location, workers=ENGINES[engine][1], folder=d) as srv:
            for kind, args in (
                    ("push", ["--url", srv.url, "--docs", str(data / f"inspections_{n}.json"),
                              "--dir", str(d)]),
                    ("pull", ["--url", srv.url, "--dir", str(d), "--user", "office1",
                              "--expect", str(n), *(["--encodings"] if encodings else [])])):
                srv.reset_peak()
                c0, dbc = srv.cpu_s(), db_cpu(location)
                dbc.start()
                out[kind] = phase(kind, *args)
                out[kind]["server_peak_rss_mb"] = round(srv.hwm_mb(), 1)
                out[kind]["server_cpu_s"] = round(srv.cpu_s() - c0, 2)
                out[kind]["db_cpu_s"] = dbc.stop()
        if engine == "sqlite":
            out["push"]["floor"] = floor("server", d / "server.db")
        out["server_inspections"] = count_inspections(location)
    assert out["server_inspections"] == n, out
    assert out["push"]["acknowledged"] == n and out["push"]["rejected"] == 0, out["push"]
    assert out["pull"]["inspections_on_device"] == n, out["pull"]
    return out


def bench_concurrent(data: Path, work: Path, devices: int, rounds: int,
                     mutations: int, villages: int = 20, run: int = 0,
                     engine: str = "sqlite") -> dict[str, Any]:
    """``devices`` grid officers spread over ``villages`` villages (the peer's 500
    sites dealt out over them), all syncing at once: each pushes new
    inspections of its village's sites and pulls what its village changed."""
    d = work / f"concurrent-{engine}-{run}"
    d.mkdir(parents=True)
    with server_db(engine, d) as location:
        out = _concurrent(data, d, location, devices, rounds, mutations, villages, engine)
    out["engine"] = engine
    return out


def _concurrent(data: Path, d: Path, location: str, devices: int, rounds: int,
                mutations: int, villages: int, engine: str) -> dict[str, Any]:
    from shared_schema.ids import uuid7
    from sync_server.domain.auth.service import create_user
    from sync_server.store import open_store

    from common import PASSWORD, registry_writer

    sites = peer_sites(load_docs(data, 1000))
    now = int(time.time() * 1000)
    vids = [uuid7() for _ in range(villages)]
    store = open_store(location)
    try:
        store.migrate()
        by_village: dict[str, list[str]] = {v: [] for v in vids}
        with registry_writer(store, now) as w:
            for i, v in enumerate(vids):
                w.upsert("village", v, {"name": f"村{i:02d}", "kind": "village"})
            for i, sid in enumerate(sites):
                v = vids[i % villages]
                by_village[v].append(sid)
                w.upsert("site", sid, {"name": f"工地{i:04d}", "kind": "construction",
                                       "village_id": v, "status": "active"})
        plan = []
        for i in range(devices):
            v = vids[i % villages]
            create_user(store, f"dev{i:03d}", PASSWORD, "grid_officer", village_ids=[v],
                        now_ms=now, scrypt_n=BENCH_SCRYPT_N)
            plan.append(by_village[v])
    finally:
        store.close()
    (d / "plan.json").write_text(json.dumps(plan))
    env = {"WAGE_PATROL_SCRYPT_N": str(BENCH_SCRYPT_N)}
    with Server(location, env, workers=ENGINES[engine][1], folder=d) as srv:
        srv.reset_peak()
        c0 = srv.cpu_s()
        out = phase("concurrent", "--url", srv.url, "--dir", str(d), "--devices", str(devices),
                    "--rounds", str(rounds), "--mutations", str(mutations),
                    "--sites", str(d / "plan.json"), "--server-pid", str(srv.pid),
                    *(["--db-url", location] if "://" in location else []))
        out["server_peak_rss_mb"] = round(srv.hwm_mb(), 1)
        out["server_cpu_s"] = round(srv.cpu_s() - c0, 2)
    sent = json.loads(Path(out.pop("sent_ids_file")).read_text())
    # what the server holds, through the store contract (the same on both engines)
    store = open_store(location)
    try:
        ledger = {m: e.status for m in sent if (e := store.get_mutation(m)) is not None}
        stored = {e for e in set(sent.values()) if store.get_record("inspection", e) is not None}
        n_stored = store.count_records("inspection")
    finally:
        store.close()
    out["lost_mutations"] = sum(1 for m in sent if m not in ledger)
    out["lost_records"] = sum(1 for e in sent.values() if e not in stored)
    # one record per entity id is the store's key; more inspections than sent is a duplicate
    out["duplicated_records"] = max(0, n_stored - len(set(sent.values())))
    out["not_applied"] = sum(1 for s in ledger.values() if s != "applied")
    out["villages"] = villages
    return out


def bench_bootstrap(work: Path, sites: int, cases: int, inspections: int,
                    repeat: int = 1) -> dict[str, Any]:
    from bootstrap import build

    d = work / "bootstrap"
    d.mkdir(parents=True)
    t = time.perf_counter()
    info = build(d / "server.db", sites, cases, inspections)
    build_s = time.perf_counter() - t
    # The registry was just written: let the kernel write its ~550 MB back now,
    # not during the timed pull (a district's database is on disk long before
    # a new device asks for it).
    t = time.perf_counter()
    os.sync()
    sync_s = time.perf_counter() - t
    total = sites + cases + inspections
    runs = []
    for i in range(repeat):  # each run a new device against a fresh server process
        dev = d / f"run-{i}"
        dev.mkdir()
        with Server(d / "server.db") as srv:
            srv.reset_peak()
            c0 = cpu_s(srv.pid)
            one = phase("pull", "--url", srv.url, "--dir", str(dev), "--user", "office1",
                        "--expect", str(total), timeout=3600)
            one["server_peak_rss_mb"] = round(srv.hwm_mb(), 1)
            one["server_cpu_s"] = round(cpu_s(srv.pid) - c0, 2)
        if i < repeat - 1:
            shutil.rmtree(dev)
        os.sync()  # the device database the pull wrote, likewise
        runs.append(one)
    out = median_of(runs, "seconds")
    out["runs"] = [{k: r[k] for k in ("seconds", "device_cpu_s", "server_cpu_s",
                                      "records") if k in r} for r in runs]
    out["floor"] = floor("device", d / "server.db")
    out.update({"sites": sites, "cases": cases, "inspections": inspections,
                "build_s": round(build_s, 2), "sync_s": round(sync_s, 2), "server_db_mb": info["db_mb"],
                "bytes_per_record_down": round(out["wire_bytes_down"] / total, 1)})
    return out


def median_of(runs: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """A copy of the run whose ``key`` is the median (the lower one of an even count)."""
    return dict(sorted(runs, key=lambda r: r[key])[(len(runs) - 1) // 2])


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median push p99, every run's figures under ``runs``
    and the losses of all of them added up (each must be 0)."""
    out = median_of(runs, "push_p99_s")
    out["runs"] = [{k: r[k] for k in ("push_p50_s", "push_p99_s", "pull_p50_s", "pull_p99_s",
                                      "server_cpu_rounds_s", "client_cpu_rounds_s", "errors",
                                      "lost_mutations", "lost_records", "duplicated_records",
                                      "not_applied")} for r in runs]
    for k in ("errors", "lost_mutations", "lost_records", "duplicated_records", "not_applied"):
        out[f"{k}_all_runs"] = sum(r[k] for r in runs)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes for a fast check")
    ap.add_argument("--sizes", help="documents for push/pull (default 1000,10000)")
    ap.add_argument("--devices", type=int)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--bootstrap", help="sites,cases,inspections (default 20000,50000,100000)")
    ap.add_argument("--only", default="peer,push,pull,concurrent,bootstrap,photo")
    ap.add_argument("--repeat", type=int, help="runs of the 200-device and bootstrap "
                    "phases, the median reported with the spread (default 3, --quick 1)")
    ap.add_argument("--peer-work", default=os.environ.get("PEER_WORK", "/tmp/wp-peerbench"))
    ap.add_argument("--out", default=str(HERE / "results" / "latest.json"))
    ap.add_argument("--keep", action="store_true", help="keep the work folder and the PostgreSQL databases")
    ap.add_argument("--engines", default="sqlite",
                    help="server setups for push, pull and the 200 devices: sqlite, pg1 "
                         "(PostgreSQL, 1 worker), pg2 (2 workers); default sqlite")
    ap.add_argument("--pg", default=os.environ.get(
        "WAGE_PATROL_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres"),
                    help="the PostgreSQL cluster the bench databases are made on (and dropped)")
    a = ap.parse_args()
    engines = a.engines.split(",")
    unknown = set(engines) - set(ENGINES)
    if unknown:
        ap.error(f"unknown engine(s) {sorted(unknown)}; known: {sorted(ENGINES)}")
    PG_ADMIN[:] = [a.pg]
    KEEP_DBS[0] = a.keep
    sizes = [int(x) for x in (a.sizes or ("1000" if a.quick else "1000,10000")).split(",")]
    devices = a.devices or (50 if a.quick else 200)
    boot = [int(x) for x in (a.bootstrap or ("2000,5000,10000" if a.quick
                                            else "20000,50000,100000")).split(",")]
    only = set(a.only.split(","))
    res: dict[str, Any] = {
        "when_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "quick": a.quick,
        "sizes": sizes,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "sqlite": sqlite3.sqlite_version, "platform": platform.platform(),
                    "cpu": _cpu_model()},
        "ours": {}, "product_tree": str(SRC), "loadavg_start": os.getloadavg(),
    }
    work = Path(tempfile.mkdtemp(prefix="wp-bench-"))
    try:
        data = peer_setup(Path(a.peer_work), sizes, install="peer" in only)
        if "peer" in only:
            log(f"peer: pouchdb-server on {sizes}")
            res["peer"] = peer_run(Path(a.peer_work), sizes, min(1000, min(sizes)))
        res["engines"] = {e: {"name": ENGINE_NAMES[e]} for e in engines}
        if only & {"push", "pull"}:
            for n in sizes:
                for e in engines:
                    log(f"ours ({ENGINE_NAMES[e]}): push + pull {n}")
                    one = bench_push_pull(data, n, work, encodings=e == "sqlite", engine=e)
                    res["engines"][e][f"n{n}"] = one
                    if e == "sqlite":
                        res["ours"][f"n{n}"] = one
        repeat = a.repeat or (1 if a.quick else 3)
        if "concurrent" in only:
            for e in engines:
                runs = []
                for i in range(repeat):
                    log(f"ours ({ENGINE_NAMES[e]}): {devices} concurrent devices "
                        f"(run {i + 1} of {repeat})")
                    runs.append(bench_concurrent(data, work, devices, a.rounds, 5, run=i,
                                                 engine=e))
                res["engines"][e]["concurrent"] = median_run(runs)
                if e == "sqlite":
                    res["ours"]["concurrent"] = res["engines"][e]["concurrent"]
        if "bootstrap" in only:
            log(f"ours: bootstrap {boot} ({repeat} pulls)")
            res["ours"]["bootstrap"] = bench_bootstrap(work, *boot, repeat=repeat)
        if "photo" in only:
            log("ours: photo pipeline")
            res["ours"]["photo"] = phase("photo", "--dir", str(work))
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log(f"work folder kept: {work}")
    res["loadavg_end"] = os.getloadavg()
    res["table"] = table(res)
    if any(e != "sqlite" for e in res.get("engines", {})):
        res["engine_table"] = engine_table(res)
        res["engine_table_md"] = engine_table(res, markdown=True)
    enc = encoding_table(res)
    if enc:
        res["encoding_table"] = enc
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1, ensure_ascii=False) + "\n")
    print(res["table"])
    if res.get("engine_table"):
        print(res["engine_table"])
    if enc:
        print(enc)
    print(f"load average (1/5/15 min) at start {res['loadavg_start']}, at end {res['loadavg_end']}"
          f" on {res['machine']['cpus']} CPUs")
    log(f"wrote {out}")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


if __name__ == "__main__":
    main()
