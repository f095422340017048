"""A user's life cycle after ``create_user``: disable, enable, a new password,
a new role; and re-enabling a revoked device. One transaction each, audited
in the same transaction (the admin API's caller, or the CLI's operator).

- Disabling revokes every token of the user at once; their next request is
  401 ``user_disabled``, a login too.
- A new password is checked against the policy, revokes every token of the
  user (whoever held the old one is out) and forgets the username's failed
  logins.
- A new role bumps the scope version: the user's devices pull again from 0.
- The last active admin can be neither disabled nor made another role
  (409 ``last_admin``): someone must be able to undo a mistake.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from shared_schema.ids import uuid7
from sync_server.domain.auth import throttle
from sync_server.domain.auth.passwords import OWASP_N, hash_password
from sync_server.domain.auth.policy import check_password
from sync_server.domain.auth.service import ROLES
from sync_server.domain.registry.reference import publish_user
from sync_server.domain.errors import DomainError
from sync_server.store.base import AuditRow, StoreTx, SyncStore, UserRow


class Actor(Protocol):
    """Who acts (a ``Principal``, or the CLI's ``CliActor``), for the audit log."""

    user_id: str
    username: str
    role: str
    device_id: str


@dataclass(frozen=True)
class CliActor:
    """The operator at the server's command line (``sync-server user …``)."""

    username: str
    user_id: str = ""
    role: str = "cli"
    device_id: str = ""


@dataclass(frozen=True)
class Outcome:
    user: UserRow
    tokens_revoked: int = 0


def _audit(tx: StoreTx, actor: Actor, now: int, action: str, entity: str, entity_id: str,
           **details: Any) -> None:
    tx.add_audit(AuditRow(
        id=uuid7(), at=now, user_id=actor.user_id, username=actor.username, role=actor.role,
        device_id=actor.device_id, action=action, entity=entity, entity_id=entity_id,
        details=details))


def _user(tx: StoreTx, username: str) -> UserRow:
    user = tx.get_user_by_username(username)
    if user is None:
        raise DomainError("unknown_user", f"no user {username!r}", username=username)
    return user


def _keep_an_admin(store: SyncStore, user: UserRow) -> None:
    """Refuse to take away the last active admin."""
    if user.role != "admin" or not user.active:
        return
    others = [u for u in store.list_users()
              if u.role == "admin" and u.active and u.id != user.id]
    if not others:
        raise DomainError("last_admin", f"{user.username} is the last active admin; "
                          "make another admin first", username=user.username)


def disable_user(store: SyncStore, actor: Actor, username: str, now: int) -> Outcome:
    with store.transaction() as tx:
        user = _user(tx, username)
        _keep_an_admin(store, user)
        user.active = False
        tx.put_user(user)
        count = tx.revoke_tokens(user_id=user.id, at_ms=now)
        _audit(tx, actor, now, "user_disable", "user", user.id, username=user.username,
               tokens_revoked=count)
    return Outcome(user, count)


def enable_user(store: SyncStore, actor: Actor, username: str, now: int) -> Outcome:
    with store.transaction() as tx:
        user = _user(tx, username)
        user.active = True
        tx.put_user(user)
        _audit(tx, actor, now, "user_enable", "user", user.id, username=user.username)
    return Outcome(user)


def set_password(store: SyncStore, actor: Actor, username: str, password: str, now: int,
                 scrypt_n: int = OWASP_N) -> Outcome:
    if store.get_user_by_username(username) is None:
        raise DomainError("unknown_user", f"no user {username!r}", username=username)
    check_password(password, username)
    encoded = hash_password(password, scrypt_n)  # slow on purpose: outside the transaction
    with store.transaction() as tx:
        user = _user(tx, username)
        user.password_hash = encoded
        tx.put_user(user)
        count = tx.revoke_tokens(user_id=user.id, at_ms=now)
        throttle.forget_user(tx, username)
        _audit(tx, actor, now, "user_password", "user", user.id, username=user.username,
               tokens_revoked=count)  # never the password or its hash
    return Outcome(user, count)


def set_role(store: SyncStore, actor: Actor, username: str, role: str, now: int) -> Outcome:
    if role not in ROLES:
        raise DomainError("invalid_role", f"role must be one of {', '.join(ROLES)}",
                          role=role, path="$.role")
    with store.transaction() as tx:
        user = _user(tx, username)
        before = user.role
        if role != "admin":
            _keep_an_admin(store, user)
        if before != role:
            user.role = role
            user.scope_version += 1  # its devices pull again from 0 (410)
            tx.put_user(user)
            publish_user(tx, user, now)
        _audit(tx, actor, now, "user_role", "user", user.id, username=user.username,
               before=before, after=role)
    return Outcome(user)


def revoke_device(store: SyncStore, actor: Actor, device_id: str, user_id: str,
                  now: int) -> int:
    """Revoke a device's tokens and block it until ``enable_device``; how many
    tokens were live."""
    with store.transaction() as tx:
        tx.block_device(device_id, now, actor.user_id or actor.username)
        count = tx.revoke_tokens(device_id=device_id, at_ms=now)
        _audit(tx, actor, now, "device_revoke", "device", device_id, user_id=user_id,
               tokens_revoked=count)
    return count


def enable_device(store: SyncStore, actor: Actor, device_id: str, now: int) -> bool:
    """Lift a revoked device's block; False when it was not blocked."""
    with store.transaction() as tx:
        lifted = tx.unblock_device(device_id)
        _audit(tx, actor, now, "device_enable", "device", device_id, was_revoked=lifted)
    return lifted
