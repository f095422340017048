"""A collective incident reported on a phone with no signal, then synced to
the real server: the report, its photo, the township case it opened, and
what the office sees."""

from __future__ import annotations

import httpx
import pytest

from field_app.core import InvalidInput
from field_app.core.incidents import report_incident
from shared_schema.incidents import ALERTS_HEADER, derived_id

from .support import PASSWORD, FaultTransport, LiveServer, small_jpeg


def test_an_incident_recorded_offline_reaches_the_office_when_synced(
        server: LiveServer, make_device) -> None:
    t = server.town
    net = FaultTransport()
    dev = make_device("A", server, "grid1", transport=net)
    net.offline = True  # no signal at the scene
    now = dev.settings.now_ms()
    incident_id = report_incident(
        dev, kind="collective_claim", site_id=t.site1, headcount=14, occurred_at=now - 60_000,
        on_scene="村主任到场，劝导工人有序反映诉求", brought_in=["ping_an_ban", "police"])
    dev.attach_photo(incident_id, small_jpeg(7), caption="现场")
    # kept on the phone at once, in the site's village, with the photo queued
    local = dev.get("incident", incident_id)
    assert local is not None and local["village_id"] == t.v1 and local["headcount"] == 14
    assert dev.status().pending_mutations == 2
    offline = dev.sync()
    assert not offline.ok and dev.status().pending_mutations == 2
    assert server.record("incident", incident_id) is None

    net.offline = False
    report = dev.sync()
    assert report.ok, report
    case_id = derived_id(incident_id, "case")
    assert server.record("incident", incident_id)["case_id"] == case_id
    case = server.record("case", case_id)
    assert (case["level"], case["collective_incident"], case["workers_owed"]) == (
        "township", True, 14)
    [photo] = [p.data for p in server.store.records("photo")]
    assert photo["owner_entity"] == "incident" and photo["owner_id"] == incident_id
    assert server.store.has_blob(photo["sha256"])
    # the phone now holds the case the server opened, and the incident names it
    assert dev.get("case", case_id)["level"] == "township"
    assert dev.get("incident", incident_id)["case_id"] == case_id
    # the office's very next request carries the count
    with httpx.Client(base_url=server.url) as c:
        r = c.post("/api/v1/auth/login", json={
            "username": "office1", "password": PASSWORD, "device_id": "office-pc",
            "device_secret": "s" * 32})
        assert r.status_code == 200, r.text
        assert r.headers.get(ALERTS_HEADER) is None  # not signed in yet when it was asked
        alerts = c.get("/api/v1/office/alerts",
                       headers={"Authorization": "Bearer " + r.json()["token"]})
        assert alerts.headers[ALERTS_HEADER] == "1"
        assert alerts.json()["items"][0]["case_id"] == case_id


def test_a_bad_report_is_refused_on_the_phone_beside_its_field(server: LiveServer,
                                                                make_device) -> None:
    dev = make_device("A", server, "grid1")
    with pytest.raises(InvalidInput) as exc:
        report_incident(dev, kind="collective_claim", headcount=0, occurred_at=1,
                        on_scene="x")
    assert exc.value.code == "invalid_incident"
    assert exc.value.details["errors"] == {"place": "required", "headcount": "invalid_value"}
    assert dev.status().pending_mutations == 0


def test_the_report_form_keeps_what_was_typed_and_shows_the_stored_report(
        server: LiveServer, make_device) -> None:
    from field_app.ui.field.viewmodels.incident import form_for, incident_summary, submit

    t = server.town
    dev = make_device("A", server, "grid1")
    owner = type("App", (), {})()  # the app the forms hang on
    form = form_for(owner, t.site1)
    form.headcount, form.on_scene = "十几个", "到场劝导"
    incident_id, errors = submit(dev, form, t.site1)
    assert incident_id is None and errors == {"headcount": "err.not_a_number"}
    assert form_for(owner, t.site1).on_scene == "到场劝导"  # nothing typed is lost
    form.headcount, form.occurred = "12", "2099-01-01 08:00"
    assert submit(dev, form, t.site1)[1] == {"occurred_at": "incident.err.occurred_at.in_future"}
    form.occurred, form.brought_in = "", ["si_fa_suo"]
    incident_id, errors = submit(dev, form, t.site1)
    assert errors == {} and incident_id is not None
    before = incident_summary(dev, incident_id)
    assert before is not None and before.waiting and before.case_id is None
    assert (before.place, before.headcount, before.brought_in) == ("一村安置房工地", 12,
                                                                   ["si_fa_suo"])
    assert dev.sync().ok
    after = incident_summary(dev, incident_id)
    assert after is not None and not after.waiting
    assert after.case_id == derived_id(incident_id, "case")
    assert after.case_title == "群体性讨薪：一村安置房工地"
