"""Login, opaque device tokens and the principal a request acts as."""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from typing import Any

from shared_schema.base import WireStruct
from shared_schema.ids import uuid7
from shared_schema.roles import ROLES
from shared_schema.wire import LoginRequest, LoginResponse, Scope, UserInfo
from sync_server.domain.auth import throttle
from sync_server.domain.auth.passwords import (
    OWASP_N,
    dummy_hash,
    hash_password,
    needs_rehash,
    verify_password,
)
from sync_server.domain.registry.reference import publish_user
from sync_server.domain.errors import DomainError
from sync_server.domain.principal import WHOLE_TOWNSHIP, Principal
from sync_server.settings import Settings
from sync_server.store.base import (
    AuditRow,
    DeviceRow,
    StoreTx,
    SyncStore,
    TokenRow,
    UserRow,
)


#: The audit log's actions for logins (docs/security.md, "Logins").
LOGIN, LOGIN_FAILED, LOGOUT = "login", "login_failed", "logout"


class LogoutResponse(WireStruct, kw_only=True):
    tokens_revoked: int


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def user_info(user: UserRow) -> UserInfo:
    whole = user.role in WHOLE_TOWNSHIP
    return UserInfo(
        id=user.id, username=user.username, display_name=user.display_name, role=user.role,
        scope=Scope(all=whole, village_ids=list(user.village_ids),
                    department_ids=list(user.department_ids)),
    )


def create_user(store: SyncStore, username: str, password: str, role: str, *,
                display_name: str | None = None, village_ids: list[str] | None = None,
                department_ids: list[str] | None = None, now_ms: int = 0,
                user_id: str | None = None, scrypt_n: int = OWASP_N) -> UserRow:
    """A new user, hashed at cost ``scrypt_n``. The password policy is the
    caller's (``policy.check_password``: the CLI and the admin API check it,
    ``seed-demo`` alone does not)."""
    if role not in ROLES:
        raise DomainError("invalid_role", f"role must be one of {', '.join(ROLES)}", role=role)
    if not username or not password:
        raise DomainError("invalid_user", "username and password are required")
    user = UserRow(
        id=user_id or uuid7(), username=username, display_name=display_name or username,
        role=role, password_hash=hash_password(password, scrypt_n), village_ids=village_ids or [],
        department_ids=department_ids or [], created_at=now_ms,
    )
    with store.transaction() as tx:
        # Checked inside the write transaction: two concurrent adds cannot both pass.
        if tx.get_user_by_username(username):
            raise DomainError("user_exists", f"user {username!r} already exists")
        tx.put_user(user)
        publish_user(tx, user, now_ms)  # the public reference record, same transaction
    return user


def set_scope(store: SyncStore, username: str, *, village_ids: list[str] | None = None,
              department_ids: list[str] | None = None) -> UserRow:
    """Change a user's scope; their devices must resync (410 on next pull)."""
    user = store.get_user_by_username(username)
    if user is None:
        raise DomainError("unknown_user", f"no user {username!r}")
    if village_ids is not None:
        user.village_ids = village_ids
    if department_ids is not None:
        user.department_ids = department_ids
    user.scope_version += 1
    with store.transaction() as tx:
        tx.put_user(user)
    return user


#: A device secret's length bounds (characters): the device app sends
#: ``secrets.token_urlsafe(32)`` (43 characters, 256 random bits).
SECRET_MIN, SECRET_MAX = 32, 200


def secret_hash(secret: str) -> str:
    """What the server keeps of a device secret: a 256-bit random value needs
    no slow hash, its sha256 cannot be turned back into it."""
    return hashlib.sha256(b"device-secret:" + secret.encode()).hexdigest()


def _may_claim(device: DeviceRow, user: UserRow, hashed: str) -> bool:
    """May a login with this secret act as this known device? With the secret
    bound to it, yes (also a hand-over to another user); a device from before
    secrets (none bound) only by its own user, whose login binds it."""
    if device.secret_hash is not None:
        return hmac.compare_digest(device.secret_hash, hashed)
    return device.user_id == user.id


def login(store: SyncStore, settings: Settings, req: LoginRequest,
          client: str = "") -> LoginResponse:
    """A device login from ``client`` (its address): the device id proven by its
    secret, throttled, audited, and re-hashing a password stored at a lower cost
    than ``settings.scrypt_n``."""
    if not req.device_id or "." in req.device_id or len(req.device_id) > 100:
        raise DomainError("invalid_device_id", "device_id must be 1-100 characters without '.'", path="$.device_id")
    if not SECRET_MIN <= len(req.device_secret) <= SECRET_MAX:
        # Without a secret nothing proves the device id: refused for every id,
        # new or known (a secret-less device could be taken over by anyone).
        raise DomainError("device_secret_required",
                          f"device_secret must be {SECRET_MIN}-{SECRET_MAX} characters: "
                          "update the app", path="$.device_secret", min_length=SECRET_MIN)
    now = settings.now_ms()
    wait, which = throttle.waiting(store, settings, req.username, client, now)
    if wait > 0:
        # The password is not checked, whether the user exists or not; the
        # first refusal of each wait is audited (a loop adds no rows).
        seconds = max(1, math.ceil(wait / 1000))
        if throttle.first_of_wait(settings, which):
            _refused(store, now, req, client, store.get_user_by_username(req.username),
                     "throttled", retry_after_s=seconds)
        raise DomainError("too_many_attempts",
                          f"登录失败次数过多，请 {seconds} 秒后再试 (too many failed logins; "
                          f"try again in {seconds} s)",
                          headers={"Retry-After": str(seconds)}, retry_after_s=seconds)
    user = store.get_user_by_username(req.username)
    ok = verify_password(req.password,
                         user.password_hash if user else dummy_hash(settings.scrypt_n))
    if user and not ok and needs_rehash(user.password_hash, settings.scrypt_n):
        # A hash still at a lower cost answers sooner than the dummy an unknown
        # name is checked against: pad to the server's cost, so the time of a
        # wrong login does not tell which usernames exist.
        verify_password(req.password, dummy_hash(settings.scrypt_n))
    if not user or not ok:
        def failed(tx: StoreTx) -> None:
            throttle.note_failure(tx, settings, req.username, client, now)
            _login_audit(tx, now, LOGIN_FAILED, req, client, user,
                         "wrong_password" if user else "unknown_user")
        store.write_grouped(failed)
        raise DomainError("invalid_credentials", "wrong username or password")
    if not user.active:
        _refused(store, now, req, client, user, "user_disabled")
        raise DomainError("user_disabled", "this account is disabled")
    hashed = secret_hash(req.device_secret)
    new_hash = (hash_password(req.password, settings.scrypt_n)
                if needs_rehash(user.password_hash, settings.scrypt_n) else None)
    token = secrets.token_urlsafe(32)
    expires = now + settings.token_ttl_ms
    with store.transaction() as tx:
        device = tx.get_device(req.device_id)
        taken = device is not None and not _may_claim(device, user, hashed)
        blocked = not taken and tx.device_blocked(req.device_id) is not None
        if taken:
            # Another device's id: nothing changes but the audit log.
            tx.add_audit(AuditRow(
                id=uuid7(), at=now, user_id=user.id, username=user.username, role=user.role,
                device_id=req.device_id, action="device_id_taken", entity="device",
                entity_id=req.device_id,
                details={"client": client, "device_name": req.device_name[:100]}))
        elif not blocked:
            throttle.note_success(tx, req.username)
            if new_hash is not None:
                stored = tx.get_user_by_username(user.username)
                if stored is not None and stored.password_hash == user.password_hash:
                    stored.password_hash = new_hash  # unless an admin set a new one meanwhile
                    tx.put_user(stored)
            _bind_device(tx, req, user, device, hashed, now)
            tx.put_token(TokenRow(token_hash=token_hash(token), user_id=user.id,
                                  device_id=req.device_id, expires_at=expires, created_at=now))
            _login_audit(tx, now, LOGIN, req, client, user, "ok",
                         rehashed=new_hash is not None)
    if taken:
        raise DomainError("device_id_taken",
                          "this device id belongs to another device: reinstall the app or ask "
                          "the administrator", device_id=req.device_id)
    if blocked:
        _refused(store, now, req, client, user, "device_revoked")
        raise DomainError("device_revoked", "this device was revoked by an administrator; "
                          "ask them to enable it again", device_id=req.device_id)
    return LoginResponse(token=token, expires_at=expires, user=user_info(user),
                         server_time_ms=now)


def _bind_device(tx: StoreTx, req: LoginRequest, user: UserRow, device: DeviceRow | None,
                 hashed: str, now: int) -> None:
    if device is None or device.user_id != user.id:
        # A new device, or a phone handed to another user: start fresh
        # scope tracking; the old user's tokens on it stop working.
        if device is not None:
            tx.revoke_tokens(device_id=req.device_id, at_ms=now)
        device = DeviceRow(device_id=req.device_id, user_id=user.id, name=req.device_name,
                           created_at=now, last_hlc=device.last_hlc if device else "")
    device.secret_hash = hashed  # bound at the first login, then the same
    device.name = req.device_name or device.name
    tx.put_device(device)


def _login_audit(tx: StoreTx, now: int, action: str, req: LoginRequest, client: str,
                 user: UserRow | None, outcome: str, **details: Any) -> None:
    """An audit row for a login attempt: who tried (the user, or the name
    typed when there is no such user), from which device and address, and
    how it ended."""
    tx.add_audit(AuditRow(
        id=uuid7(), at=now, user_id=user.id if user else "",
        username=user.username if user else req.username[:throttle.KEY_CHARS],
        role=user.role if user else "", device_id=req.device_id[:100], action=action,
        entity="user", entity_id=user.id if user else "",
        details={"outcome": outcome, "client": client, **details}))


def _refused(store: SyncStore, now: int, req: LoginRequest, client: str,
             user: UserRow | None, outcome: str, **details: Any) -> None:
    store.write_grouped(
        lambda tx: _login_audit(tx, now, LOGIN_FAILED, req, client, user, outcome, **details))


def authenticate(store: SyncStore, settings: Settings, authorization: str | None) -> Principal:
    if not authorization or not authorization.startswith("Bearer "):
        raise DomainError("auth_required", "log in first: send Authorization: Bearer <token>")
    hashed = token_hash(authorization[7:].strip())
    # Read fresh on every request (no cache: a revocation, a disabled user or a
    # new scope counts at once, also when another process wrote it), in one read.
    found = store.get_token_and_user(hashed)
    if found is None:
        raise DomainError("token_invalid", "this login is not known; log in again")
    row, user = found.token, found.user
    # A disabled user's tokens are revoked too: say why (user_disabled) first.
    if user is None or not user.active:
        raise DomainError("user_disabled", "this account is disabled")
    if row.revoked_at is not None:
        raise DomainError("token_revoked", "this device's login was revoked; log in again")
    if row.expires_at <= settings.now_ms():
        raise DomainError("token_expired", "this login has expired; log in again")
    return Principal(
        user_id=user.id, username=user.username, role=user.role,
        village_ids=frozenset(user.village_ids), department_ids=frozenset(user.department_ids),
        device_id=row.device_id, scope_version=user.scope_version,
    )


def revoke_device(store: SyncStore, device_id: str, now_ms: int, by: str | None = None) -> int:
    """Revoke a device's tokens and block it: it cannot log in again (403
    ``device_revoked``) until ``lifecycle.enable_device``. Returns the tokens revoked."""
    with store.transaction() as tx:
        tx.block_device(device_id, now_ms, by)
        return tx.revoke_tokens(device_id=device_id, at_ms=now_ms)


def logout(store: SyncStore, settings: Settings, authorization: str | None) -> LogoutResponse:
    """Revoke the caller's own token (the device's other logins, if any, stay)."""
    p = authenticate(store, settings, authorization)
    hashed = token_hash((authorization or "")[7:].strip())
    now = settings.now_ms()
    with store.transaction() as tx:
        count = tx.revoke_tokens(token_hash=hashed, at_ms=now)
        tx.add_audit(AuditRow(
            id=uuid7(), at=now, user_id=p.user_id, username=p.username, role=p.role,
            device_id=p.device_id, action=LOGOUT, entity="user", entity_id=p.user_id,
            details={"tokens_revoked": count}))
    return LogoutResponse(tokens_revoked=count)
