"""Network faults through a loopback TCP proxy (tests/reliability/proxy.py):
connections cut after N bytes either way, stalls past the read timeout, and
slow lines. Sync and photo uploads complete eventually; uploads resume from
the server's offset (offsets that are not chunk boundaries prove it) and
every blob the server holds matches its sha256."""

from __future__ import annotations

import hashlib
import random

from device.support import LiveServer, camera_jpeg

from .conftest import size
from .proxy import Fault, FaultProxy

CHUNK = 64 * 1024


def test_sync_and_uploads_complete_through_a_faulty_line(server: LiveServer, make_device,
                                                         figures) -> None:
    t = server.town
    port = int(server.url.rsplit(":", 1)[1])
    n_edits, n_photos = size(300, 2000), size(4, 20)
    with FaultProxy(port, seed=7, fault_rate=0.5) as proxy:
        proxy.plan = [Fault()] * 3  # the login and the first sync get through
        dev = make_device("A", server, "grid1", url=proxy.url, batch_size=50,
                          upload_chunk_bytes=CHUNK, read_timeout_s=1.0, connect_timeout_s=2.0,
                          max_attempts=3)
        insp = dev.start_inspection(t.site1)
        rounds, per_round = size(3, 12), n_edits // size(3, 12)
        syncs = photo_n = 0
        shas: set[str] = set()
        for rnd in range(rounds):
            for i in range(rnd * per_round, (rnd + 1) * per_round):
                dev.update_site(t.site1 if i % 2 else t.site3, contact_phone=f"136{i:08d}")
            for _ in range(max(1, n_photos // rounds)):
                rng = random.Random(photo_n)
                photo_n += 1
                photo = camera_jpeg(1600, 1200, orientation=1, seed=rng.randint(0, 10**6),
                                    gps=False)
                dev.attach_photo(insp, photo, item_code="C12", caption=f"p{photo_n}")
            # each round: one upload cut mid-PATCH, then random faults on new connections
            # and every kind of fault at least once: a stall past the read timeout
            # and a response cut short
            proxy.plan = [Fault("cut_up", after=CHUNK * 2 + 12_345 + rnd),
                          Fault("stall", after=rnd * 100, seconds=1.5),
                          Fault("cut_down", after=300 + rnd)]
            for _ in range(size(60, 200)):
                syncs += 1
                report = dev.sync()
                st = dev.status()
                if report.ok and st.pending_mutations == 0 and st.pending_photos == 0:
                    break
            else:
                raise AssertionError(f"not done after {syncs} syncs: {dev.status()}")
        n_edits = rounds * per_round
        shas = {p["sha256"] for p in dev.photos(insp)}
        total_bytes = sum(dev.photo_path(s).stat().st_size for s in shas)
        stats = proxy.stats
        assert sum(stats.faults.values()) >= 3 * rounds
        assert {"cut_up", "cut_down", "stall"} <= set(stats.faults)
        proxy.fault_rate = 0.0
        receipt = dev.receipt()

    assert receipt.safe_to_wipe, receipt
    assert set(receipt.server.photos_verified) >= shas
    for sha in shas:
        blob = server.app.state.blobs.path(sha).read_bytes()
        assert hashlib.sha256(blob).hexdigest() == sha
        assert blob == dev.photo_path(sha).read_bytes()
    # Resumed from the server's offset, not from zero: after a cut PATCH, the
    # next PATCH of that upload starts at the offset the server reports. That
    # shows either as an offset off the chunk grid (the server kept the bytes
    # that arrived before the cut) or as a non-zero offset sent twice (uvicorn
    # dropped the unread part of the cut body, so the server kept its offset).
    offsets = stats.patch_offsets
    resumed = [o for o in offsets if o % CHUNK] + [
        o for i, o in enumerate(offsets) if o > 0 and o in offsets[:i]]
    assert resumed, offsets
    assert dev.get("site", t.site1)["contact_phone"] == server.record("site", t.site1)[
        "contact_phone"] == f"136{(n_edits - 1 if (n_edits - 1) % 2 else n_edits - 2):08d}"
    assert dev.check() == []
    figures.record("network faults (TCP proxy)", runs=1, syncs=syncs,
                   connections=stats.connections, faults=sum(stats.faults.values()),
                   **{f"faults_{k}": v for k, v in stats.faults.items()},
                   mutations_checked=n_edits + 1 + photo_n, photos=photo_n,
                   photo_bytes=total_bytes, resumes_from_server_offset=len(resumed))
