"""Finding 4 of issue #14, "no user life cycle": no disable, password reset,
role change or logout; revoking a device only killed its current tokens and
the same device logged straight back in; the admin API accepted the
password "1".

Now: ``POST /api/v1/admin/users/{username}/disable|enable|password|role``
(admin only, audited), ``POST /api/v1/auth/logout``, revoked devices stay
blocked until enabled, and a minimum password policy (docs/security.md,
"User life cycle")."""

from __future__ import annotations

from typing import Any

import pytest

from server.support import PASSWORD, World, device_secret, error_of

ADMIN_USERS = "/api/v1/admin/users"
PULL = "/api/v1/sync/pull"


def login(http: Any, username: str, device_id: str, password: str = PASSWORD) -> Any:
    return http.post("/api/v1/auth/login", json={
        "username": username, "password": password, "device_id": device_id,
                                                    "device_secret": device_secret(device_id)})


def bearer(r: Any) -> dict[str, str]:
    assert r.status_code == 200, r.text
    return {"Authorization": "Bearer " + r.json()["token"]}


@pytest.fixture
def admin(world: World) -> dict[str, str]:
    return world.login("admin", "admin-pc")


def audit(world: World, action: str) -> list[Any]:
    return world.store.list_audit(action=action)


def test_disabling_a_user_ends_every_login_at_once(world: World, admin) -> None:
    phone, tablet = world.login("grid1", "phone-1"), world.login("grid1", "tablet-1")
    other = world.login("grid2", "phone-2")
    r = world.http.post(f"{ADMIN_USERS}/grid1/disable", headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["user"]["active"] is False and r.json()["tokens_revoked"] == 2
    for headers in (phone, tablet):
        assert error_of(world.http.get(PULL, headers=headers), 401)["code"] == "user_disabled"
    assert error_of(login(world.http, "grid1", "phone-1"), 401)["code"] == "user_disabled"
    assert world.http.get(PULL, headers=other).status_code == 200  # nobody else
    [row] = audit(world, "user_disable")
    assert (row.username, row.entity_id, row.details) == (
        "admin", world.user_id("grid1"), {"username": "grid1", "tokens_revoked": 2})
    r = world.http.post(f"{ADMIN_USERS}/grid1/enable", headers=admin)
    assert r.status_code == 200 and r.json()["user"].get("active", True) is True  # a default
    assert error_of(world.http.get(PULL, headers=phone), 401)["code"] == "token_revoked"
    assert world.http.get(PULL, headers=bearer(login(world.http, "grid1", "phone-1"))
                          ).status_code == 200
    assert len(audit(world, "user_enable")) == 1


def test_a_new_password_ends_the_old_one_and_its_logins(world: World, admin) -> None:
    phone = world.login("grid1", "phone-1")
    r = world.http.post(f"{ADMIN_USERS}/grid1/password", json={"password": "新的-pass-2026"},
                        headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["tokens_revoked"] == 1
    assert error_of(world.http.get(PULL, headers=phone), 401)["code"] == "token_revoked"
    assert error_of(login(world.http, "grid1", "phone-1"), 401)["code"] == \
        "invalid_credentials"
    bearer(login(world.http, "grid1", "phone-1", "新的-pass-2026"))
    [row] = audit(world, "user_password")
    assert "新的-pass-2026" not in str(row.details) and "scrypt" not in str(row.details)


@pytest.mark.parametrize("password, reason", [
    ("1", "too_short"), ("1234567", "too_short"), ("aaaaaaaaaaaa", "one_character"),
    ("Grid1Grid1", None), ("grid1", "too_short"), ("GRID1-longer", None),
    ("password", "common"), ("12345678", "common"), ("Woaini1314", "common"),
    ("demo1234", "common"), ("x" * 257 + "y", "too_long"),
])
def test_the_admin_api_refuses_weak_passwords(world: World, admin, password: str,
                                              reason: str | None) -> None:
    """The finding: the admin API accepted "1". A refusal says why, in
    Chinese and English, and changes nothing."""
    body = {"username": "newbie", "password": password, "role": "office"}
    r = world.http.post(ADMIN_USERS, json=body, headers=admin)
    if reason is None:
        assert r.status_code == 201, r.text
        return
    err = error_of(r, 400)
    assert err["code"] == "weak_password" and err["details"]["reason"] == reason
    assert err["message"].startswith("密码太弱：") and "weak password" in err["message"]
    assert world.store.get_user_by_username("newbie") is None
    before = world.store.get_user_by_username("grid1").password_hash
    r = world.http.post(f"{ADMIN_USERS}/grid1/password", json={"password": password},
                        headers=admin)
    assert error_of(r, 400)["code"] == "weak_password"
    assert world.store.get_user_by_username("grid1").password_hash == before


def test_the_username_is_not_a_password(world: World, admin) -> None:
    r = world.http.post(f"{ADMIN_USERS}/sector1/password", json={"password": "SECTOR1"},
                        headers=admin)
    assert error_of(r, 400)["details"]["reason"] == "too_short"
    r = world.http.post(ADMIN_USERS, json={"username": "longname1", "password": "LONGNAME1",
                                           "role": "office"}, headers=admin)
    assert error_of(r, 400)["details"]["reason"] == "is_username"
    assert world.http.post(ADMIN_USERS, json={"username": "longname1", "password": "x-1-y-z-2",
                                              "role": "office"}, headers=admin).status_code == 201
    r = world.http.post(f"{ADMIN_USERS}/longname1/password", json={"password": "LongName1"},
                        headers=admin)
    assert error_of(r, 400)["details"]["reason"] == "is_username"


def test_a_role_change_makes_the_devices_resync(world: World, admin) -> None:
    dev = world.device("grid1", "phone-1")
    r = world.http.post(f"{ADMIN_USERS}/grid1/role", json={"role": "office"}, headers=admin)
    assert r.status_code == 200 and r.json()["user"]["role"] == "office"
    r = world.http.get(PULL, params={"since": dev.cursor}, headers=dev.headers)
    assert error_of(r, 410)["code"] == "resync_required"
    assert world.store.get_record("user", world.user_id("grid1")).data["role"] == "office"
    # now an office user: the office console answers
    assert world.http.get("/api/v1/cases", headers=dev.headers).status_code == 200
    [row] = audit(world, "user_role")
    assert (row.details["before"], row.details["after"]) == ("grid_officer", "office")
    r = world.http.post(f"{ADMIN_USERS}/grid1/role", json={"role": "mayor"}, headers=admin)
    assert error_of(r, 400)["code"] == "invalid_role"
    r = world.http.post(f"{ADMIN_USERS}/nobody/role", json={"role": "office"}, headers=admin)
    assert error_of(r, 404)["code"] == "unknown_user"


def test_the_last_admin_stays(world: World, admin) -> None:
    assert error_of(world.http.post(f"{ADMIN_USERS}/admin/disable", headers=admin),
                    409)["code"] == "last_admin"
    assert error_of(world.http.post(f"{ADMIN_USERS}/admin/role", json={"role": "office"},
                                    headers=admin), 409)["code"] == "last_admin"
    assert world.http.post(f"{ADMIN_USERS}/leader1/role", json={"role": "admin"},
                           headers=admin).status_code == 200
    r = world.http.post(f"{ADMIN_USERS}/admin/disable", headers=admin)  # now one remains
    assert r.status_code == 200
    assert error_of(world.http.get(PULL, headers=admin), 401)["code"] == "user_disabled"


def test_logout_revokes_the_callers_token_only(world: World) -> None:
    phone, tablet = world.login("grid1", "phone-1"), world.login("grid1", "tablet-1")
    r = world.http.post("/api/v1/auth/logout", headers=phone)
    assert r.status_code == 200 and r.json() == {"tokens_revoked": 1}
    assert error_of(world.http.get(PULL, headers=phone), 401)["code"] == "token_revoked"
    assert world.http.get(PULL, headers=tablet).status_code == 200
    assert error_of(world.http.post("/api/v1/auth/logout", headers=phone), 401)["code"] == \
        "token_revoked"
    assert error_of(world.http.post("/api/v1/auth/logout"), 401)["code"] == "auth_required"
    [row] = audit(world, "logout")
    assert (row.username, row.device_id) == ("grid1", "phone-1")


def test_a_revoked_device_does_not_log_straight_back_in(world: World, admin) -> None:
    """The finding: after a revoke, the same device id logged in again at once.
    Now it stays blocked, for every user, until an admin enables it."""
    phone = world.login("grid1", "lost-phone")
    r = world.http.post("/api/v1/admin/devices/lost-phone/revoke", headers=admin)
    assert r.json() == {"device_id": "lost-phone", "tokens_revoked": 1}
    assert error_of(world.http.get(PULL, headers=phone), 401)["code"] == "token_revoked"
    for who in ("grid1", "grid2"):
        err = error_of(login(world.http, who, "lost-phone"), 403)
        assert err["code"] == "device_revoked" and err["details"]["device_id"] == "lost-phone"
    outcomes = [a.details["outcome"] for a in audit(world, "login_failed")]
    assert outcomes == ["device_revoked", "device_revoked"]
    assert not world.store.list_audit(action="login", entity_id=world.user_id("grid2"))
    # a wrong password on a revoked device says nothing about the device
    assert error_of(login(world.http, "grid1", "lost-phone", "wrong-guess"), 401)["code"] == \
        "invalid_credentials"
    r = world.http.post("/api/v1/admin/devices/lost-phone/enable", headers=admin)
    assert r.status_code == 200 and r.json() == {"device_id": "lost-phone", "was_revoked": True}
    assert world.http.get(PULL, headers=bearer(login(world.http, "grid1", "lost-phone"))
                          ).status_code == 200
    assert error_of(world.http.post("/api/v1/admin/devices/never-seen/enable", headers=admin),
                    404)["code"] == "not_found"
    assert [a.details for a in audit(world, "device_enable")] == [{"was_revoked": True}]


@pytest.mark.parametrize("username", ["grid1", "sector1", "office1", "leader1"])
def test_only_an_admin_runs_the_life_cycle(world: World, username: str) -> None:
    headers = world.login(username, f"{username}-dev")
    for action, body in (("disable", None), ("enable", None),
                         ("password", {"password": "a-long-new-pw"}), ("role", {"role": "admin"})):
        r = world.http.post(f"{ADMIN_USERS}/grid2/{action}", json=body, headers=headers)
        assert error_of(r, 403)["code"] == "forbidden", action
    r = world.http.post("/api/v1/admin/devices/x/enable", headers=headers)
    assert error_of(r, 403)["code"] == "forbidden"
    grid2 = world.store.get_user_by_username("grid2")
    assert (grid2.active, grid2.role) == (True, "grid_officer")
