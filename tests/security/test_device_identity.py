"""Finding 1 of issue #14: a device id proves nothing.

Before the fix, ``POST /auth/login`` with another user's device id and the
grid officer's own password answered 200: the caller then pulled complainant
data in clear (the "device that recorded the case" exemption), read that
device's receipt and revoked the real device's login. Now a device proves its
id with the secret it made on first open; the server keeps the secret's hash
bound to the id, refuses (409 ``device_id_taken``) and audits a login with
another secret, and unmasks personal data by the user who recorded the case.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any

import httpx

from server.support import (PASSWORD, AppClient, ManualClock, World, device_secret, error_of, ok,
                            record_case)
from shared_schema.ids import uuid7
from sync_server.demo import DEMO_PASSWORD, seed_demo
from sync_server.store.base import DeviceRow

NAME, PHONE, ID_NUMBER = "张三丰", "13800001234", "500101199001011234"


def login(world: World, username: str, device_id: str, secret: str | None,
          password: str = PASSWORD) -> httpx.Response:
    body: dict[str, Any] = {"username": username, "password": password,
                            "device_id": device_id, "device_name": "attacker"}
    if secret is not None:
        body["device_secret"] = secret
    return world.http.post("/api/v1/auth/login", json=body)


def bearer(r: httpx.Response) -> dict[str, str]:
    assert r.status_code == 200, r.text
    return {"Authorization": "Bearer " + r.json()["token"]}


def pulled_case(world: World, headers: dict[str, str], case_id: str) -> dict[str, Any] | None:
    since, found = 0, None
    while True:
        r = world.http.get("/api/v1/sync/pull", params={"since": since}, headers=headers)
        assert r.status_code == 200, r.text
        page = r.json()
        for c in page["changes"]:
            if (c["entity"], c["id"]) == ("case", case_id):
                found = c["data"]
        since = page["cursor"]
        if not page["has_more"]:
            return found


def office_case_in_village2(world: World) -> tuple[str, Any]:
    office = world.device("office1", "demo-office-pc")
    case = uuid7()
    ok(office.sync(office.upsert("case", case, {
        "site_id": world.site2, "title": "服装厂欠薪", "sector": "non_construction",
        "complainant_name": NAME, "complainant_phone": PHONE,
        "complainant_id_number": ID_NUMBER}))[0])
    return case, office


def audit_rows(world: World) -> list[Any]:
    return world.store.list_audit(action="device_id_taken")


def test_a_takeover_login_is_refused_audited_and_changes_nothing(world: World) -> None:
    case, office = office_case_in_village2(world)
    before = world.store.get_device("demo-office-pc")
    assert before is not None and before.user_id == world.user_id("office1")

    r = login(world, "grid2", "demo-office-pc", secrets.token_urlsafe(32))
    err = error_of(r, 409)
    assert err["code"] == "device_id_taken"
    assert "grid2" not in r.text and world.user_id("office1") not in r.text  # no owner leaked

    # nothing changed: the real device's login works, its row is as it was
    assert office.pull_response(0).status_code == 200
    assert world.store.get_device("demo-office-pc") == before
    # and it is in the audit log: who, which device, from where
    rows = audit_rows(world)
    assert len(rows) == 1
    a = rows[0]
    assert (a.username, a.user_id, a.role, a.device_id, a.entity, a.entity_id) == (
        "grid2", world.user_id("grid2"), "grid_officer", "demo-office-pc", "device",
        "demo-office-pc")
    assert a.details["client"] == "testclient"
    assert a.details["device_name"] == "attacker"

    # a wrong password on a taken device id is the usual 401, not audited as a takeover
    error_of(login(world, "grid2", "demo-office-pc", secrets.token_urlsafe(32), "nope"), 401)
    assert len(audit_rows(world)) == 1


def test_a_login_without_a_device_secret_is_refused(world: World) -> None:
    for secret in (None, "", "short-secret"):
        r = login(world, "grid1", "dev-new", secret)
        err = error_of(r, 400)
        assert err["code"] == "device_secret_required"
        assert err["details"]["path"] == "$.device_secret"
    assert world.store.get_device("dev-new") is None  # nothing stored
    # a protocol-1 client naming a known device id cannot take it over either
    world.device("office1", "dev-o", pull=False)
    error_of(login(world, "grid2", "dev-o", None), 400)
    assert world.store.get_device("dev-o").user_id == world.user_id("office1")


def test_no_device_id_unmasks_personal_data_for_a_grid_officer(world: World) -> None:
    case, office = office_case_in_village2(world)
    seen_ids = {"demo-office-pc", office.device_id, "dev-grid2", uuid7()}
    for device_id in sorted(seen_ids):
        r = login(world, "grid2", device_id, secrets.token_urlsafe(32))
        if r.status_code == 409:
            assert r.json()["error"]["code"] == "device_id_taken"
            continue
        data = pulled_case(world, bearer(r), case)
        assert data is not None  # in grid2's village
        assert (data["complainant_name"], data["complainant_phone"],
                data["complainant_id_number"]) != (NAME, PHONE, ID_NUMBER)
        assert NAME not in str(data) and PHONE not in str(data) and ID_NUMBER not in str(data)


def test_the_recorder_sees_their_case_in_clear_on_another_device(world: World) -> None:
    g1 = world.device("grid1", "phone-a")
    case = record_case(g1, world.site1, "线索", complainant_name=NAME, complainant_phone=PHONE)
    second = world.device("grid1", "phone-b")  # same user, a second phone
    assert second.record("case", case)["complainant_name"] == NAME
    assert second.record("case", case)["complainant_phone"] == PHONE
    # another field user in scope sees it masked, on any device
    sector = world.device("sector1", "phone-s")
    assert sector.record("case", case)["complainant_phone"] != PHONE


def test_a_hand_over_keeps_working_and_the_new_user_does_not_inherit_unmasking(
        world: World) -> None:
    g1 = world.device("grid1", "shared-phone")
    case = record_case(g1, world.site1, "线索", complainant_name=NAME, complainant_phone=PHONE)
    # the phone is handed to sector1: same device id, same secret
    r = login(world, "sector1", "shared-phone", device_secret("shared-phone"))
    headers = bearer(r)
    assert world.store.get_device("shared-phone").user_id == world.user_id("sector1")
    assert error_of(g1.pull_response(0), 401)["code"] == "token_revoked"  # as before
    data = pulled_case(world, headers, case)
    assert data is not None and data["complainant_name"] != NAME
    assert data["complainant_phone"] != PHONE
    # and back to grid1 on the same secret: their own case is clear again
    data = pulled_case(world, bearer(login(world, "grid1", "shared-phone",
                                           device_secret("shared-phone"))), case)
    assert data["complainant_name"] == NAME


def test_another_devices_receipt_is_refused(world: World) -> None:
    office = world.device("office1", "demo-office-pc")
    grid2 = world.device("grid2", "dev-grid2")
    r = world.http.get("/api/v1/sync/receipt", params={"device_id": office.device_id},
                       headers=grid2.headers)
    assert error_of(r, 403)["code"] == "forbidden"
    # nor by logging in as that device
    r = login(world, "grid2", office.device_id, secrets.token_urlsafe(32))
    assert error_of(r, 409)["code"] == "device_id_taken"
    assert grid2.receipt()["device_id"] == "dev-grid2"  # its own: fine


def test_a_device_known_before_secrets_binds_at_its_own_users_next_login(
        world: World) -> None:
    """A device row from before m007 has no secret: only its own user may bind one."""
    with world.store.transaction() as tx:
        tx.put_device(DeviceRow(device_id="old-phone", user_id=world.user_id("grid1"),
                                name="旧手机", created_at=world.clock()))
    theirs = secrets.token_urlsafe(32)
    assert error_of(login(world, "grid2", "old-phone", theirs), 409)["code"] == "device_id_taken"
    assert world.store.get_device("old-phone").user_id == world.user_id("grid1")
    mine = secrets.token_urlsafe(32)
    bearer(login(world, "grid1", "old-phone", mine))  # binds
    assert error_of(login(world, "grid1", "old-phone", theirs), 409)["code"] == "device_id_taken"
    bearer(login(world, "grid1", "old-phone", mine))
    bearer(login(world, "grid2", "old-phone", mine))  # a hand-over on the bound secret
    assert len(audit_rows(world)) == 2


def test_the_issues_repro_on_the_demo_data_is_refused(make_app_client,
                                                      clock: ManualClock) -> None:
    """The exact request of the issue, against ``make demo`` data: the demo's
    devices never logged in, yet their ids are in every pulled hlc."""
    app: AppClient = make_app_client()
    seed_demo(app.store, clock())
    for device_id in ("demo-office-pc", "demo-grid1-phone", "demo-sector1-pad"):
        r = app.client.post("/api/v1/auth/login", json={
            "username": "grid2", "password": DEMO_PASSWORD, "device_id": device_id,
            "device_secret": secrets.token_urlsafe(32)})
        assert error_of(r, 409)["code"] == "device_id_taken", device_id
    assert len(app.store.list_audit(action="device_id_taken")) == 3


def test_a_refused_takeover_leaves_the_devices_upload_alone(world: World) -> None:
    """The issue's takeover also deleted the real device's unfinished upload."""
    office = world.device("office1", "demo-office-pc", pull=False)
    data = b"\xff\xd8\xff\xe0" + bytes(range(256)) + b"\xff\xd9"
    meta = "sha256 " + base64.b64encode(hashlib.sha256(data).hexdigest().encode()).decode()
    tus = {"Tus-Resumable": "1.0.0"}
    r = world.http.post("/api/v1/uploads", headers={
        **office.headers, **tus, "Upload-Length": str(len(data)), "Upload-Metadata": meta})
    assert r.status_code == 201, r.text
    location = r.headers["location"]
    r = login(world, "grid2", "demo-office-pc", secrets.token_urlsafe(32))
    assert error_of(r, 409)["code"] == "device_id_taken"
    grid2 = world.device("grid2", "dev-grid2", pull=False)
    assert world.http.delete(location, headers={**grid2.headers, **tus}).status_code == 404
    r = world.http.head(location, headers={**office.headers, **tus})
    assert r.status_code == 200 and r.headers["upload-offset"] == "0"
