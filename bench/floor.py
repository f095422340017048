#!/usr/bin/env python3
"""The SQLite floor: the rows a benchmark phase made, written again with nothing
but ``executemany`` and the same transactions. No HTTP, no JSON, no checks, no
merge: what the database alone costs on this machine, so a target that is not
met can be set against the part of the time no Python change can remove.

    python bench/floor.py server WORK/pp10000/server.db [--batch 200]
    python bench/floor.py device WORK/bootstrap/server.db [--page 5000]

``server``: the inspections a real 10k push stored (their ``records`` rows,
their ``record_history`` rows and the push's ``mutations`` ledger rows), read
out of the pushed server's database, then written into a fresh database of the
tree under test (its migrations, its writer connection and pragmas), one
transaction per device batch (200, the default) with the revision counter moved
as ``BatchTx.flush`` does and the commit fsynced (``synchronous=FULL``).
Measured twice: ``records`` alone, and all three tables.

``device``: every record of the district the bootstrap served, as the rows a
new device stores for them (``field_app.core.store.raw_row``: the pulled JSON
text as it is, ``deleted`` appended), written into a fresh device database
with ``Tx.put_raw_rows`` in pages of 5,000 (the first pull's page size), one
``durable=False`` transaction per page, inside ``LocalStore.bulk_load``, as
``SyncClient.pull`` does.

Prints one JSON line: seconds (wall and CPU), rows, microseconds per document.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: F401  (puts the product tree under test on sys.path)


def _rows(src: Path, sql: str, args: tuple = ()) -> tuple[list[str], list[tuple]]:
    con = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
    try:
        cur = con.execute(sql, args)
        return [d[0] for d in cur.description], cur.fetchall()
    finally:
        con.close()


def _insert(table: str, cols: list[str]) -> str:
    return f"INSERT INTO {table}({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"


def server_floor(src: Path, batch: int) -> dict[str, Any]:
    from sync_server.store.sqlite import SqliteStore

    rec_cols, recs = _rows(src, "SELECT * FROM records WHERE entity='inspection' ORDER BY rev")
    hist_cols, hist = _rows(src, "SELECT * FROM record_history WHERE entity='inspection' "
                                 "ORDER BY rev")
    led_cols, ledger = _rows(src, "SELECT * FROM mutations WHERE entity='inspection' "
                                  "ORDER BY received_at, seq")
    rev_at = rec_cols.index("rev")
    hist_rev_at = hist_cols.index("rev")
    n = len(recs)
    if not n or len(ledger) != n:
        raise SystemExit(f"{src}: {n} inspections, {len(ledger)} ledger rows: not a push's database")
    hist_by_rev: dict[int, list[tuple]] = {}
    for h in hist:
        hist_by_rev.setdefault(h[hist_rev_at], []).append(h)
    out: dict[str, Any] = {"documents": n, "batch": batch,
                           "row_chars": sum(len(str(v)) for r in recs for v in r if v) // n}
    for label, tables in (("records", ("records",)),
                          ("all", ("records", "record_history", "mutations"))):
        with tempfile.TemporaryDirectory() as d:
            store = SqliteStore(Path(d) / "floor.db")
            store.migrate()
            con = store._writer  # the writer as the server opens it (pragmas, page cache)
            w0, c0 = time.perf_counter(), time.process_time()
            for i in range(0, n, batch):
                part = recs[i:i + batch]
                con.execute("BEGIN IMMEDIATE")
                con.executemany(_insert("records", rec_cols), part)
                if "record_history" in tables:
                    con.executemany(_insert("record_history", hist_cols),
                                    [h for r in part for h in hist_by_rev.get(r[rev_at], ())])
                if "mutations" in tables:
                    con.executemany(_insert("mutations", led_cols), ledger[i:i + batch])
                con.execute("UPDATE counters SET value=? WHERE name='rev'", (part[-1][rev_at],))
                con.execute("COMMIT")
            wall, cpu = time.perf_counter() - w0, time.process_time() - c0
            store.close()
        out[label] = {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
                      "us_per_doc": round(1e6 * wall / n, 1),
                      "docs_per_s": round(n / wall, 1)}
    return out


def device_floor(src: Path, page: int) -> dict[str, Any]:
    from field_app.core.store import LocalStore, raw_row

    _, rows = _rows(src, "SELECT entity, id, data, field_revs, rev, newest_hlc, deleted, "
                         "site_id, parent_id FROM records ORDER BY rev")
    now = int(time.time() * 1000)
    tail = {0: ',"deleted":false}', 1: ',"deleted":true}'}
    device_rows = [
        raw_row(e, i, data[:-1] + tail[deleted], revs, rev, hlc, bool(deleted), 1, now, site,
                parent if e == "photo" else None, parent if e == "case_event" else None)
        for e, i, data, revs, rev, hlc, deleted, site, parent in rows]
    n = len(device_rows)
    with tempfile.TemporaryDirectory() as d:
        store = LocalStore(d, lambda: now)
        store.migrate()
        # as a first sync does: without the link indexes, made at the end (a tree
        # from before ``bulk_load`` writes them with every page)
        bulk = store.bulk_load() if hasattr(store, "bulk_load") else contextlib.nullcontext()
        w0, c0 = time.perf_counter(), time.process_time()
        with bulk:
            for i in range(0, n, page):
                with store.write(durable=False) as tx:
                    tx.put_raw_rows(device_rows[i:i + page])
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        db_mb = (Path(d) / LocalStore.FILE).stat().st_size / 1e6
        store.conn.close()
    return {"records": n, "page": page, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
            "us_per_record": round(1e6 * wall / n, 1), "device_db_mb": round(db_mb, 1),
            "bytes_per_record": sum(len(r[2]) + len(r[5]) for r in device_rows) // n}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("side", choices=("server", "device"))
    ap.add_argument("db", type=Path, help="the phase's server database")
    ap.add_argument("--batch", type=int, default=200, help="server: documents per transaction")
    ap.add_argument("--page", type=int, default=5000, help="device: records per transaction")
    a = ap.parse_args()
    if not a.db.is_file():
        raise SystemExit(f"no database at {a.db}")
    out = server_floor(a.db, a.batch) if a.side == "server" else device_floor(a.db, a.page)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
