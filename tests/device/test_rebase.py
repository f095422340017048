"""Pull rebase: a pending local edit survives a pull that brings a newer
server value; it is pushed afterwards with the base the user saw, so the
server keeps both values in a conflict record."""

from __future__ import annotations

import time

import pytest

from field_app.core import Device

from .support import LiveServer


def outbox_bases(dev: Device) -> list[dict[str, int]]:
    with dev.store.read() as tx:
        return [dict(e.mutation.base) for e in tx.outbox()]


def field_rev(dev: Device, entity: str, id: str, key: str) -> int:
    with dev.store.read() as tx:
        return (tx.row(entity, id).field_revs or {}).get(key, 0)


@pytest.mark.parametrize("newer", ["device", "server"])
def test_pending_edit_survives_pull_and_conflicts(newer: str, server: LiveServer,
                                                  make_device) -> None:
    t = server.town
    a = make_device("A", server, "grid1")
    b = make_device("B", server, "office1")
    seen = field_rev(a, "site", t.site1, "contractor")
    assert seen > 0

    if newer == "server":
        a.update_site(t.site1, contractor="甲")  # typed first: older HLC
        time.sleep(0.003)
    b.update_site(t.site1, contractor="乙")
    assert b.sync().pushed == 1
    server_rev = server.store.get_record("site", t.site1).meta["contractor"].rev
    assert server_rev > seen
    if newer == "device":
        time.sleep(0.003)
        a.update_site(t.site1, contractor="甲")  # typed later, offline: newer HLC

    report = a.pull()
    assert report.pulled >= 1 and report.pushed == 0
    # The local value stays on top; the revision moved forward for new edits;
    # the pending mutation keeps the base the user saw.
    assert a.get("site", t.site1)["contractor"] == "甲"
    assert field_rev(a, "site", t.site1, "contractor") == server_rev
    assert outbox_bases(a) == [{"contractor": seen}]
    with a.store.read() as tx:
        assert tx.row("site", t.site1).server["contractor"] == "乙"
    assert a.status().pending_mutations == 1

    report = a.sync()
    assert (report.pushed, report.merged, report.conflicts) == (1, 1, 1), report
    [conflict] = server.store.list_conflicts()
    assert (conflict.entity, conflict.entity_id, conflict.field) == ("site", t.site1,
                                                                     "contractor")
    assert conflict.base_rev == seen
    assert {conflict.winner_value, conflict.loser_value} == {"甲", "乙"}
    winner = "甲" if newer == "device" else "乙"
    assert conflict.winner_value == winner
    assert conflict.winner_device == (a.device_id if newer == "device" else b.device_id)
    assert server.record("site", t.site1)["contractor"] == winner
    assert a.get("site", t.site1)["contractor"] == winner
    assert b.sync().ok
    assert b.get("site", t.site1)["contractor"] == winner


def test_new_edit_after_pull_bases_on_the_new_revision(server: LiveServer,
                                                       make_device) -> None:
    t = server.town
    a = make_device("A", server, "grid1")
    b = make_device("B", server, "office1")
    seen = field_rev(a, "site", t.site1, "contractor")
    a.update_site(t.site1, contractor="甲")
    b.update_site(t.site1, contractor="乙", builder="区城投")
    assert b.sync().ok
    a.pull()
    newer = field_rev(a, "site", t.site1, "contractor")
    assert a.get("site", t.site1)["builder"] == "区城投"  # no pending edit: server value
    a.update_site(t.site1, contractor="甲2")
    assert outbox_bases(a) == [{"contractor": seen}, {"contractor": newer}]
    report = a.sync()
    assert report.ok and report.conflicts == 1
    # The later edit is clean (it saw 乙); the device's newest value stands.
    assert server.record("site", t.site1)["contractor"] == "甲2"
    assert len(server.store.list_conflicts()) == 1


def test_answers_rebase_per_item(server: LiveServer, make_device) -> None:
    """Inspection answers merge per item: a pull that changes one item does
    not disturb a pending answer to another, nor one to the same item."""
    t = server.town
    a = make_device("A", server, "grid1")
    a2 = make_device("A2", server, "grid1")
    insp = a.start_inspection(t.site1)
    a.answer(insp, "C01", "yes")
    assert a.sync().ok and a2.sync().ok
    a.answer(insp, "C02", "no")
    a.answer(insp, "C01", "no")
    a2.answer(insp, "C01", "na")
    a2.answer(insp, "C03", "yes")
    assert a2.sync().ok
    a.pull()
    answers = a.get("inspection", insp)["answers"]
    assert answers == {"C01": {"answer": "no"}, "C02": {"answer": "no"},
                       "C03": {"answer": "yes"}}
    assert a.sync().conflicts == 1
    assert a2.sync().ok
    final = server.record("inspection", insp)["answers"]
    assert a.get("inspection", insp)["answers"] == final == a2.get("inspection", insp)["answers"]
    [c] = server.store.list_conflicts()
    assert c.field == "answers.C01"
    assert {c.winner_value["answer"], c.loser_value["answer"]} == {"no", "na"}


def test_hlc_moves_past_received_and_never_back(server: LiveServer, make_device,
                                                tmp_path) -> None:
    t = server.town
    ahead = 120_000  # B's clock runs 2 minutes fast (inside the server's skew bound)
    b = make_device("B", server, "office1", now_ms=lambda: int(time.time() * 1000) + ahead)
    a = make_device("A", server, "grid1")
    b.update_site(t.site1, contact_name="李四")
    assert b.sync().ok
    b_hlc = server.store.get_record("site", t.site1).meta["contact_name"].hlc
    a.pull()
    assert a.status().hlc > b_hlc
    a.update_site(t.site1, contact_phone="13900000000")
    with a.store.read() as tx:
        [entry] = tx.outbox()
    assert entry.mutation.hlc > b_hlc
    last = a.status().hlc
    a.close()
    # Reopened with a clock set an hour back: the HLC still goes forward.
    from .support import fast_settings

    back = Device.open(a.data_dir, fast_settings(
        now_ms=lambda: int(time.time() * 1000) - 3_600_000))
    try:
        back.update_site(t.site1, contact_phone="13900000001")
        with back.store.read() as tx:
            assert tx.outbox()[-1].mutation.hlc > last
    finally:
        back.close()
