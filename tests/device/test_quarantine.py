"""Permanent failures go to the quarantine with their code and never block
the rest; a person fixes-and-retries or discards (with confirmation). A 410
leads to a full resync that keeps the outbox."""

from __future__ import annotations

import pytest

from field_app.cli import main
from field_app.core import DeviceError
from sync_server.domain.auth.service import set_scope

from .support import LiveServer


def test_out_of_scope_edit_is_quarantined_and_the_rest_syncs(server: LiveServer,
                                                             make_device) -> None:
    t = server.town
    dev = make_device("A", server, "grid1", batch_size=2)
    assert t.v2 in {v["id"] for v in dev.villages()}  # reference data: every village
    stray = dev.create_site(name="二社区新工地", kind="construction", village_id=t.v2)
    dev.update_site(t.site1, contact_name="孙八")
    insp = dev.start_inspection(t.site3)
    dev.answer(insp, "E01", "yes")
    report = dev.sync()
    assert (report.pushed, report.rejected) == (3, 1), report
    assert report.ok  # a rejection is not a sync failure: it waits in the quarantine

    [item] = dev.quarantine()
    assert item.code == "out_of_scope" and item.kind == "mutation"
    assert (item.entity, item.entity_id, item.op) == ("site", stray, "upsert")
    assert item.fields["village_id"] == t.v2 and item.message
    assert dev.status().quarantined == 1
    assert dev.get("site", stray)["name"] == "二社区新工地"  # still shown: nothing typed is lost
    assert server.record("site", stray) is None
    assert server.record("site", t.site1)["contact_name"] == "孙八"
    assert server.record("inspection", insp)["answers"] == {"E01": {"answer": "yes"}}

    # Fix-and-retry: a new mutation with the corrected field.
    new_id = dev.retry_quarantined(item.id, village_id=t.v1)
    assert new_id != item.id
    assert dev.quarantine() == [] and dev.status().pending_mutations == 1
    report = dev.sync()
    assert report.ok and (report.pushed, report.rejected) == (1, 0), report
    assert server.record("site", stray)["village_id"] == t.v1
    assert server.record("site", stray)["name"] == "二社区新工地"
    assert dev.check() == []


def test_discard_needs_confirmation(server: LiveServer, make_device, capsys) -> None:
    t = server.town
    dev = make_device("A", server, "grid1")
    stray = dev.create_site(name="越界", kind="factory", village_id=t.v2)
    dev.sync()
    [item] = dev.quarantine()
    with pytest.raises(DeviceError) as exc:
        dev.discard_quarantined(item.id)
    assert exc.value.code == "confirmation_required"
    assert main(["--data-dir", str(dev.data_dir), "quarantine", "discard", item.id]) == 1
    assert "--yes" in capsys.readouterr().err
    assert len(dev.quarantine()) == 1
    dev.discard_quarantined(item.id[:8], confirm=True)  # a unique prefix will do
    assert dev.quarantine() == [] and dev.get("site", stray) is None
    assert dev.status().quarantined == 0 and dev.check() == []
    with pytest.raises(DeviceError) as exc:
        dev.retry_quarantined(item.id)
    assert exc.value.code == "not_in_quarantine"


def test_a_rule_breaking_mutation_does_not_block_the_batch(make_server, make_device) -> None:
    """A mutation too large for the server (413 for the whole push) is split
    out and quarantined; the others of its batch apply."""
    # The longest address the field table allows (500 characters, 1,500
    # bytes) is over this server's push limit on its own.
    server = make_server(max_push_bytes=1_500)
    t = server.town
    dev = make_device("A", server, "grid1", batch_size=10)
    dev.update_site(t.site1, contact_name="周九")
    dev.update_site(t.site3, address="很长的地址" * 100)
    dev.update_site(t.site1, contact_phone="13700000000")
    report = dev.sync()
    assert (report.pushed, report.rejected) == (2, 1), report
    [item] = dev.quarantine()
    assert item.code == "too_large" and item.entity_id == t.site3
    assert server.record("site", t.site1)["contact_phone"] == "13700000000"
    dev.retry_quarantined(item.id, address="回龙坝镇物流大道1号")
    assert dev.sync().ok and dev.quarantine() == []
    assert server.record("site", t.site3)["address"] == "回龙坝镇物流大道1号"


def test_scope_change_resyncs_without_touching_the_outbox(server: LiveServer,
                                                          make_device) -> None:
    """410: pull from 0, drop what is no longer visible unless it has local
    edits waiting; the outbox is untouched. An edit to a site the officer saw
    before the change is refused as out_of_scope."""
    t = server.town
    dev = make_device("A", server, "grid1")
    set_scope(server.store, "grid1", village_ids=[t.v1, t.v2])
    report = dev.sync()
    assert report.resynced and report.ok
    assert {s["id"] for s in dev.sites()} == {t.site1, t.site3, t.site2}

    set_scope(server.store, "grid1", village_ids=[t.v1])
    dev.update_site(t.site2, contact_name="吴十")  # seen before the change, edited offline
    dev.update_site(t.site1, contact_name="郑十一")
    with dev.store.read() as tx:
        queued = tx.outbox_ids()
    report = dev.pull()
    assert report.resynced
    with dev.store.read() as tx:
        assert tx.outbox_ids() == queued
    # site2 is kept (it has an edit waiting); nothing else of village 2 is.
    assert {s["id"] for s in dev.sites()} == {t.site1, t.site3, t.site2}
    assert dev.get("site", t.site2)["contact_name"] == "吴十"

    report = dev.sync()
    assert (report.pushed, report.rejected) == (1, 1), report
    [item] = dev.quarantine()
    assert item.code == "out_of_scope" and item.entity_id == t.site2
    assert server.record("site", t.site1)["contact_name"] == "郑十一"
    dev.discard_quarantined(item.id, confirm=True)
    assert dev.get("site", t.site2) is None  # not visible any more: gone with the edit
    assert {s["id"] for s in dev.sites()} == {t.site1, t.site3}
    assert dev.check() == []
