"""Finding 3 of issue #14, "no brute-force bound": 50 wrong passwords in 2 s
were all 401, with no Retry-After and nothing audited.

Now: per-username and per-address exponential back-off (429
``too_many_attempts`` with ``Retry-After``, the password not checked while
waiting), kept in the database, the same for unknown usernames, and every
attempt in the audit log (docs/security.md, "Logins")."""

from __future__ import annotations

from typing import Any

import pytest

from server.support import PASSWORD, World, device_secret, error_of
from sync_server.domain.auth import passwords, service

LOGIN = "/api/v1/auth/login"


def attempt(http: Any, username: str, password: str, device_id: str = "dev-x",
            client: str | None = None) -> Any:
    headers = {"X-Forwarded-For": client} if client else {}
    return http.post(LOGIN, json={"username": username, "password": password,
                                  "device_id": device_id,
                                  "device_secret": device_secret(device_id)}, headers=headers)


def outcome(r: Any) -> tuple[int, int | None]:
    """(status, Retry-After seconds or None)."""
    after = r.headers.get("retry-after")
    return r.status_code, int(after) if after is not None else None


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The passwords the login actually verified (a spy on the real check)."""
    seen: list[str] = []
    real = service.verify_password

    def spy(password: str, encoded: str) -> bool:
        seen.append(password)
        return real(password, encoded)

    monkeypatch.setattr(service, "verify_password", spy)
    return seen


def test_fifty_wrong_passwords_back_off_with_retry_after(world: World, checks: list[str]) -> None:
    """The attack of the finding, on a still clock (no time passes between
    attempts): 5 wrong passwords are checked and answered 401; the other 45
    are answered 429 with Retry-After and not checked at all; the right
    password is refused too until the wait is over."""
    answers = [outcome(attempt(world.http, "grid2", f"guess-{i}")) for i in range(50)]
    assert answers[:5] == [(401, None)] * 5
    assert answers[5:] == [(429, 1)] * 45
    assert len(checks) == 5  # the throttled 45 cost no scrypt
    r = attempt(world.http, "grid2", PASSWORD)
    err = error_of(r, 429)
    assert err["code"] == "too_many_attempts" and err["details"]["retry_after_s"] == 1
    assert "请" in err["message"] and "try again" in err["message"]
    assert len(checks) == 5
    world.clock.advance(1000)  # the wait is over: the right password works
    assert attempt(world.http, "grid2", PASSWORD).status_code == 200


def test_the_wait_doubles_up_to_the_cap(make_app_client, clock) -> None:
    app = make_app_client(login_backoff_max_ms=60_000)
    world = World(app.client, app.store, clock).seed()
    waits = []
    for _ in range(4):
        assert attempt(world.http, "grid2", "wrong-guess").status_code == 401
    for _ in range(10):
        r = attempt(world.http, "grid2", "wrong-guess")  # the failure that sets the wait
        assert r.status_code == 401
        status, after = outcome(attempt(world.http, "grid2", "wrong-guess"))
        assert status == 429
        waits.append(after)
        clock.advance(after * 1000 - 1)
        assert attempt(world.http, "grid2", "wrong-guess").status_code == 429  # not yet
        clock.advance(1)
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 60, 60]


def test_a_success_forgets_the_usernames_failures(world: World) -> None:
    for _ in range(4):
        assert attempt(world.http, "grid1", "wrong-guess").status_code == 401
    assert attempt(world.http, "grid1", PASSWORD).status_code == 200
    for _ in range(5):  # five free failures again
        assert attempt(world.http, "grid1", "wrong-guess").status_code == 401
    assert attempt(world.http, "grid1", "wrong-guess").status_code == 429


def test_failures_are_forgotten_after_the_memory(world: World) -> None:
    for _ in range(6):
        attempt(world.http, "grid1", "wrong-guess")
    world.clock.advance(24 * 3600 * 1000 + 1)
    assert [attempt(world.http, "grid1", "wrong-guess").status_code for _ in range(6)] == \
        [401] * 5 + [429]


def test_unknown_usernames_answer_like_known_ones(world: World, checks: list[str]) -> None:
    """No user enumeration: the same statuses, waits and bodies for a user
    that exists and one that does not; an unknown user's password is checked
    against a dummy hash of the server's own cost (the same time)."""
    known = [attempt(world.http, "grid1", "wrong-guess") for _ in range(8)]
    unknown = [attempt(world.http, "nobody-here", "wrong-guess") for _ in range(8)]
    assert [outcome(r) for r in known] == [outcome(r) for r in unknown]
    assert [r.json() for r in known] == [r.json() for r in unknown]
    assert checks == ["wrong-guess"] * 10
    dummy = passwords.dummy_hash(world.http.app.state.settings.scrypt_n)
    stored = world.store.get_user_by_username("grid1").password_hash
    assert passwords.parameters(dummy) == passwords.parameters(stored)


def test_one_address_trying_many_usernames_is_throttled(make_app_client, clock) -> None:
    """Per address: 20 failures over 20 usernames, then any username from that
    address waits, also one that never failed; another address does not."""
    app = make_app_client(trusted_proxies=("testclient",))
    world = World(app.client, app.store, clock).seed()
    statuses = [attempt(world.http, f"user{i}", "wrong-guess", client="10.0.0.9").status_code
                for i in range(21)]
    assert statuses == [401] * 20 + [429]
    assert attempt(world.http, "grid1", PASSWORD, client="10.0.0.9").status_code == 429
    assert attempt(world.http, "grid1", PASSWORD, client="10.0.0.10").status_code == 200


def test_forwarded_for_is_ignored_without_a_trusted_proxy(world: World) -> None:
    """An attacker cannot spread guesses over made-up addresses: without
    ``trusted_proxies`` the header is ignored and the connection counts."""
    for i in range(20):
        r = attempt(world.http, f"user{i}", "wrong-guess", client=f"10.0.{i}.1")
        assert r.status_code == 401
    assert attempt(world.http, "grid1", PASSWORD, client="10.9.9.9").status_code == 429
    clients = {a.details["client"] for a in world.store.list_audit(action="login_failed",
                                                                    limit=100)}
    assert clients == {"testclient"}


def test_the_back_off_survives_a_restart(make_app_client, clock) -> None:
    first = make_app_client()
    world = World(first.client, first.store, clock).seed()
    for _ in range(6):
        attempt(world.http, "grid2", "wrong-guess")
    first.close()
    second = make_app_client()  # same database file, a new process state
    assert outcome(attempt(second.client, "grid2", PASSWORD)) == (429, 1)


def test_every_attempt_is_audited(world: World) -> None:
    """Successes and every kind of failure, with username, device, client
    address and outcome, readable by office and admin through the audit API."""
    assert attempt(world.http, "grid1", PASSWORD, device_id="dev-ok").status_code == 200
    assert attempt(world.http, "grid1", "wrong-guess", device_id="dev-a").status_code == 401
    assert attempt(world.http, "ghost", "wrong-guess", device_id="dev-b").status_code == 401
    for _ in range(4):
        attempt(world.http, "grid2", "wrong-guess", device_id="dev-c")
    attempt(world.http, "grid2", "wrong-guess", device_id="dev-c")
    assert attempt(world.http, "grid2", "wrong-guess", device_id="dev-d").status_code == 429
    user = world.store.get_user_by_username("sector1")
    user.active = False
    with world.store.transaction() as tx:
        tx.put_user(user)
    assert error_of(attempt(world.http, "sector1", PASSWORD, device_id="dev-e"),
                    401)["code"] == "user_disabled"
    office = world.login("office1", "office-pc")
    items = world.http.get("/api/v1/office/audit", params={"limit": 100},
                           headers=office).json()["items"]
    rows = [(a["action"], a["username"], a["device_id"], a["details"]["outcome"],
             a["details"]["client"]) for a in reversed(items)]
    assert rows == [
        ("login", "grid1", "dev-ok", "ok", "testclient"),
        ("login_failed", "grid1", "dev-a", "wrong_password", "testclient"),
        ("login_failed", "ghost", "dev-b", "unknown_user", "testclient"),
        *[("login_failed", "grid2", "dev-c", "wrong_password", "testclient")] * 5,
        ("login_failed", "grid2", "dev-d", "throttled", "testclient"),
        ("login_failed", "sector1", "dev-e", "user_disabled", "testclient"),
        ("login", "office1", "office-pc", "ok", "testclient"),
    ]
    grid1 = next(a for a in items if a["action"] == "login" and a["username"] == "grid1")
    assert grid1["user_id"] == world.user_id("grid1") and grid1["role"] == "grid_officer"
    ghost = next(a for a in items if a["username"] == "ghost")
    assert ghost["user_id"] == "" and ghost["role"] == ""
    throttled = next(a for a in items if a["details"]["outcome"] == "throttled")
    assert throttled["details"]["retry_after_s"] == 1
    admin = world.login("admin", "admin-pc")
    r = world.http.get("/api/v1/office/audit", params={"action": "login_failed"},
                       headers=admin)
    assert r.status_code == 200 and len(r.json()["items"]) == 9
    assert all("password" not in str(a["details"]) or "wrong_password" in str(a["details"])
               for a in items)
    assert "wrong-guess" not in r.text and PASSWORD not in r.text
