"""Back-off, retry limits, batches, progress, clock offset, receipt."""

from __future__ import annotations

import itertools
import time

from field_app.core import DeviceSettings, SyncProgress

from .support import FaultTransport, LiveServer, small_jpeg


def test_backoff_is_exponential_with_jitter() -> None:
    draws = iter([1.0, 0.5, 0.0, 1.0, 1.0])
    s = DeviceSettings(random=lambda: next(draws), backoff_base_s=0.5, backoff_max_s=3.0)
    assert [s.backoff_s(n) for n in range(5)] == [0.5, 0.5, 0.0, 3.0, 3.0]


def test_retryable_failures_back_off_then_succeed(server: LiveServer, make_device) -> None:
    sleeps: list[float] = []
    net = FaultTransport()
    dev = make_device("A", server, "grid1", transport=net, sleep=sleeps.append,
                      random=lambda: 1.0, backoff_base_s=0.5, max_attempts=5)
    dev.update_site(server.town.site1, contact_name="陈")
    net.plan = ["ok", "503", "refuse", "drop"]  # pull ok; the push fails three ways
    report = dev.sync()
    assert report.ok and report.pushed == 1, report
    assert report.duplicates == 1  # the dropped answer had been committed
    assert sleeps == [0.5, 1.0, 2.0]
    assert server.store.device_stats(dev.device_id).mutations_received == 1


def test_retries_run_out_and_everything_stays(server: LiveServer, make_device) -> None:
    sleeps: list[float] = []
    net = FaultTransport()
    dev = make_device("A", server, "grid1", transport=net, sleep=sleeps.append, max_attempts=3)
    dev.update_site(server.town.site1, contact_name="褚")
    dev.attach_photo(dev.start_inspection(server.town.site1), small_jpeg(1))
    net.offline = True
    report = dev.sync()
    assert not report.ok and "after 3 attempts" in report.errors[0]
    assert len(sleeps) == 2
    s = dev.status()
    assert (s.pending_mutations, s.pending_photos, s.last_sync_ok) == (3, 1, False)
    with dev.store.read() as tx:
        assert all(e.attempts == 0 for e in tx.outbox())  # the pull failed first
    net.offline = False
    assert dev.sync().ok and dev.status().pending_mutations == 0


def test_batches_and_progress(server: LiveServer, make_device) -> None:
    net = FaultTransport()
    dev = make_device("A", server, "grid1", transport=net, batch_size=3, pull_limit=2)
    insp = dev.start_inspection(server.town.site1)
    for code in ("C01", "C02", "C03", "C05", "C06", "C09"):
        dev.answer(insp, code, "yes" if code != "C09" else 3)
    dev.attach_photo(insp, small_jpeg(1))
    dev.attach_photo(insp, small_jpeg(2))
    seen: list[SyncProgress] = []
    net.log.clear()
    report = dev.sync(progress=seen.append)
    assert report.ok and report.pushed == 9 and report.photos_uploaded == 2
    pushes = [x for x in net.log if x[1].endswith("/push")]
    assert len(pushes) == 3  # 9 mutations, 3 per batch
    pulls = [x for x in net.log if x[1].endswith("/pull")]
    assert len(pulls) >= 2  # paged
    phases = [p.phase for p in seen]
    assert {"pull", "push", "upload"} <= set(phases) and phases[-1] == "done"
    push = [p for p in seen if p.phase == "push"]
    assert [p.records_done for p in push] == [3, 6, 9] and push[-1].records_total == 9
    upload = [p for p in seen if p.phase == "upload"]
    assert upload[-1].bytes_done == upload[-1].bytes_total == report.bytes_uploaded > 0
    assert upload[-1].records_done == 2
    assert all(a.bytes_done <= b.bytes_done for a, b in itertools.pairwise(upload))


def test_clock_offset_and_receipt(make_server, make_device) -> None:
    ahead = 90_000
    server = make_server(now_ms=lambda: int(time.time() * 1000) + ahead)
    dev = make_device("A", server, "grid1")
    assert abs(dev.status().clock_offset_ms - ahead) < 30_000
    dev.update_site(server.town.site1, contact_name="卫")
    dev.attach_photo(dev.start_inspection(server.town.site1), small_jpeg(4))
    receipt = dev.receipt()
    assert not receipt.safe_to_wipe
    assert any("not yet sent" in p for p in receipt.problems)
    assert any("photo" in p for p in receipt.problems)
    assert dev.sync().ok
    receipt = dev.receipt()
    assert receipt.safe_to_wipe, receipt.problems
    assert receipt.server.mutations_received == receipt.local_acknowledged == 3
    assert receipt.server.last_seq == receipt.local_last_seq == 3
    assert receipt.server.photos_received == receipt.photos_uploaded == 1
