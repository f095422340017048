"""Devices that worked offline converge, whatever order they sync in.

Three devices: grid1's phone (A), grid1's tablet (A2) and office1's laptop
(B). After a shared start they work offline on overlapping and distinct
fields of a site, an inspection (answers) and a case, record photos and case
events, then sync in different orders — one of them through a flaky network
that refuses requests, loses responses after the server committed, and
answers 503. In the end every device holds exactly the server's state for
every shared record, every mutation is on the server exactly once, and each
concurrent edit is a conflict record holding both values.
"""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec
import pytest

from field_app.core import Device
from .support import FaultTransport, LiveServer, small_jpeg

SHARED = ("site", "inspection", "case", "case_event", "photo")


def norm(data: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if data is None else {k: v for k, v in data.items() if k != "deleted"}


def settle(devices: list[Device], rounds: int = 2) -> None:
    for _ in range(rounds):
        for dev in devices:
            report = dev.sync()
            assert report.ok, report


@pytest.mark.parametrize("order", ["A,B,A2", "B,A2,A", "interleaved-faults"])
def test_devices_converge(order: str, server: LiveServer, make_device) -> None:
    t = server.town
    faulty = order == "interleaved-faults"
    transports = {n: FaultTransport(seed=i) for i, n in enumerate(("A", "A2", "B"))}
    kw = {n: {"transport": transports[n], "batch_size": 3, "max_attempts": 8} for n in transports}
    a = make_device("A", server, "grid1", **kw["A"])
    a2 = make_device("A2", server, "grid1", **kw["A2"])
    b = make_device("B", server, "office1", **kw["B"])
    devices = {"A": a, "A2": a2, "B": b}

    # A shared start: an inspection and a case everybody has pulled.
    insp = a.start_inspection(t.site1)
    a.answer(insp, "C02", "yes")
    case = a.open_case(site_id=t.site1, title="拖欠三个月工资", employer="某劳务公司",
                       sector="construction", workers_owed=3, amount_owed=20000)
    settle([a, a2, b], rounds=1)
    assert b.get("inspection", insp)["answers"]["C02"] == {"answer": "yes"}
    assert a2.get("case", case)["status"] == "registered"

    # Offline work: overlapping fields (contractor, answers.C01, amount_owed)
    # and distinct ones on every device.
    a.update_site(t.site1, contractor="甲建筑公司", contact_phone="13800000001")
    a.answer(insp, "C01", "no", note="未见施工许可证")
    a.answer(insp, "C05", "yes")
    a.attach_photo(insp, small_jpeg(1), caption="大门", item_code="C01")
    a.update_case(case, amount_owed=30000)
    a.add_case_event(case, "note", note="已约谈劳务负责人")

    a2.answer(insp, "C01", "na")
    a2.answer(insp, "C06", "yes", value=None, note="按月拨付")
    a2.attach_photo(insp, small_jpeg(2), caption="考勤表", item_code="C12")

    b.update_site(t.site1, contractor="乙建设集团", address="回龙北街21号")
    b.update_case(case, amount_owed=45000, employer="某劳务有限公司")
    b.add_case_event(case, "accept")
    new_site = b.create_site(name="一村新建厂房", kind="construction", village_id=t.v1,
                             department_id=t.d1)
    b_case = b.open_case(site_id=t.site3, title="物流园欠薪", sector="non_construction",
                         workers_owed=12, amount_owed=150000)
    b.attach_photo(b_case, small_jpeg(3), caption="投诉材料")

    if not faulty:
        for name in order.split(","):
            report = devices[name].sync()
            assert report.ok, report
    else:
        for tr in transports.values():
            tr.fail_rate = 0.35
        transports["A"].plan = ["ok", "drop"]  # A's first push commits, its answer is lost
        # Interleaved, flaky: some syncs fail half-way, edits continue in between.
        duplicates = 0
        for step, name in enumerate(["A", "B", "A2", "B", "A", "A2", "A", "B"]):
            duplicates += devices[name].sync().duplicates
            if step == 1:
                a.answer(insp, "C07", "exempt", note="豁免")
            if step == 3:
                b.update_site(new_site, contact_name="王工")
        faults = [x for tr in transports.values() for x in tr.log
                  if x[2] in ("refused", "dropped", "503")]
        assert faults, "the flaky network injected no faults"
        lost = [x for x in faults if x[2] == "dropped" and x[1].endswith("/push")]
        assert lost, "no push response was lost"
        assert duplicates >= 1  # the server had committed: the retry was a duplicate
        for tr in transports.values():
            tr.fail_rate = 0.0
    settle([a, a2, b])

    # Nothing left anywhere, nothing refused.
    for dev in devices.values():
        s = dev.status()
        assert (s.pending_mutations, s.pending_photos, s.quarantined) == (0, 0, 0), s
        assert dev.check() == []

    # Exactly once: the server's ledger holds each device's mutations once.
    for dev in devices.values():
        created = int(dev.store.conn.execute(
            "SELECT value FROM state WHERE key='next_seq'").fetchone()[0])
        stats = server.store.device_stats(dev.device_id)
        assert stats.mutations_received == created
        assert stats.last_seq == created
        assert stats.mutations_rejected == 0

    # Identical state, equal to the server's (a fresh pull per user).
    truth = {"grid1": server.pull_all("grid1"), "office1": server.pull_all("office1")}
    shared = [key for key in truth["grid1"] if key[0] in SHARED and key in truth["office1"]]
    assert len(shared) >= 8
    for key in shared:
        assert norm(truth["grid1"][key]) == norm(truth["office1"][key]), key
        for name, dev, user in (("A", a, "grid1"), ("A2", a2, "grid1"), ("B", b, "office1")):
            assert norm(dev.get(*key)) == norm(truth[user][key]), (name, key)
    for key in truth["office1"]:
        if key[0] in SHARED:
            assert norm(b.get(*key)) == norm(truth["office1"][key]), key

    # Values that nobody contested arrived from every device.
    site = server.record("site", t.site1)
    assert site["contact_phone"] == "13800000001" and site["address"] == "回龙北街21号"
    answers = server.record("inspection", insp)["answers"]
    assert answers["C05"] == {"answer": "yes"}
    assert answers["C06"] == {"answer": "yes", "note": "按月拨付"}
    assert server.record("case", case)["employer"] == "某劳务有限公司"
    assert server.record("case", case)["status"] == "accepted"
    events = [e for e in server.store.records("case_event") if e.data["case_id"] == case]
    assert sorted(e.data["kind"] for e in events) == ["accept", "note"]
    assert server.record("site", new_site)["name"] == "一村新建厂房"
    for photo in server.store.records("photo"):
        sha = photo.data["sha256"]
        assert server.store.has_blob(sha)
        blob = server.app.state.blobs.path(sha).read_bytes()
        assert hashlib.sha256(blob).hexdigest() == sha

    # Every concurrent edit is a conflict record with both values; the stored
    # value is the one with the newer HLC.
    conflicts = {(c.entity, c.entity_id, c.field): c for c in server.store.list_conflicts()}
    expected = {
        ("site", t.site1, "contractor"): {"甲建筑公司", "乙建设集团"},
        ("inspection", insp, "answers.C01"): {
            '{"answer":"no","note":"未见施工许可证"}', '{"answer":"na"}'},
        ("case", case, "amount_owed"): {30000.0, 45000.0},
    }
    assert set(conflicts) == set(expected)

    for key, values in expected.items():
        c = conflicts[key]
        got = {c.winner_value, c.loser_value} if key[2] != "answers.C01" else {
            msgspec.json.encode(c.winner_value).decode(),
            msgspec.json.encode(c.loser_value).decode()}
        assert got == values, (key, c)
        assert c.winner_hlc > c.loser_hlc
        entity, id, field = key
        record = server.record(entity, id)
        current = record["answers"]["C01"] if field == "answers.C01" else record[field]
        assert current == c.winner_value
