"""Users, login tokens, devices, failed logins and device blocks."""

from __future__ import annotations

from typing import Sequence

from sync_server.store.base import DeviceRow, LoginFailures, TokenAndUser, TokenRow, UserRow
from sync_server.store.sqlite.columns import (
    _DEVICE_COLS,
    _TOKEN_AND_USER,
    _UPSERT_USER,
    _USER_COLS,
    Connected,
    _device,
    _dumps,
    _user,
)


class AuthReads(Connected):
    """Reads shared by the store and its transactions."""

    def get_user_by_username(self, username: str) -> UserRow | None:
        row = self.conn.execute(
            f"SELECT {_USER_COLS} FROM users WHERE username=?", (username,)
        ).fetchone()
        return _user(row) if row else None

    def get_device(self, device_id: str) -> DeviceRow | None:
        row = self.conn.execute(
            f"SELECT {_DEVICE_COLS} FROM devices WHERE device_id=?", (device_id,)
        ).fetchone()
        return _device(row) if row else None

    # logins (migration m008_logins)
    def device_blocked(self, device_id: str) -> int | None:
        row = self.conn.execute(
            "SELECT revoked_at FROM device_blocks WHERE device_id=?", (device_id,)).fetchone()
        return row[0] if row else None

    def login_failures(self, keys: Sequence[str]) -> dict[str, LoginFailures]:
        keys = list(dict.fromkeys(keys))
        if not keys:
            return {}
        rows = self.conn.execute(
            "SELECT key, failures, last_failure_at FROM login_failures WHERE key IN "
            f"({','.join('?' * len(keys))})", keys).fetchall()
        return {r[0]: LoginFailures(*r) for r in rows}


class AuthWrites(Connected):
    """Writes inside one transaction."""

    def put_user(self, u: UserRow) -> None:
        self.conn.execute(
            _UPSERT_USER,
            (u.id, u.username, u.display_name, u.role, u.password_hash, _dumps(u.village_ids),
             _dumps(u.department_ids), u.scope_version, int(u.active), u.created_at),
        )

    def put_token(self, t: TokenRow) -> None:
        self.conn.execute(
            "INSERT INTO tokens VALUES (?,?,?,?,?,?)",
            (t.token_hash, t.user_id, t.device_id, t.expires_at, t.created_at, t.revoked_at),
        )

    def revoke_tokens(self, *, device_id: str | None = None, token_hash: str | None = None,
                      at_ms: int, user_id: str | None = None) -> int:
        if device_id is None and token_hash is None and user_id is None:
            raise ValueError("name a device, a token or a user to revoke")
        cur = self.conn.execute(
            "UPDATE tokens SET revoked_at=? WHERE revoked_at IS NULL AND "
            "(device_id=? OR token_hash=? OR user_id=?)",
            (at_ms, device_id, token_hash, user_id),
        )
        return cur.rowcount

    def add_login_failure(self, key: str, at_ms: int, forget_before_ms: int) -> int:
        return self.conn.execute(
            "INSERT INTO login_failures VALUES (?, 1, ?) ON CONFLICT (key) DO UPDATE SET "
            "failures = CASE WHEN last_failure_at < ? THEN 1 ELSE failures + 1 END, "
            "last_failure_at = max(last_failure_at, excluded.last_failure_at) "
            "RETURNING failures", (key, at_ms, forget_before_ms)).fetchone()[0]

    def clear_login_failures(self, key: str) -> None:
        self.conn.execute("DELETE FROM login_failures WHERE key=?", (key,))

    def forget_login_failures(self, before_ms: int) -> int:
        return self.conn.execute(
            "DELETE FROM login_failures WHERE last_failure_at < ?", (before_ms,)).rowcount

    def block_device(self, device_id: str, at_ms: int, by: str | None) -> None:
        self.conn.execute(
            "INSERT INTO device_blocks VALUES (?,?,?) ON CONFLICT (device_id) DO NOTHING",
            (device_id, at_ms, by))

    def unblock_device(self, device_id: str) -> bool:
        return self.conn.execute(
            "DELETE FROM device_blocks WHERE device_id=?", (device_id,)).rowcount > 0

    def put_device(self, d: DeviceRow) -> None:
        self.conn.execute(
            f"INSERT OR REPLACE INTO devices ({_DEVICE_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (d.device_id, d.user_id, d.name, d.created_at, d.last_push_ms, d.last_pull_ms,
             d.clock_offset_ms, int(d.skewed), d.last_hlc, d.scope_version_seen,
             d.secret_hash),
        )


class AuthQueries(Connected):
    """Reads of the store only."""

    def get_user(self, user_id: str) -> UserRow | None:
        row = self.conn.execute(f"SELECT {_USER_COLS} FROM users WHERE id=?", (user_id,)).fetchone()
        return _user(row) if row else None

    def list_users(self) -> list[UserRow]:
        return [_user(r) for r in self.conn.execute(
            f"SELECT {_USER_COLS} FROM users ORDER BY username")]

    def get_token_and_user(self, token_hash: str) -> TokenAndUser | None:
        """The token and its user in one statement (a ``LEFT JOIN``: one read
        per authenticated request); ``None`` for an unknown token."""
        row = self.conn.execute(_TOKEN_AND_USER, (token_hash,)).fetchone()
        if row is None:
            return None
        token = TokenRow(token_hash=row[0], user_id=row[1], device_id=row[2], expires_at=row[3],
                         created_at=row[4], revoked_at=row[5])
        return TokenAndUser(token, _user(row[6:]) if row[6] is not None else None)
