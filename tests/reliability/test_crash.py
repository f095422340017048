"""Crash proofs: the real server (uvicorn subprocess) is SIGKILLed at random
moments while a device pushes 5,000 mutations; the device process is killed
with -9 mid-write and mid-sync. After restarts nothing is lost, nothing is
applied twice, and both databases pass ``PRAGMA integrity_check``.

Builds on tests/device/test_server_killed.py (one kill, 2,000 mutations) and
tests/device/test_crash.py (two fixed kill points while recording)."""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from device.support import ROOT, LiveServer, ServerProcess, fast_settings
from device.test_crash import kill_while_recording
from field_app.core import Device

from .conftest import size


def ro(db: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)


def ledger_count(db: Path) -> int:
    conn = ro(db)
    try:
        return conn.execute("SELECT count(*) FROM mutations").fetchone()[0]
    finally:
        conn.close()


def integrity(db: Path) -> str:
    conn = sqlite3.connect(db, timeout=10)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def assert_exactly_once(db: Path, device_id: str, n: int) -> None:
    """The server's ledger holds each of the device's ``n`` mutations once."""
    conn = ro(db)
    try:
        rows = conn.execute("SELECT id, seq, status FROM mutations WHERE device_id=?",
                            (device_id,)).fetchall()
    finally:
        conn.close()
    assert len(rows) == n, (len(rows), n)
    assert len({r[0] for r in rows}) == n
    assert sorted(r[1] for r in rows) == list(range(1, n + 1))
    assert {r[2] for r in rows} <= {"applied", "merged"}, Counter(r[2] for r in rows)


def test_server_sigkilled_at_random_moments_during_5000_mutations(
        server_process: ServerProcess, make_device, figures) -> None:
    srv = server_process
    rng = random.Random(6)
    kills_wanted = size(4, 30)
    srv.start()
    t = srv.town
    dev = make_device("A", srv, "grid1", batch_size=100, max_attempts=2)

    # 1,000 new sites, each edited four times: 5,000 mutations.
    sites, edits = 1000, 4
    expected: dict[str, str] = {}
    for i in range(sites):
        site_id = dev.create_site(name=f"工地{i:04d}", kind="construction", village_id=t.v1)
        for n in range(edits):
            dev.update_site(site_id, contact_phone=f"139{i:04d}{n:04d}")
        expected[site_id] = f"139{i:04d}{edits - 1:04d}"
    total = sites * (1 + edits)
    assert dev.status().pending_mutations == total

    kills = mid_push = 0
    rounds = 0
    while dev.status().pending_mutations and rounds < kills_wanted * 3:
        rounds += 1
        if not srv.proc or srv.proc.poll() is not None:
            srv.start()
        if kills >= kills_wanted:
            break
        # Kill once the ledger grew by a random amount (often mid-batch, while
        # the commit runs), plus a random delay of up to 30 ms.
        start = ledger_count(srv.db)
        target = start + rng.randint(1, 150)
        extra = rng.random() * 0.03
        fired = threading.Event()

        def killer(target: int = target, extra: float = extra, fired: threading.Event = fired) -> None:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    if ledger_count(srv.db) >= target:
                        break
                except sqlite3.Error:
                    pass
                time.sleep(0.001)
            time.sleep(extra)
            srv.kill()
            fired.set()

        thread = threading.Thread(target=killer, daemon=True)
        thread.start()
        report = dev.sync()
        thread.join(timeout=40)
        assert fired.is_set()
        kills += 1
        if report.errors:
            mid_push += 1
        assert not report.login_required, report
        assert integrity(srv.db) == "ok"

    if not srv.proc or srv.proc.poll() is not None:
        srv.start()
    for _ in range(5):
        report = dev.sync()
        if report.ok and not dev.status().pending_mutations:
            break
    assert report.ok, report
    assert dev.status().pending_mutations == 0
    assert dev.check() == []
    srv.stop()

    assert integrity(srv.db) == "ok"
    assert_exactly_once(srv.db, dev.device_id, total)
    conn = ro(srv.db)
    try:
        data = {i: json.loads(d) for i, d in conn.execute(
            "SELECT id, data FROM records WHERE entity='site' AND created_by_device=?",
            (dev.device_id,))}
        writes = Counter(r[0] for r in conn.execute(
            "SELECT id FROM field_history WHERE entity='site' AND field='contact_phone' "
            "AND device_id=?", (dev.device_id,)))
    finally:
        conn.close()
    assert set(data) == set(expected)
    for site_id, phone in expected.items():
        assert data[site_id]["contact_phone"] == phone
        assert dev.get("site", site_id)["contact_phone"] == phone
    # no edit was applied twice: each site's phone was written exactly 4 times
    assert set(writes.values()) == {edits} and len(writes) == sites
    assert mid_push >= kills_wanted // 2, (mid_push, kills)
    figures.record("crash: server SIGKILL", runs=1, kills=kills, kills_mid_sync=mid_push,
                   mutations_checked=total, lost=0, duplicated=0)


SYNCER = r"""
import sys
from field_app.core import Device, DeviceSettings
dev = Device.open(sys.argv[1], DeviceSettings(batch_size=int(sys.argv[2]), max_attempts=2,
                                              sleep=lambda s: None))
print("syncing", flush=True)
print(dev.sync().summary(), flush=True)
"""


def test_device_killed_mid_sync(server: LiveServer, make_device, tmp_path: Path,
                                figures) -> None:
    """kill -9 of the device process at random moments of a sync (between a
    push being committed on the server and the answer being stored, inside
    the local transactions, during pulls): the next sync finishes the job and
    the server holds each mutation once."""
    rng = random.Random(9)
    t = server.town
    n_sites = size(400, 1000)
    kills_wanted = size(4, 30)
    dev = make_device("A", server, "grid1")
    for i in range(n_sites):
        site_id = dev.create_site(name=f"厂{i:04d}", kind="factory", village_id=t.v1)
        dev.update_site(site_id, contact_phone=f"137{i:08d}")
    total = 2 * n_sites
    data_dir = str(dev.data_dir)
    dev.close()

    kills = 0
    for _ in range(kills_wanted):
        proc = subprocess.Popen([sys.executable, "-c", SYNCER, data_dir, "20"], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "syncing"
            time.sleep(rng.random() * 0.4)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=20)
        if proc.returncode == -signal.SIGKILL:
            kills += 1
        reopened = Device.open(data_dir, fast_settings())
        try:
            assert reopened.store.integrity_check() == "ok"
            assert reopened.check() == []
            left = reopened.status().pending_mutations
        finally:
            reopened.close()
        if left == 0:
            break

    dev = Device.open(data_dir, fast_settings())
    try:
        report = dev.sync()
        assert report.ok and report.rejected == 0, report
        assert dev.status().pending_mutations == 0 and dev.check() == []
        receipt = dev.receipt()
        assert receipt.safe_to_wipe, receipt
        assert receipt.server.mutations_received == total
        device_id = dev.device_id
    finally:
        dev.close()
    assert integrity(server.db) == "ok"
    assert_exactly_once(server.db, device_id, total)
    assert kills >= min(2, kills_wanted)
    figures.record("crash: device kill -9 mid-sync", runs=1, kills=kills,
                   mutations_checked=total, lost=0, duplicated=0)


def test_device_killed_mid_write_at_random_points(server: LiveServer, make_device,
                                                  figures) -> None:
    """The recording loop of tests/device/test_crash.py, killed at random
    points many times: every action reported done survives, the store stays
    consistent, and a final sync brings the device and server level."""
    rng = random.Random(3)
    kills = size(4, 30)
    data_dir, insp, reported = kill_while_recording(
        server, make_device, [rng.randint(5, 60) for _ in range(kills)])

    dev = Device.open(data_dir, fast_settings())
    try:
        pending = dev.status().pending_mutations
        report = dev.sync()
        assert report.ok and report.rejected == 0, report
        assert dev.status().pending_mutations == 0 and dev.check() == []
        assert dev.get("inspection", insp)["answers"] == server.record(
            "inspection", insp)["answers"]
    finally:
        dev.close()
    assert integrity(server.db) == "ok"
    figures.record("crash: device kill -9 mid-write", runs=1, kills=kills,
                   actions_checked=len(reported), mutations_checked=pending)
