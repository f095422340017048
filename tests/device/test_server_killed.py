"""The server is SIGKILLed while a device pushes 2,000 mutations; after a
restart and another sync the server holds each mutation exactly once."""

from __future__ import annotations

import sqlite3
import threading
import time

from .support import ServerProcess


def ledger_count(db: str, device_id: str | None = None) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        if device_id is None:
            return conn.execute("SELECT count(*) FROM mutations").fetchone()[0]
        return conn.execute("SELECT count(*) FROM mutations WHERE device_id=?",
                            (device_id,)).fetchone()[0]
    finally:
        conn.close()


def test_server_killed_mid_push(server_process: ServerProcess, make_device) -> None:
    srv = server_process
    srv.start()
    t = srv.town
    dev = make_device("A", srv, "grid1", batch_size=50, max_attempts=3)

    # 500 new sites, each edited three times: 2,000 mutations.
    expected: dict[str, dict[str, str]] = {}
    for i in range(500):
        site_id = dev.create_site(name=f"工地{i:03d}", kind="construction", village_id=t.v1)
        for n in range(3):
            dev.update_site(site_id, contact_phone=f"139{i:04d}{n:04d}")
        expected[site_id] = {"name": f"工地{i:03d}", "contact_phone": f"139{i:04d}0002"}
    assert dev.status().pending_mutations == 2000

    # Kill the server once its ledger shows the first batches committed: the
    # kill lands while later batches are on the wire or being committed.
    killed = threading.Event()

    def killer() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if ledger_count(str(srv.db)) >= 100:
                    break
            except sqlite3.Error:
                pass
            time.sleep(0.002)
        srv.kill()
        killed.set()

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    try:
        report = dev.sync()
    finally:
        thread.join(timeout=60)
    assert killed.is_set()
    assert report.errors and not report.login_required, report
    left = dev.status().pending_mutations
    assert 0 < left < 2000
    assert ledger_count(str(srv.db), dev.device_id) < 2000

    srv.start()  # same database, same port
    report = dev.sync()
    assert report.ok, report
    assert dev.status().pending_mutations == 0
    assert dev.check() == []

    conn = sqlite3.connect(srv.db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = conn.execute("SELECT id, seq, status FROM mutations WHERE device_id=?",
                            (dev.device_id,)).fetchall()
        assert len(rows) == 2000
        assert len({r[0] for r in rows}) == 2000
        assert sorted(r[1] for r in rows) == list(range(1, 2001))
        assert {r[2] for r in rows} == {"applied"}
        sites = dict(conn.execute(
            "SELECT id, data FROM records WHERE entity='site' AND id IN (SELECT entity_id "
            "FROM mutations WHERE device_id=?)", (dev.device_id,)).fetchall())
    finally:
        conn.close()
    import json

    assert len(sites) == 500
    for site_id, want in expected.items():
        data = json.loads(sites[site_id])
        assert {k: data[k] for k in want} == want
        assert dev.get("site", site_id)["contact_phone"] == want["contact_phone"]
    receipt = dev.receipt()
    assert receipt.server.mutations_received == 2000 and receipt.safe_to_wipe, receipt
