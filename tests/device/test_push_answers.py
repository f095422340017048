"""Push answers applied set based (``Outbox.acknowledge_all``) and the
pipelined push: the same local state as acknowledging one mutation at a time,
batches sent one after another in seq order, nothing acknowledged before its
answer is applied."""

from __future__ import annotations

import itertools
import shutil
import threading
import time
from pathlib import Path

import httpx
import msgspec

from field_app.core import Device
from field_app.core.outbox import Outbox
from field_app.core.store import RecordRow, Tx
from field_app.core.sync import PUSH
from field_app import core
from shared_schema import wire
from shared_schema.paths import flat_keys
from shared_schema.wire import ConflictRef, Mutation, MutationResult, Upsert

from .support import FaultTransport, LiveServer, fast_settings


def _decoded(request: httpx.Request) -> bytes:
    """A push body as JSON, whichever coding the device sent it in."""
    body = request.read()
    coding = request.headers.get("content-encoding")
    if coding == "gzip":
        import gzip

        return gzip.decompress(body)
    if coding == "zstd":
        import zstandard

        return zstandard.ZstdDecompressor().decompressobj().decompress(body)
    return body


_rebase = core.rebase


def _acknowledge_one(outbox: Outbox, tx: Tx, m: Mutation, result: MutationResult) -> None:
    """The device's acknowledgement before it was set based, statement by
    statement: the oracle ``acknowledge_all`` must agree with."""
    conflicted = {c.field for c in result.conflicts}
    row = tx.row(m.entity, m.entity_id) or RecordRow(entity=m.entity, id=m.entity_id, data={})
    if result.status == "duplicate" and isinstance(m, Upsert):
        revs = row.field_revs or {}
        conflicted |= {k for k in flat_keys(m.entity, m.fields)
                       if revs.get(k, 0) != m.base.get(k, 0)}
    row.server = _rebase.acknowledge(m.entity, row.server, m, conflicted)
    row.seen_gen = int(tx.get("gen", 0))
    tx.remove_outbox(m.id)
    tx.put_row(row)
    tx.refresh(m.entity, m.entity_id)
    tx.incr("acked_count")
    tx.set("last_answered_seq", max(int(tx.get("last_answered_seq", 0)), m.seq))
    outbox.clock.receive(tx, result.hlc)


def _state(dev: Device) -> dict[str, object]:
    with dev.store.read() as tx:
        rows = {(r.entity, r.id): (r.data, r.server, r.field_revs, r.server_rev, r.seen_gen,
                                   r.deleted) for r in tx.all_rows()}
        cols = tx.q("SELECT entity, id, server_is_data, site_id, owner_id, case_id "
                    "FROM records ORDER BY 1, 2").fetchall()
        return {"rows": rows, "cols": cols, "outbox": tx.outbox_ids(),
                "quarantine": [(q.id, q.state) for q in tx.quarantine(None)],
                "acked": tx.get("acked_count"), "last": tx.get("last_answered_seq"),
                "hlc": tx.get("hlc")}


def test_acknowledge_all_equals_one_at_a_time(server: LiveServer, make_device,
                                              tmp_path: Path) -> None:
    t = server.town
    a = make_device("A", server, "grid1")
    a.update_site(t.site1, contractor="甲")
    a.update_site(t.site1, contractor="甲2", builder="建设方")
    insp = a.start_inspection(t.site1)
    for code, answer in (("C01", "yes"), ("C02", "no"), ("C01", "no")):
        a.answer(insp, code, answer)
    case = a.open_case(site_id=t.site1, title="欠薪", sector="construction", workers_owed=2)
    a.add_case_event(case, "accept")
    a.update_site(t.site3, contact_name="王五")
    new_site = a.create_site(name="新工地", kind="other", village_id=t.v1)
    with a.store.write() as tx:  # a pull moved contact_name's revision since the edit
        row = tx.row("site", t.site3)
        assert row is not None
        row.field_revs = {**(row.field_revs or {}), "contact_name": 999}
        tx.put_row(row)
    with a.store.read() as tx:
        entries = tx.outbox()
    assert len(entries) == 10
    ms = [e.mutation for e in entries]
    answers = [
        MutationResult(id=ms[0].id, status="applied"),
        MutationResult(id=ms[1].id, status="merged",
                       conflicts=[ConflictRef(field="contractor", conflict_id="c1")],
                       hlc="2100000000000.0000.server"),
        MutationResult(id=ms[2].id, status="applied"),
        MutationResult(id=ms[3].id, status="applied"),
        MutationResult(id=ms[4].id, status="duplicate"),
        # ms[5] (the second C01 answer) gets no answer: it stays on top.
        MutationResult(id=ms[6].id, status="applied"),
        MutationResult(id=ms[7].id, status="applied"),
        MutationResult(id=ms[8].id, status="duplicate"),  # contact_name: base moved on
        MutationResult(id=ms[9].id, status="applied"),
    ]
    a.close()
    shutil.copytree(tmp_path / "devices" / "A", tmp_path / "devices" / "B")
    one = Device.open(tmp_path / "devices" / "A", fast_settings())
    many = Device.open(tmp_path / "devices" / "B", fast_settings())
    try:
        with one.store.write() as tx:
            for res in answers:
                m = next(x for x in ms if x.id == res.id)
                _acknowledge_one(one.outbox, tx, m, res)
        with many.store.write() as tx:
            pairs = [(next(x for x in ms if x.id == r.id), r) for r in answers]
            assert many.outbox.acknowledge_all(tx, pairs[::-1]) == 9  # any order in
            assert many.outbox.acknowledge_all(tx, pairs) == 0  # answered already
        assert _state(many) == _state(one)
        got = many.get("site", t.site1)
        assert got is not None and got["builder"] == "建设方"
        with many.store.read() as tx:
            site1 = tx.row("site", t.site1)
            site3 = tx.row("site", t.site3)
            fresh = tx.row("site", new_site)
        assert site1 is not None and site3 is not None and fresh is not None
        assert site1.server is not None and site1.server["contractor"] != "甲2"  # in conflict
        assert site3.server is not None and site3.server.get("contact_name") != "王五"
        assert fresh.server is not None and fresh.server["name"] == "新工地"
        assert many.get("inspection", insp)["answers"]["C01"] == {"answer": "no"}  # waiting
        assert many.get("case", case)["status"] == "accepted"
        assert many.outbox.clock.last > "2100000000000.0000.server"
        assert many.check() == [] and one.check() == []
    finally:
        one.close()
        many.close()


class _Watch(FaultTransport):
    """Records when each push starts and ends, and which seqs it carried."""

    def __init__(self) -> None:
        super().__init__()
        self.spans: list[tuple[float, float, list[int]]] = []
        self.inflight = 0
        self.overlap = False
        self.lock = threading.Lock()
        self.fail_push_number: int | None = None
        self.pushes = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path != PUSH:
            return super().handle_request(request)
        body = _decoded(request)
        seqs = [m.seq for m in msgspec.json.decode(body, type=wire.PushRequest).mutations]
        with self.lock:
            self.pushes += 1
            number = self.pushes
            self.inflight += 1
            self.overlap |= self.inflight > 1
        start = time.perf_counter()
        try:
            if number == self.fail_push_number:
                raise httpx.ConnectError("test: no signal", request=request)
            time.sleep(0.02)  # long enough for the next batch to be ready
            return super().handle_request(request)
        finally:
            with self.lock:
                self.inflight -= 1
            self.spans.append((start, time.perf_counter(), seqs))


def test_pipelined_push_sends_batches_one_at_a_time_in_seq_order(
        server: LiveServer, make_device) -> None:
    net = _Watch()
    dev = make_device("A", server, "grid1", transport=net, batch_size=3)
    insp = dev.start_inspection(server.town.site1)
    for code in ("C01", "C02", "C03", "C05", "C06", "C11", "C12", "C13", "C14", "C15"):
        dev.answer(insp, code, "yes")
    with dev.store.read() as tx:
        seqs = [e.seq for e in tx.outbox()]
    report = dev.sync()
    assert report.ok and report.pushed == 11 and report.duplicates == 0, report
    assert not net.overlap
    sent = [s for _, _, batch in net.spans for s in batch]
    assert sent == seqs  # each mutation once, in seq order
    assert [len(b) for _, _, b in net.spans] == [3, 3, 3, 2]
    assert all(e1 <= s2 for (_, e1, _), (s2, _, _) in itertools.pairwise(net.spans))
    assert dev.status().pending_mutations == 0 and dev.check() == []
    assert server.store.device_stats(dev.device_id).mutations_received == 11


def test_a_failed_batch_keeps_itself_and_the_rest_but_not_the_answered(
        server: LiveServer, make_device) -> None:
    """Batch 2's answer is applied while batch 3 is in flight; batch 3 fails
    for good: batches 1-2 are acknowledged, 3 and 4 stay queued with the
    attempt noted on 3, and the next sync sends them (no duplicates)."""
    net = _Watch()
    dev = make_device("A", server, "grid1", transport=net, batch_size=2, max_attempts=1)
    insp = dev.start_inspection(server.town.site1)
    for code in ("C01", "C02", "C03", "C05", "C06", "C11", "C12"):
        dev.answer(insp, code, "no")
    with dev.store.read() as tx:
        seqs = [e.seq for e in tx.outbox()]
    net.fail_push_number = 3
    report = dev.sync()
    assert not report.ok and report.pushed == 4, report
    with dev.store.read() as tx:
        left = tx.outbox()
    assert [e.seq for e in left] == seqs[4:]
    assert [e.attempts for e in left] == [1, 1, 0, 0]
    assert dev.check() == []
    net.fail_push_number = None
    again = dev.sync()
    assert again.ok and again.pushed == 4 and again.duplicates == 0, again
    assert server.store.device_stats(dev.device_id).mutations_received == 8


def test_push_body_is_the_push_request(server: LiveServer, make_device) -> None:
    """The body joined from the stored mutations decodes as the PushRequest
    the device would have encoded, gzipped or not."""
    captured: list[bytes] = []

    class Capture(FaultTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.path == PUSH:
                captured.append(_decoded(request))
            return super().handle_request(request)

    dev = make_device("A", server, "grid1", transport=Capture())
    dev.update_site(server.town.site1, contact_name="陈", address="长江路1号")
    insp = dev.start_inspection(server.town.site1)
    dev.answer(insp, "C01", "yes", note="见" * 600)  # over GZIP_MIN_BYTES: compressed
    with dev.store.read() as tx:
        expected = [e.mutation for e in tx.outbox()]
    assert dev.sync().ok
    [body] = captured
    req = msgspec.json.decode(body, type=wire.PushRequest)
    assert req.mutations == expected
    assert req.device_id == dev.device_id and req.protocol == wire.PROTOCOL_VERSION
    assert req.client_time_ms > 0
