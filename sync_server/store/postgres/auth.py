"""Users, login tokens, devices, failed logins and device blocks."""

from __future__ import annotations

from typing import Sequence

from sync_server.store.base import DeviceRow, LoginFailures, TokenAndUser, TokenRow, UserRow
from sync_server.store.postgres.columns import (
    _DEVICE_COLS,
    _UPSERT_DEVICE,
    _UPSERT_USER,
    _USER_COLS,
    Connected,
    _device,
    _dumps,
    _user,
)

_TOKEN_AND_USER = (
    "SELECT t.token_hash, t.user_id, t.device_id, t.expires_at, t.created_at, t.revoked_at, "
    + ", ".join(f"u.{c.strip()}" for c in _USER_COLS.split(","))
    + " FROM tokens t LEFT JOIN users u ON u.id = t.user_id WHERE t.token_hash=%s"
)


#: A device's row by id.
DEVICE_BY_ID = f"SELECT {_DEVICE_COLS} FROM devices WHERE device_id=%s"


class AuthReads(Connected):
    """Reads shared by the store and its transactions."""

    def get_user_by_username(self, username: str) -> UserRow | None:
        row = self._one(f"SELECT {_USER_COLS} FROM users WHERE username=%s", (username,))
        return _user(row) if row else None

    def get_device(self, device_id: str) -> DeviceRow | None:
        row = self._one(DEVICE_BY_ID, (device_id,))
        return _device(row) if row else None

    def device_blocked(self, device_id: str) -> int | None:
        row = self._one("SELECT revoked_at FROM device_blocks WHERE device_id=%s", (device_id,))
        return row[0] if row else None

    def login_failures(self, keys: Sequence[str]) -> dict[str, LoginFailures]:
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return {}
        return {r[0]: LoginFailures(*r) for r in self._all(
            "SELECT key, failures, last_failure_at FROM login_failures WHERE key = ANY(%s)",
            (wanted,))}


class AuthWrites(Connected):
    """Writes inside one transaction."""

    def put_user(self, u: UserRow) -> None:
        self._exec(_UPSERT_USER, (u.id, u.username, u.display_name, u.role, u.password_hash,
                                  _dumps(u.village_ids), _dumps(u.department_ids),
                                  u.scope_version, int(u.active), u.created_at))

    def put_token(self, t: TokenRow) -> None:
        self._exec("INSERT INTO tokens VALUES (%s,%s,%s,%s,%s,%s)",
                   (t.token_hash, t.user_id, t.device_id, t.expires_at, t.created_at,
                    t.revoked_at))

    def revoke_tokens(self, *, device_id: str | None = None, token_hash: str | None = None,
                      at_ms: int, user_id: str | None = None) -> int:
        if device_id is None and token_hash is None and user_id is None:
            raise ValueError("name a device, a token or a user to revoke")
        return self._exec(
            "UPDATE tokens SET revoked_at=%s WHERE revoked_at IS NULL AND "
            "(device_id=%s OR token_hash=%s OR user_id=%s)",
            (at_ms, device_id, token_hash, user_id))

    def add_login_failure(self, key: str, at_ms: int, forget_before_ms: int) -> int:
        row = self._one(
            "INSERT INTO login_failures AS f VALUES (%s, 1, %s) ON CONFLICT (key) DO UPDATE SET "
            "failures = CASE WHEN f.last_failure_at < %s THEN 1 ELSE f.failures + 1 END, "
            "last_failure_at = greatest(f.last_failure_at, EXCLUDED.last_failure_at) "
            "RETURNING failures", (key, at_ms, forget_before_ms))
        assert row is not None
        return int(row[0])

    def clear_login_failures(self, key: str) -> None:
        self._exec("DELETE FROM login_failures WHERE key=%s", (key,))

    def forget_login_failures(self, before_ms: int) -> int:
        return self._exec("DELETE FROM login_failures WHERE last_failure_at < %s", (before_ms,))

    def block_device(self, device_id: str, at_ms: int, by: str | None) -> None:
        self._exec("INSERT INTO device_blocks VALUES (%s,%s,%s) ON CONFLICT (device_id) "
                   "DO NOTHING", (device_id, at_ms, by))

    def unblock_device(self, device_id: str) -> bool:
        return self._exec("DELETE FROM device_blocks WHERE device_id=%s", (device_id,)) > 0

    def put_device(self, d: DeviceRow) -> None:
        self._defer(_UPSERT_DEVICE, (d.device_id, d.user_id, d.name, d.created_at, d.last_push_ms,
                                    d.last_pull_ms, d.clock_offset_ms, int(d.skewed), d.last_hlc,
                                    d.scope_version_seen, d.secret_hash))


class AuthQueries(Connected):
    """Reads of the store only."""

    def get_user(self, user_id: str) -> UserRow | None:
        row = self._one(f"SELECT {_USER_COLS} FROM users WHERE id=%s", (user_id,))
        return _user(row) if row else None

    def list_users(self) -> list[UserRow]:
        return [_user(r) for r in self._all(f"SELECT {_USER_COLS} FROM users ORDER BY username")]

    def get_token_and_user(self, token_hash: str) -> TokenAndUser | None:
        row = self._one(_TOKEN_AND_USER, (token_hash,))
        if row is None:
            return None
        token = TokenRow(token_hash=row[0], user_id=row[1], device_id=row[2], expires_at=row[3],
                         created_at=row[4], revoked_at=row[5])
        return TokenAndUser(token, _user(row[6:]) if row[6] is not None else None)
