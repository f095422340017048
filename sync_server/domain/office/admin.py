"""Admin actions through the API, audited: the working-day calendar, users, devices."""

from __future__ import annotations

from shared_schema.calendar import CALENDAR_ID
from sync_server.domain.auth import service as auth
from sync_server.domain.auth.service import Principal
from sync_server.domain.calendar import service as calendar
from sync_server.domain.office import access
from sync_server.domain.office.schema import AdminUser, CreateUserRequest, RevokeResponse
from sync_server.domain.registry.service import publish_calendar
from sync_server.errors import ApiError
from sync_server.settings import Settings
from sync_server.store.base import SyncStore


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
    user = auth.create_user(store, req.username, req.password, req.role,
                            display_name=req.display_name, village_ids=req.village_ids,
                            department_ids=req.department_ids, now_ms=now)
    with store.transaction() as tx:
        access.audit(tx, p, now, "user_create", "user", user.id, username=user.username,
                     role=user.role, village_ids=user.village_ids,
                     department_ids=user.department_ids)
    return AdminUser(id=user.id, username=user.username, display_name=user.display_name,
                     role=user.role, village_ids=user.village_ids,
                     department_ids=user.department_ids, active=user.active)


def revoke_device(store: SyncStore, settings: Settings, p: Principal,
                  device_id: str) -> RevokeResponse:
    access.require(p, access.ADMIN, "revoke devices")
    device = store.get_device(device_id)
    if device is None:
        raise ApiError("not_found", "no such device", 404, device_id=device_id)
    now = settings.now_ms()
    with store.transaction() as tx:
        count = tx.revoke_tokens(device_id=device_id, at_ms=now)
        access.audit(tx, p, now, "device_revoke", "device", device_id, user_id=device.user_id,
                     tokens_revoked=count)
    return RevokeResponse(device_id=device_id, tokens_revoked=count)
