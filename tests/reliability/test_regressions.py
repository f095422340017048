"""Deterministic replays of what the randomised proofs found, so each stays
fixed (docs/reliability.md, "Failures found and fixed")."""

from __future__ import annotations

from device.support import LiveServer, fast_settings
from field_app.core import Device

from .test_convergence import KillAt, Killed


def test_a_replayed_push_does_not_resurrect_a_value_that_lost(server: LiveServer,
                                                               make_device) -> None:
    """Found by the convergence soak: A's edit is committed but A dies before
    storing the answer; B then edits the same field later and wins; A's next
    sync pulls B's value and replays its push, which the server answers
    ``duplicate``. A used to write its own old value over the pulled one and,
    its cursor being past both revisions, showed it for ever."""
    t = server.town
    a = make_device("A", server, "grid1")
    b = make_device("B", server, "sector1")
    a.update_site(t.site1, contact_phone="丁")
    try:
        with KillAt("remove_outbox"):
            a.sync()
    except Killed:
        pass
    data_dir = a.data_dir
    a.close()
    a = Device.open(data_dir, fast_settings())
    assert a.status().pending_mutations == 1  # the answer was lost with the process

    b.update_site(t.site1, contact_phone="33")  # later than A's edit: it wins
    report = b.sync()
    assert report.ok and report.conflicts == 1, report
    assert server.record("site", t.site1)["contact_phone"] == "33"

    report = a.sync()
    assert report.ok and report.duplicates == 1, report
    for _ in range(2):
        assert a.sync().ok
    try:
        assert a.get("site", t.site1)["contact_phone"] == "33"
        assert a.check() == []
    finally:
        a.close()


def test_control_characters_typed_on_a_device_do_not_break_the_monthly_workbook(world) -> None:
    """Found by the schemathesis soak: a case title with a control character
    (pushed by any field device) made GET /reports/monthly.xlsx answer 500 for
    everyone, every month (openpyxl refuses such characters)."""
    from shared_schema.ids import uuid7

    dev = world.device("grid1", "ctrl-chars")
    res = dev.sync(dev.upsert("case", uuid7(), {
        "site_id": world.site1, "sector": "construction", "title": "坏\x01标题",
        "employer": "某\x0b公司", "workers_owed": 2, "amount_owed": 3000}))[0]
    assert res["status"] == "applied", res
    office = world.login("office1", "office-ctrl")
    for path in ("/api/v1/reports/monthly.xlsx", "/api/v1/reports/summary"):
        r = world.http.get(path, headers=office)
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
