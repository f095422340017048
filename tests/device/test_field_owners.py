"""The field table on the phone (``shared_schema.fields``, issue #14): a
change the server would refuse for its fields is refused at once, before it
is queued, with the server's code; the server stays the judge of what the
phone cannot know (who recorded a case), and its refusal reaches the
quarantine with the value kept."""

from __future__ import annotations

import pytest

from field_app.core import Device, DeviceError, InvalidInput

from .support import LiveServer

PHONE = "13701231111"


def pending(dev: Device) -> int:
    return dev.status().pending_mutations


@pytest.mark.parametrize(("field", "value"), [
    ("six_systems", {"real_name": True}), ("headcount_on_site", 9),
    ("headcount_real_name", 9), ("headcount_contracts", 9),
    ("last_inspected_at", 1_764_000_000_000)])
def test_registry_facts_are_refused_on_the_phone(server: LiveServer, make_device,
                                                 field: str, value: object) -> None:
    t = server.town
    for name, user in (("A", "grid1"), ("B", "office1")):
        dev = make_device(name, server, user)
        with pytest.raises(DeviceError) as exc:
            dev.update_site(t.site1, **{field: value})
        assert exc.value.code == "field_not_writable"
        assert exc.value.details["field"] == field
        with pytest.raises(DeviceError) as exc:
            dev.create_site(name="新厂房", kind="factory", village_id=t.v1, **{field: value})
        assert exc.value.code == "field_not_writable"
        assert pending(dev) == 0


def test_unknown_app_and_server_fields_are_refused(server: LiveServer, make_device) -> None:
    t = server.town
    dev = make_device("A", server, "grid1")
    with pytest.raises(InvalidInput) as exc:
        dev.update_site(t.site1, contractr="新总包")
    assert exc.value.code == "unknown_field"
    assert exc.value.details["path"] == "$.fields.contractr"
    for field in ("deleted", "updated_at", "received_at", "id"):
        with pytest.raises(DeviceError) as exc:
            dev.update_site(t.site1, **{field: 1})
        assert exc.value.code == "field_not_writable", field
    assert pending(dev) == 0


def test_too_long_values_are_refused_with_the_limit(server: LiveServer, make_device) -> None:
    t = server.town
    dev = make_device("A", server, "grid1")
    with pytest.raises(InvalidInput) as exc:
        dev.update_site(t.site1, address="路" * 501)
    assert exc.value.code == "field_too_long"
    assert (exc.value.details["limit"], exc.value.details["unit"]) == (500, "chars")
    insp = dev.start_inspection(t.site1)
    with pytest.raises(InvalidInput) as exc:
        dev.answer(insp, "C01", "yes", note="备" * 2001)
    assert exc.value.code == "field_too_long"
    assert exc.value.details["path"] == "$.fields.answers.C01.note"
    with pytest.raises(InvalidInput) as exc:
        dev.start_inspection(t.site1, notes="x" * 5001)
    assert exc.value.code == "field_too_long"
    case = dev.open_case(site_id=t.site1, title="欠薪", sector="construction")
    with pytest.raises(InvalidInput) as exc:
        dev.add_case_event(case, "note", note="x" * 5001)
    assert exc.value.code == "field_too_long"
    with pytest.raises(InvalidInput) as exc:
        dev.open_case(site_id=t.site1, title="x" * 201, sector="construction")
    assert exc.value.code == "field_too_long"
    assert pending(dev) == 2  # the inspection and the case, nothing else
    dev.update_site(t.site1, address="路" * 500)
    assert dev.sync().ok


def test_personal_data_of_someone_elses_case_is_refused_and_a_mask_never_sent(
        server: LiveServer, make_device) -> None:
    t = server.town
    office = make_device("O", server, "office1")
    case = office.open_case(site_id=t.site1, title="欠薪", sector="construction",
                            complainant_name="张三", complainant_phone=PHONE)
    assert office.sync().ok
    dev = make_device("A", server, "grid1")
    shown = dev.get("case", case)
    assert shown["complainant_phone"] == "137****1111"
    for value in (None, "13900000000", ""):
        with pytest.raises(DeviceError) as exc:
            dev.update_case(case, complainant_phone=value)
        assert exc.value.code == "field_not_writable"
    with pytest.raises(InvalidInput) as exc:
        dev.update_case(case, complainant_name="李*")
    assert exc.value.code == "masked_value"
    dev.update_case(case, complainant_phone=shown["complainant_phone"])  # as shown: no change
    assert pending(dev) == 0
    dev.update_case(case, amount_owed=5000, complainant_phone=shown["complainant_phone"])
    assert pending(dev) == 1
    assert dev.sync().ok
    record = server.record("case", case)
    assert record is not None
    assert (record["complainant_phone"], record["amount_owed"]) == (PHONE, 5000)


def test_the_recorder_edits_personal_data_but_never_writes_a_mask(
        server: LiveServer, make_device) -> None:
    t = server.town
    dev = make_device("A", server, "grid1")
    with pytest.raises(InvalidInput) as exc:
        dev.open_case(site_id=t.site1, title="欠薪", sector="construction",
                      complainant_phone="137****1111")
    assert exc.value.code == "masked_value"
    case = dev.open_case(site_id=t.site1, title="欠薪", sector="construction",
                         complainant_phone=PHONE)
    dev.update_case(case, complainant_phone="13900001111")  # not acknowledged yet: recorded here
    with pytest.raises(InvalidInput) as exc:
        dev.update_case(case, complainant_phone="139****1111")
    assert exc.value.code == "masked_value"
    assert dev.sync().ok
    dev.update_case(case, complainant_phone="13900002222")  # in clear from the server: allowed
    assert dev.sync().ok
    record = server.record("case", case)
    assert record is not None and record["complainant_phone"] == "13900002222"


def test_what_the_phone_cannot_tell_the_server_refuses_into_the_quarantine(
        server: LiveServer, make_device) -> None:
    """A case with no personal data yet: the phone cannot tell whether its user
    recorded it, so it queues the change; the server refuses it (not the
    recorder) and the value waits in the quarantine with the reason."""
    t = server.town
    office = make_device("O", server, "office1")
    case = office.open_case(site_id=t.site1, title="欠薪", sector="construction")
    assert office.sync().ok
    dev = make_device("A", server, "grid1")
    dev.update_case(case, complainant_phone="13900000000")
    report = dev.sync()
    assert report.rejected == 1
    [item] = dev.quarantine()
    assert item.code == "field_not_writable"
    assert item.fields == {"complainant_phone": "13900000000"}
    record = server.record("case", case)
    assert record is not None and record.get("complainant_phone") is None
