"""Admin actions through the API, audited: the working-day calendar, users, devices."""

from __future__ import annotations

from shared_schema.calendar import CALENDAR_ID
from sync_server.domain.auth import lifecycle
from sync_server.domain.auth import service as auth
from sync_server.domain.auth.policy import check_password
from sync_server.domain.principal import Principal
from sync_server.domain.calendar import service as calendar
from sync_server.domain.office import access
from shared_schema.office import (
    AdminUser,
    CreateUserRequest,
    DeviceEnabled,
    PasswordRequest,
    RevokeResponse,
    RoleRequest,
    UserChange,
)
from sync_server.domain.registry.service import publish_calendar
from sync_server.domain.errors import DomainError
from sync_server.settings import Settings
from sync_server.store.base import SyncStore, UserRow


def get_calendar(store: SyncStore, p: Principal) -> calendar.CalendarData:
    access.require(p, access.AUDIT_READERS, "read the calendar")
    return calendar.current_data(store)


def put_calendar(store: SyncStore, settings: Settings, p: Principal,
                 data: calendar.CalendarData) -> calendar.CalendarData:
    access.require(p, access.ADMIN, "edit the working-day calendar")
    now = settings.now_ms()
    body = calendar.to_builtins(data)
    with store.transaction() as tx:
        tx.put_calendar(body, now, p.user_id)
        publish_calendar(tx, now, body)  # devices pull it
        access.audit(tx, p, now, "calendar_update", "calendar", CALENDAR_ID,
                     years=sorted(data.years))
    return calendar.current_data(store)


def create_user(store: SyncStore, settings: Settings, p: Principal,
                req: CreateUserRequest) -> AdminUser:
    access.require(p, access.ADMIN, "create users")
    now = settings.now_ms()
    if req.role not in auth.ROLES:  # before the policy: a wrong role is the first thing to say
        raise DomainError("invalid_role", f"role must be one of {', '.join(auth.ROLES)}",
                          role=req.role, path="$.role")
    check_password(req.password, req.username)
    user = auth.create_user(store, req.username, req.password, req.role,
                            display_name=req.display_name, village_ids=req.village_ids,
                            department_ids=req.department_ids, now_ms=now,
                            scrypt_n=settings.scrypt_n)
    with store.transaction() as tx:
        access.audit(tx, p, now, "user_create", "user", user.id, username=user.username,
                     role=user.role, village_ids=user.village_ids,
                     department_ids=user.department_ids)
    return admin_user(user)


def admin_user(user: UserRow) -> AdminUser:
    return AdminUser(id=user.id, username=user.username, display_name=user.display_name,
                     role=user.role, village_ids=user.village_ids,
                     department_ids=user.department_ids, active=user.active)


def revoke_device(store: SyncStore, settings: Settings, p: Principal,
                  device_id: str) -> RevokeResponse:
    access.require(p, access.ADMIN, "revoke devices")
    device = store.get_device(device_id)
    if device is None:
        raise DomainError("not_found", "no such device", device_id=device_id)
    # no login again from it until an admin enables it
    count = lifecycle.revoke_device(store, p, device_id, device.user_id, settings.now_ms())
    return RevokeResponse(device_id=device_id, tokens_revoked=count)


def _change(outcome: lifecycle.Outcome) -> UserChange:
    return UserChange(user=admin_user(outcome.user), tokens_revoked=outcome.tokens_revoked)


def disable_user(store: SyncStore, settings: Settings, p: Principal,
                 username: str) -> UserChange:
    access.require(p, access.ADMIN, "disable users")
    return _change(lifecycle.disable_user(store, p, username, settings.now_ms()))


def enable_user(store: SyncStore, settings: Settings, p: Principal,
                username: str) -> UserChange:
    access.require(p, access.ADMIN, "enable users")
    return _change(lifecycle.enable_user(store, p, username, settings.now_ms()))


def set_password(store: SyncStore, settings: Settings, p: Principal, username: str,
                 req: PasswordRequest) -> UserChange:
    access.require(p, access.ADMIN, "set passwords")
    return _change(lifecycle.set_password(store, p, username, req.password, settings.now_ms(),
                                          settings.scrypt_n))


def set_role(store: SyncStore, settings: Settings, p: Principal, username: str,
             req: RoleRequest) -> UserChange:
    access.require(p, access.ADMIN, "change roles")
    return _change(lifecycle.set_role(store, p, username, req.role, settings.now_ms()))


def enable_device(store: SyncStore, settings: Settings, p: Principal,
                  device_id: str) -> DeviceEnabled:
    access.require(p, access.ADMIN, "enable devices")
    if store.get_device(device_id) is None and store.device_blocked(device_id) is None:
        raise DomainError("not_found", "no such device", device_id=device_id)
    lifted = lifecycle.enable_device(store, p, device_id, settings.now_ms())
    return DeviceEnabled(device_id=device_id, was_revoked=lifted)
