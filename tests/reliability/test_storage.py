"""Storage: the durability settings both databases run with, and
``sync-server backup PATH`` (SQLite's online backup and the photos) restored (``restore``) as a new
server database that devices then sync against — including a device that
synced *after* the backup was taken, so its cursor is ahead of the restored
server (abrupt kills at any point are proven in test_crash.py and
test_convergence.py)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from device.support import ROOT, ServerProcess, small_jpeg
from field_app.core import Device
from field_app.core.store import connect as device_connect
from sync_server.store.sqlite import SqliteStore

from .conftest import size
from .views import device_view, server_view

SYNC_SERVER = str(Path(os.sys.executable).with_name("sync-server"))


def test_both_databases_run_in_wal_with_synchronous_full(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.db")
    store.migrate()
    try:
        with store.transaction():
            pass
        conn = store.conn if hasattr(store, "conn") else store._writer
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    finally:
        store.close()
    dev_conn = device_connect(tmp_path / "device.db")
    try:
        assert dev_conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert dev_conn.execute("PRAGMA synchronous").fetchone()[0] == 2
    finally:
        dev_conn.close()


def assert_equal_to_server(dev: Device, url: str) -> int:
    with dev.store.read() as tx:
        token = tx.get("token")
    want = server_view(url, token)
    got = device_view(dev)
    assert set(got) == set(want), set(got) ^ set(want)
    for key in want:
        assert got[key] == want[key], key
    return len(want)


def test_backup_restore_and_sync(tmp_path: Path, make_device, figures) -> None:
    srv = ServerProcess(tmp_path / "server")
    srv.start()
    try:
        t = srv.town
        a = make_device("A", srv, "grid1")
        b = make_device("B", srv, "office1")
        n = size(50, 1000)
        insp = a.start_inspection(t.site1)
        for i in range(n):
            a.update_site(t.site1, contact_phone=f"135{i:08d}")
            b.update_site(t.site2, address=f"二社区{i}号")
        a.attach_photo(insp, small_jpeg(1))
        case = a.open_case(site_id=t.site1, title="欠薪", sector="construction",
                           workers_owed=3, amount_owed=9000, complainant_name="赵六")
        a.add_case_event(case, "accept")
        for dev in (a, b, a):
            assert dev.sync().ok

        # the backup, taken from the CLI while the server is serving
        backup = tmp_path / "backups" / "server"  # the database and the photos
        out = subprocess.run([SYNC_SERVER, "backup", str(backup), "--db", str(srv.db)],
                             cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert "integrity ok" in out.stdout and "1 photo(s)" in out.stdout

        # work after the backup: acknowledged by the server that is then lost
        lost = size(5, 50)
        for i in range(lost):
            a.update_site(t.site1, builder=f"备份后{i}")
        assert a.sync().ok
        acked_after_backup = a.receipt().server.mutations_received

        # the disk dies: the server is killed, the backup restored in its place
        srv.kill()
        for suffix in ("", "-wal", "-shm"):
            Path(str(srv.db) + suffix).unlink(missing_ok=True)
        shutil.rmtree(srv.db.parent / "blobs")
        out = subprocess.run([SYNC_SERVER, "restore", str(backup), "--db", str(srv.db)],
                             cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        srv.start()
        with sqlite3.connect(srv.db) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

        # every device syncs against the restored server and equals it
        for dev in (a, b):
            report = dev.sync()
            assert report.ok, report
        a.update_site(t.site1, contractor="恢复后")
        b.update_site(t.site2, contractor="恢复后")
        for dev in (a, b, a):
            assert dev.sync().ok and dev.status().pending_mutations == 0
        checked = sum(assert_equal_to_server(dev, srv.url) for dev in (a, b))
        c = make_device("C", srv, "grid1")
        checked += assert_equal_to_server(c, srv.url)
        assert c.get("site", t.site1)["contractor"] == "恢复后"
        # the photo came back with the blobs folder and still matches its hash
        photo = a.photos(insp)[0]
        assert c.fetch_photo(photo["sha256"]).read_bytes() == a.photo_path(
            photo["sha256"]).read_bytes()
        # the receipt tells the truth: the server no longer holds what A sent
        # after the backup, so A's phone is not safe to wipe
        receipt = a.receipt()
        assert receipt.server.mutations_received == acked_after_backup - lost + 1
        assert not receipt.safe_to_wipe and receipt.problems, receipt
    finally:
        srv.stop()
    figures.record("storage: backup/restore", runs=1, records_compared=checked,
                   mutations_before_backup=2 * n + 4, acknowledged_then_lost=lost)


def test_a_cursor_ahead_of_the_server_forces_a_full_resync(world) -> None:
    """The product fix behind the restore test: a device whose cursor is
    beyond the server's newest revision (a restored server) gets 410, not a
    page that silently skips the revisions made since the restore."""
    dev = world.device("grid1", "ahead")
    r = dev.pull_response(since=dev.cursor + 1000)
    assert r.status_code == 410
    assert r.json()["error"]["code"] == "resync_required"
    assert dev.pull_response(since=dev.cursor).status_code == 200
    assert dev.pull_response(since=0).status_code == 200
