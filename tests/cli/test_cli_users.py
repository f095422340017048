"""``user add / list / revoke-device / set-scope`` against the real app."""

from __future__ import annotations

import getpass

import pytest

from server.support import device_secret
from sync_server.demo import FIRST_VILLAGE, GRID2_VILLAGE


def test_user_add_list_and_login(db, api, cli):
    res = cli("user", "add", "wang", "--role", "grid_officer", "--password", "s3cret-pw",
              "--display-name", "王网格", "--village", "石院村", "天星村(演示)", "--db", db)
    assert res.code == 0, res.err
    assert "added user wang" in res.out and "石院村(演示), 天星村(演示)" in res.out
    with api.store(db) as store:
        user = store.get_user_by_username("wang")
        villages = {v.data["name"]: v.id for v in store.records("village")}
        record = store.get_record("user", user.id)
    assert user.village_ids == [villages["石院村(演示)"], villages["天星村(演示)"]]
    assert record.data["username"] == "wang" and record.data["display_name"] == "王网格"
    assert record.data["role"] == "grid_officer"
    with api.client(db) as client:
        token = api.login(client, "wang", "phone-w", "s3cret-pw")
        changes = api.pull_all(client, token)
    assert any(c["entity"] == "user" and c["id"] == user.id for c in changes)
    sites = [c for c in changes if c["entity"] == "site"]
    assert sites and {c["data"]["village_id"] for c in sites} == {
        villages["石院村(演示)"], villages["天星村(演示)"]}
    listed = cli("user", "list", "--db", db)
    assert listed.code == 0
    line = next(line for line in listed.out.splitlines() if line.startswith("wang "))
    assert "grid_officer" in line and "王网格" in line and "phone-w" in line


def test_user_add_by_department_and_whole_township(db, api, cli):
    assert cli("user", "add", "li", "--role", "sector_inspector", "--password", "s3cret-pw",
               "--department", "经济发展办公室(演示)", "--db", db).code == 0
    res = cli("user", "add", "zhao", "--role", "office", "--password", "s3cret-pw",
              "--village", FIRST_VILLAGE, "--db", db)
    assert res.code == 0 and "whole township" in res.err
    with api.store(db) as store:
        assert store.get_user_by_username("li").department_ids
        zhao = store.get_user_by_username("zhao")
        assert zhao.village_ids == [] and zhao.display_name == "zhao"


def test_user_add_prompts_for_the_password(db, api, cli, monkeypatch):
    answers = iter(["typed-pw-1", "typed-pw-1"])
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": next(answers))
    assert cli("user", "add", "chen", "--role", "leader", "--db", db).code == 0
    with api.client(db) as client:
        api.login(client, "chen", "d-chen", "typed-pw-1")
    answers = iter(["typed-pw-1", "typed-pw-2"])
    res = cli("user", "add", "zhou", "--role", "leader", "--db", db)
    assert res.code == 1 and "differ" in res.err


@pytest.mark.parametrize("argv, message", [
    (["grid1", "--role", "office", "--password", "s3cret-pw"], "already exists"),
    (["x", "--role", "grid_officer", "--password", "s3cret-pw"], "needs --village or --department"),
    (["x", "--role", "grid_officer", "--password", "s3cret-pw", "--village", "火星村"],
     "unknown village: 火星村"),
    (["x", "--role", "sector_inspector", "--password", "s3cret-pw", "--department", "无此办"],
     "unknown department: 无此办"),
    (["x", "--role", "office", "--password", "short"], "at least 8 characters"),
])
def test_user_add_errors(db, cli, argv, message):
    res = cli("user", "add", *argv, "--db", db)
    assert res.code == 1
    assert message in res.err and res.err.count("\n") == 1 and "Traceback" not in res.err


def test_user_add_bad_role_is_a_usage_error(db, cli):
    res = cli("user", "add", "x", "--role", "boss", "--password", "s3cret-pw", "--db", db)
    assert res.code == 2 and "invalid choice" in res.err


def test_user_add_creates_a_new_database(tmp_path, api, cli):
    path = tmp_path / "new" / "server.db"
    assert cli("user", "add", "root", "--role", "admin", "--password", "s3cret-pw",
               "--db", path).code == 0
    with api.client(path) as client:
        api.login(client, "root", "d-root", "s3cret-pw")


def test_revoke_device_blocks_its_token(db, api, cli):
    with api.client(db) as client:
        token = api.login(client, "grid1", "phone-7")
        other = api.login(client, "grid2", "phone-8")
        auth = {"Authorization": f"Bearer {token}"}
        assert client.get("/api/v1/sync/pull", params={"since": 0}, headers=auth).status_code == 200
        res = cli("user", "revoke-device", "phone-7", "--db", db)
        assert res.code == 0, res.err
        assert "revoked 1 login token(s) of device phone-7 (user grid1)" in res.out
        denied = client.get("/api/v1/sync/pull", params={"since": 0}, headers=auth)
        assert denied.status_code == 401
        assert denied.json()["error"]["code"] == "token_revoked"
        still = client.get("/api/v1/sync/pull", params={"since": 0},
                           headers={"Authorization": f"Bearer {other}"})
        assert still.status_code == 200
        # the device stays revoked: no logging straight back in, whoever it is
        for who in ("grid1", "grid2"):
            blocked = client.post("/api/v1/auth/login", json={
                "username": who, "password": api.password, "device_id": "phone-7",
                    "device_secret": device_secret("phone-7")})
            assert blocked.status_code == 403
            assert blocked.json()["error"]["code"] == "device_revoked"
        assert "may not log in again until" in res.out
        enabled = cli("user", "enable-device", "phone-7", "--db", db)
        assert enabled.code == 0 and "may log in again" in enabled.out
        api.login(client, "grid1", "phone-7")
    again = cli("user", "revoke-device", "phone-7", "--db", db)
    assert again.code == 0 and "revoked 1 login token(s)" in again.out
    missing = cli("user", "revoke-device", "no-such-phone", "--db", db)
    assert missing.code == 1 and "no device 'no-such-phone'" in missing.err


def test_set_scope_forces_a_resync(db, api, cli):
    with api.client(db) as client:
        token = api.login(client, "grid1", "phone-1")
        auth = {"Authorization": f"Bearer {token}"}
        first = client.get("/api/v1/sync/pull", params={"since": 0}, headers=auth).json()
        res = cli("user", "set-scope", "grid1", "--village", GRID2_VILLAGE, "--db", db)
        assert res.code == 0, res.err
        assert GRID2_VILLAGE in res.out and "410" in res.out
        gone = client.get("/api/v1/sync/pull", params={"since": first["cursor"]}, headers=auth)
        assert gone.status_code == 410
        assert gone.json()["error"]["code"] == "resync_required"
        changes = api.pull_all(client, token)
    with api.store(db) as store:
        new_village = next(v.id for v in store.records("village")
                           if v.data["name"] == GRID2_VILLAGE)
    sites = [c for c in changes if c["entity"] == "site"]
    assert sites and {c["data"]["village_id"] for c in sites} == {new_village}


@pytest.mark.parametrize("argv, code, message", [
    (["grid1"], 2, "give --village"),
    (["grid1", "--village", "石院村", "--no-villages"], 2, "contradict"),
    (["grid1", "--no-villages"], 1, "needs --village or --department"),
    (["office1", "--village", "石院村"], 1, "sees the whole township"),
    (["nobody", "--village", "石院村"], 1, "no user 'nobody'"),
])
def test_set_scope_errors(db, cli, argv, code, message):
    res = cli("user", "set-scope", *argv, "--db", db)
    assert res.code == code and message in res.err


def test_set_scope_can_swap_village_for_department(db, api, cli):
    res = cli("user", "set-scope", "grid2", "--no-villages", "--department",
              "经济发展办公室(演示)", "--db", db)
    assert res.code == 0, res.err
    with api.store(db) as store:
        user = store.get_user_by_username("grid2")
        assert user.village_ids == [] and len(user.department_ids) == 1
        assert user.scope_version == 2
