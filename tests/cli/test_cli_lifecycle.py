"""``user disable / enable / set-password / set-role / enable-device`` and the
password policy of ``user add``, against the real app and database."""

from __future__ import annotations

import getpass
import io
import sys

import pytest

from server.support import device_secret


def pull(client, token: str):
    return client.get("/api/v1/sync/pull", params={"since": 0},
                      headers={"Authorization": f"Bearer {token}"})


def test_disable_and_enable(db, api, cli):
    with api.client(db) as client:
        token = api.login(client, "grid1", "phone-1")
        res = cli("user", "disable", "grid1", "--db", db)
        assert res.code == 0, res.err
        assert "disabled grid1: 1 login token(s) revoked" in res.out
        denied = pull(client, token)
        assert denied.status_code == 401 and denied.json()["error"]["code"] == "user_disabled"
        refused = client.post("/api/v1/auth/login", json={
            "username": "grid1", "password": api.password, "device_id": "phone-1",
                                                           "device_secret": device_secret("phone-1")})
        assert refused.json()["error"]["code"] == "user_disabled"
        assert "(disabled)" in cli("user", "list", "--db", db).out
        res = cli("user", "enable", "grid1", "--db", db)
        assert res.code == 0 and "enabled grid1" in res.out
        api.login(client, "grid1", "phone-1")
    with api.store(db) as store:
        rows = store.list_audit(action="user_disable") + store.list_audit(action="user_enable")
    assert [(a.role, a.username.startswith("cli:")) for a in rows] == [("cli", True)] * 2


def test_set_password_from_the_option_the_prompt_and_stdin(db, api, cli, monkeypatch):
    with api.client(db) as client:
        token = api.login(client, "grid2", "phone-2")
        res = cli("user", "set-password", "grid2", "--password", "new-pass-one", "--db", db)
        assert res.code == 0, res.err
        assert "1 login token(s) revoked" in res.out
        assert pull(client, token).json()["error"]["code"] == "token_revoked"
        api.login(client, "grid2", "phone-2", "new-pass-one")
        answers = iter(["new-pass-two", "new-pass-two"])
        monkeypatch.setattr(getpass, "getpass", lambda prompt="": next(answers))
        assert cli("user", "set-password", "grid2", "--db", db).code == 0
        api.login(client, "grid2", "phone-2", "new-pass-two")
        monkeypatch.setattr(sys, "stdin", io.StringIO("new-pass-three\n"))
        assert cli("user", "set-password", "grid2", "--password-stdin", "--db", db).code == 0
        api.login(client, "grid2", "phone-2", "new-pass-three")
    with api.store(db) as store:
        user = store.get_user_by_username("grid2")
        rows = store.list_audit(action="user_password")
    # hashed at the server's cost ($WAGE_PATROL_SCRYPT_N, default OWASP's 2^17)
    assert user.password_hash.startswith("scrypt$131072$8$1$")
    assert len(rows) == 3 and all("new-pass" not in str(a.details) for a in rows)


@pytest.mark.parametrize("password, reason", [
    ("short", "at least 8 characters"), ("demo1234", "most common"),
    ("zzzzzzzzzz", "one character repeated"), ("GRID1", "at least 8"),
])
def test_weak_passwords_are_refused_everywhere(db, api, cli, password, reason):
    with api.store(db) as store:
        before = store.get_user_by_username("grid1").password_hash
    res = cli("user", "set-password", "grid1", "--password", password, "--db", db)
    assert res.code == 1 and reason in res.err and "密码太弱" in res.err
    assert res.err.count("\n") == 1 and "Traceback" not in res.err
    res = cli("user", "add", "newbie", "--role", "office", "--password", password, "--db", db)
    assert res.code == 1 and reason in res.err
    with api.store(db) as store:
        assert store.get_user_by_username("grid1").password_hash == before
        assert store.get_user_by_username("newbie") is None


def test_set_role_forces_a_resync(db, api, cli):
    with api.client(db) as client:
        token = api.login(client, "grid1", "phone-1")
        first = pull(client, token).json()
        res = cli("user", "set-role", "grid1", "--role", "office", "--db", db)
        assert res.code == 0, res.err
        assert "grid1: grid_officer -> office" in res.out and "410" in res.out
        gone = client.get("/api/v1/sync/pull", params={"since": first["cursor"]},
                          headers={"Authorization": f"Bearer {token}"})
        assert gone.status_code == 410
    res = cli("user", "set-role", "office1", "--role", "grid_officer", "--db", db)
    assert res.code == 1 and "needs --village or --department" in res.err
    res = cli("user", "set-role", "admin", "--role", "leader", "--db", db)
    assert res.code == 1 and "last active admin" in res.err
    assert cli("user", "disable", "admin", "--db", db).code == 1
    assert cli("user", "set-role", "grid1", "--role", "boss", "--db", db).code == 2


def test_enable_device_after_a_revoke(db, api, cli):
    with api.client(db) as client:
        api.login(client, "grid1", "phone-9")
        assert cli("user", "revoke-device", "phone-9", "--db", db).code == 0
        assert "phone-9 (revoked)" in cli("user", "list", "--db", db).out
        blocked = client.post("/api/v1/auth/login", json={
            "username": "grid1", "password": api.password, "device_id": "phone-9",
                                                           "device_secret": device_secret("phone-9")})
        assert blocked.status_code == 403
        res = cli("user", "enable-device", "phone-9", "--db", db)
        assert res.code == 0 and "may log in again" in res.out
        api.login(client, "grid1", "phone-9")
    res = cli("user", "enable-device", "phone-9", "--db", db)
    assert res.code == 0 and "was not revoked" in res.out
    assert cli("user", "enable-device", "no-such", "--db", db).code == 1
    with api.store(db) as store:
        assert [a.action for a in store.list_audit(entity_id="phone-9")] == [
            "device_enable", "device_enable", "device_revoke"]


@pytest.mark.parametrize("argv", [
    ["disable", "nobody"], ["enable", "nobody"], ["set-password", "nobody", "--password",
                                                   "a-long-pass"],
    ["set-role", "nobody", "--role", "office"],
])
def test_unknown_users(db, cli, argv):
    res = cli("user", *argv, "--db", db)
    assert res.code == 1 and "no user 'nobody'" in res.err


def test_password_and_password_stdin_contradict(db, cli):
    res = cli("user", "set-password", "grid1", "--password", "a-long-pass",
              "--password-stdin", "--db", db)
    assert res.code == 2 and "contradict" in res.err
