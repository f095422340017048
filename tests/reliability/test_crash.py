"""Crash proofs: the real server (``sync-server serve`` in a subprocess; on
SQLite, and on PostgreSQL with 2 workers) is SIGKILLed at random moments
while a device pushes 5,000 mutations, or only the worker holding the
device's connection is; the device process is killed with -9 mid-write and
mid-sync. After restarts nothing is lost, nothing is applied twice, and the
databases pass their integrity check (SQLite's ``PRAGMA integrity_check``,
PostgreSQL's store health check).

Builds on tests/device/test_server_killed.py (one kill, 2,000 mutations) and
tests/device/test_crash.py (two fixed kill points while recording)."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from device.support import ROOT, LiveServer, fast_settings
from device.test_crash import kill_while_recording
from field_app.core import Device

from .conftest import size
from .engines import PG_2W, SQLITE, LaunchedServer, ServerSpec, integrity, opened


def outbox_ids(dev: Device) -> dict[str, int]:
    """The device's unacknowledged mutations: id -> seq."""
    with dev.store.read() as tx:
        return dict(tx.q("SELECT id, seq FROM outbox").fetchall())


def assert_exactly_once(location: str | Path, device_id: str, sent: dict[str, int]) -> None:
    """The server's ledger holds each of the device's mutations once, with its
    seq, applied (the store contract: the same check on SQLite and PostgreSQL)."""
    with opened(str(location)) as store:
        stats = store.device_stats(device_id)
        entries = {id: store.get_mutation(id) for id in sent}
    assert stats.mutations_received == len(sent), (stats, len(sent))
    assert stats.last_seq == len(sent) and stats.mutations_applied == len(sent), stats
    missing = [id for id, e in entries.items() if e is None]
    assert not missing, f"{len(missing)} mutations lost, e.g. {missing[:3]}"
    assert {id: e.seq for id, e in entries.items() if e} == sent
    assert sorted(sent.values()) == list(range(1, len(sent) + 1))
    statuses = Counter(e.status for e in entries.values() if e)
    assert set(statuses) <= {"applied", "merged"}, statuses
    assert {e.device_id for e in entries.values() if e} == {device_id}


def kill_workers_while_syncing(srv: LaunchedServer, dev: Device, rng: random.Random,
                               kills_wanted: int) -> tuple[int, int, int]:
    """While the device syncs, SIGKILL the worker holding its connection each
    time the ledger grew by a random amount: (kills, syncs that saw an error,
    mutations the server answered ``duplicate``: committed, answer lost, resent)."""
    stop = threading.Event()
    killed: list[int] = []

    def killer() -> None:
        with opened(srv.location) as watch:
            for _ in range(kills_wanted):
                target = watch.device_stats(dev.device_id).mutations_received + rng.randint(1, 150)
                while not stop.is_set() and \
                        watch.device_stats(dev.device_id).mutations_received < target:
                    time.sleep(0.001)
                time.sleep(rng.random() * 0.03)
                until = time.monotonic() + 10
                while not stop.is_set() and time.monotonic() < until:
                    pid = srv.kill_busy_worker()
                    if pid:
                        killed.append(pid)
                        break
                    time.sleep(0.001)
                if stop.is_set():
                    return

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    errors = syncs = dups = 0
    while dev.status().pending_mutations and syncs < 100:
        syncs += 1
        report = dev.sync()
        errors += bool(report.errors)
        dups += report.duplicates
        assert not report.login_required, report
    stop.set()
    thread.join(timeout=40)
    assert len(killed) == kills_wanted, (killed, kills_wanted)
    assert len(set(killed)) == len(killed)  # each a new worker the supervisor started
    return len(killed), errors, dups


@pytest.mark.parametrize("spec,victim", [(SQLITE, "server"), (PG_2W, "server"),
                                         (PG_2W, "worker")],
                         ids=["sqlite", "postgresql-2w", "postgresql-2w-one-worker"])
def test_server_sigkilled_at_random_moments_during_5000_mutations(
        spec: ServerSpec, victim: str, launch, make_device, figures) -> None:
    """Every process of the server (both workers on PostgreSQL) is SIGKILLed
    while a push commits, again and again; after restarts the ledger holds
    each mutation once and every edit was applied exactly once. The
    ``worker`` variant kills only the worker holding the device's connection:
    the other worker answers the retries while the supervisor starts a new one."""
    srv = launch(spec)
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
    sent = outbox_ids(dev)
    assert len(sent) == total

    kills = mid_push = dups = 0
    rounds = 0
    if victim == "worker":
        kills, mid_push, dups = kill_workers_while_syncing(srv, dev, rng, kills_wanted)

    def received() -> int:
        with opened(srv.location) as store:  # one store per thread: SQLite's rule
            return store.device_stats(dev.device_id).mutations_received

    while victim == "server" and dev.status().pending_mutations and rounds < kills_wanted * 3:
        rounds += 1
        if not srv.alive:
            srv.start()
        if kills >= kills_wanted:
            break
        # Kill once the ledger grew by a random amount (often mid-batch, while
        # the commit runs), plus a random delay of up to 30 ms.
        target = received() + rng.randint(1, 150)
        extra = rng.random() * 0.03
        fired = threading.Event()

        def killer(target: int = target, extra: float = extra,
                   fired: threading.Event = fired) -> None:
            deadline = time.monotonic() + 30
            with opened(srv.location) as watch:
                while time.monotonic() < deadline:
                    try:
                        if watch.device_stats(dev.device_id).mutations_received >= target:
                            break
                    except Exception:  # noqa: BLE001 - the database busy: look again
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
        dups += report.duplicates
        if report.errors:
            mid_push += 1
        assert not report.login_required, report
        assert integrity(srv.location) == "ok"

    if not srv.alive:
        srv.start()
    for _ in range(5):
        report = dev.sync()
        dups += report.duplicates
        if report.ok and not dev.status().pending_mutations:
            break
    assert report.ok, report
    assert dev.status().pending_mutations == 0
    assert dev.check() == []
    receipt = dev.receipt()
    assert receipt.safe_to_wipe and receipt.server.mutations_received == total, receipt
    srv.stop()

    assert integrity(srv.location) == "ok"
    assert_exactly_once(srv.location, dev.device_id, sent)
    with opened(srv.location) as store:
        data = {r.id: r.data for r in store.records("site")
                if r.created_by_device == dev.device_id}
        writes = Counter()
        for site_id in data:
            writes[site_id] = sum(1 for h in store.field_history("site", site_id)
                                  if h.field == "contact_phone" and h.device_id == dev.device_id)
    assert set(data) == set(expected)
    for site_id, phone in expected.items():
        assert data[site_id]["contact_phone"] == phone
        assert dev.get("site", site_id)["contact_phone"] == phone
    # no edit was applied twice: each site's phone was written exactly 4 times
    assert set(writes.values()) == {edits} and len(writes) == sites
    if victim == "server":
        assert mid_push >= kills_wanted // 2, (mid_push, kills)
    figures.record(f"crash: {victim} SIGKILL ({spec.id})", runs=1, kills=kills,
                   kills_mid_sync=mid_push, replayed_answered_duplicate=dups,
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
    sent = outbox_ids(dev)
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
    assert integrity(str(server.db)) == "ok"
    assert len(sent) == total
    assert_exactly_once(server.db, device_id, sent)
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
    assert integrity(str(server.db)) == "ok"
    figures.record("crash: device kill -9 mid-write", runs=1, kills=kills,
                   actions_checked=len(reported), mutations_checked=pending)
