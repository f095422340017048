"""Office API controllers: thin, every rule is in the services of this package.

Who may call is a guard (``role_in``), the caller a dependency
(``principal``), query parameters and bodies typed handler parameters: the
OpenAPI document is generated from these signatures.
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Annotated, Literal

from anyio import to_thread
from litestar import Controller, Response, get, post, put
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from shared_schema import cases as case_rules
from shared_schema.calendar import CalendarData
from shared_schema.entities import SiteKind
from shared_schema.office import (
    AdminUser,
    AuditList,
    CaseDetail,
    CaseEventRequest,
    CaseIntake,
    CaseList,
    ConflictList,
    ConflictView,
    CreateUserRequest,
    DeviceEnabled,
    InspectionDetail,
    InspectionList,
    PasswordRequest,
    ResolveRequest,
    RevokeResponse,
    ReviewRequest,
    ReviewResponse,
    RoleRequest,
    SiteHistory,
    SiteList,
    UserChange,
)
from sync_server.domain.calendar import service as calendar
from sync_server.domain.office import access, admin, audit, cases, conflicts, registry, review
from sync_server.domain.office.params import MAX_LIMIT, day
from sync_server.guards import role_in
from sync_server.dependencies import AppSettings, CurrentPrincipal, Store
from sync_server.http import INT64_MAX, json_response

OFFICE_LEADER = [role_in(access.OFFICE_LEADER)]
OFFICE = [role_in(access.OFFICE)]
AUDIT_READERS = [role_in(access.AUDIT_READERS)]
ADMIN = [role_in(access.ADMIN)]

Limit = Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT, description="page size")]
Offset = Annotated[int, QueryParameter(ge=0, le=INT64_MAX, description="items to skip")]
#: A day the filters take: 1970-9000 (it becomes epoch milliseconds).
DAY = r"^(19[7-9][0-9]|[2-8][0-9]{3}|9000)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
DateFrom = Annotated[dt.date | None, QueryParameter(name="from", description="from this day",
                                                     schema_extra={"pattern": DAY})]
#: ``state`` names Litestar's own request state: the parameter is ``state`` on the wire only.
InspectionState = Annotated[Literal["draft", "submitted"] | None, QueryParameter(name="state")]
ReviewState = Literal["pending", "approved", "has_issues", "rejected"]
DateTo = Annotated[dt.date | None, QueryParameter(name="to", description="to this day",
                                                 schema_extra={"pattern": DAY})]


async def _run(fn, *args, **kwargs) -> Response:
    """``fn(*args, **kwargs)`` on a worker thread, its answer as JSON."""
    return json_response(await to_thread.run_sync(partial(fn, *args, **kwargs)))


async def _created(fn, *args) -> Response:
    return json_response(await to_thread.run_sync(fn, *args), status=201)


class _Office(Controller):
    security = [{"bearer": []}]
    request_max_body_size = None  # bodies are read under their own limit (``body.py``)


class InspectionReviewController(_Office):
    path = "/api/v1/office/inspections"
    tags = ["office"]

    @get("/", summary="Inspections for review (filters, paginated)",
         operation_id="office_list_inspections", guards=OFFICE_LEADER)
    async def list_(self, principal: CurrentPrincipal, store: Store,
                    inspection_state: InspectionState = None,
                    review_state: FromQuery[ReviewState | None] = None,
                    village: FromQuery[str | None] = None, department: FromQuery[str | None] = None,
                    kind: FromQuery[SiteKind | None] = None, date_from: DateFrom = None,
                    date_to: DateTo = None, limit: Limit = 50,
                    offset: Offset = 0) -> Response[InspectionList]:
        return await _run(
            review.list_inspections, store, principal, state=inspection_state,
            review_state=review_state,
            village=village or None, department=department or None, kind=kind,
            date_from=day(date_from, "from"), date_to=day(date_to, "to"), limit=limit,
            offset=offset)

    @get("/{inspection_id:str}", summary="An inspection with answers, photos, GPS, author",
         operation_id="office_get_inspection", guards=OFFICE_LEADER)
    async def detail(self, principal: CurrentPrincipal, store: Store,
                     inspection_id: FromPath[str]) -> Response[InspectionDetail]:
        return await _run(review.inspection_detail, store, principal, inspection_id)

    @post("/{inspection_id:str}/review", summary="Review a submitted inspection",
          operation_id="office_review_inspection", guards=OFFICE, status_code=200)
    async def review(self, principal: CurrentPrincipal, store: Store, settings: AppSettings,
                     inspection_id: FromPath[str], data: JSONBody[ReviewRequest]) -> Response[ReviewResponse]:
        return await _run(review.review, store, settings, principal, inspection_id, data)


class ConflictController(_Office):
    path = "/api/v1/office/conflicts"
    tags = ["office"]

    @get("/", summary="Conflict records", operation_id="office_list_conflicts",
         guards=OFFICE_LEADER)
    async def list_(self, principal: CurrentPrincipal, store: Store,
                    status: FromQuery[Literal[conflicts.STATUSES]] = "open",  # type: ignore[valid-type]
                    entity: FromQuery[str | None] = None, limit: Limit = 50,
                    offset: Offset = 0) -> Response[ConflictList]:
        return await _run(conflicts.list_conflicts, store, principal, status, entity or None,
                          limit, offset)

    @get("/{conflict_id:str}", summary="One conflict", operation_id="office_get_conflict",
         guards=OFFICE_LEADER)
    async def detail(self, principal: CurrentPrincipal, store: Store,
                     conflict_id: FromPath[str]) -> Response[ConflictView]:
        return await _run(conflicts.get_conflict, store, principal, conflict_id)

    @post("/{conflict_id:str}/resolve", summary="Resolve a conflict to one value",
          operation_id="office_resolve_conflict", guards=OFFICE, status_code=200)
    async def resolve(self, principal: CurrentPrincipal, store: Store, settings: AppSettings,
                      conflict_id: FromPath[str], data: JSONBody[ResolveRequest]) -> Response[ConflictView]:
        return await _run(conflicts.resolve, store, settings, principal, conflict_id, data)


class CaseController(_Office):
    path = "/api/v1/cases"
    tags = ["cases"]

    @get("/", summary="The case ledger (filters, paginated)", operation_id="list_cases",
         guards=OFFICE_LEADER)
    async def list_(self, principal: CurrentPrincipal, store: Store, settings: AppSettings,
                    status: FromQuery[Literal[case_rules.STATUSES] | None] = None,  # type: ignore[valid-type]
                    level: FromQuery[Literal[case_rules.LEVELS] | None] = None,  # type: ignore[valid-type]
                    village: FromQuery[str | None] = None, overdue: FromQuery[bool | None] = None,
                    due_soon: FromQuery[bool | None] = None, source: FromQuery[str | None] = None,
                    q: FromQuery[str | None] = None, limit: Limit = 50,
                    offset: Offset = 0) -> Response[CaseList]:
        return await _run(
            cases.list_cases, store, settings, principal, status=status, level=level,
            village=village or None, overdue=overdue, due_soon=due_soon, source=source or None,
            limit=limit, offset=offset, q=q or None)

    @post("/", summary="Office intake of a case", operation_id="intake_case", guards=OFFICE,
          status_code=201)
    async def intake(self, principal: CurrentPrincipal, store: Store, settings: AppSettings,
                     data: JSONBody[CaseIntake]) -> Response[CaseDetail]:
        return await _created(cases.intake, store, settings, principal, data)

    @get("/{case_id:str}", summary="A case with its event timeline", operation_id="get_case",
         guards=OFFICE_LEADER)
    async def detail(self, principal: CurrentPrincipal, store: Store, settings: AppSettings,
                     case_id: FromPath[str]) -> Response[CaseDetail]:
        return await _run(cases.case_detail, store, settings, principal, case_id)

    @post("/{case_id:str}/events", summary="A transition through the case state machine",
          operation_id="add_case_event", guards=OFFICE_LEADER, status_code=200)
    async def event(self, principal: CurrentPrincipal, store: Store, settings: AppSettings,
                    case_id: FromPath[str], data: JSONBody[CaseEventRequest]) -> Response[CaseDetail]:
        return await _run(cases.add_event, store, settings, principal, case_id, data)


class RegistryController(_Office):
    path = "/api/v1/office/sites"
    tags = ["office"]

    @get("/", summary="The site registry (filters, search, paginated)",
         operation_id="office_list_sites", guards=OFFICE_LEADER)
    async def list_(self, principal: CurrentPrincipal, store: Store,
                    village: FromQuery[str | None] = None, kind: FromQuery[SiteKind | None] = None,
                    q: FromQuery[str | None] = None, limit: Limit = 50,
                    offset: Offset = 0) -> Response[SiteList]:
        return await _run(registry.list_sites, store, principal, village=village or None,
                          kind=kind, q=q or None, limit=limit, offset=offset)

    @get("/{site_id:str}/history", summary="A site's registry history",
         operation_id="office_site_history", guards=OFFICE_LEADER)
    async def history(self, principal: CurrentPrincipal, store: Store, site_id: FromPath[str],
                      field: FromQuery[str | None] = None,
                      registry_only: FromQuery[bool] = False) -> Response[SiteHistory]:
        return await _run(registry.site_history, store, principal, site_id, field or None,
                          registry_only)


class AuditController(_Office):
    path = "/api/v1/office/audit"
    tags = ["office"]

    @get("/", summary="The audit log, newest first", operation_id="office_audit",
         guards=AUDIT_READERS)
    async def list_(self, principal: CurrentPrincipal, store: Store,
                    action: FromQuery[Literal[audit.ACTIONS] | None] = None,  # type: ignore[valid-type]
                    entity_id: FromQuery[str | None] = None, date_from: DateFrom = None,
                    date_to: DateTo = None, limit: Limit = 100,
                    offset: Offset = 0) -> Response[AuditList]:
        return await _run(audit.list_audit, store, principal, action=action,
                          entity_id=entity_id or None, date_from=day(date_from, "from"),
                          date_to=day(date_to, "to"), limit=limit, offset=offset)


class CalendarController(_Office):
    path = "/api/v1"
    tags = ["admin"]

    @get("/office/calendar", summary="The working-day calendar", operation_id="get_calendar",
         guards=AUDIT_READERS)
    async def get_calendar(self, principal: CurrentPrincipal, store: Store) -> Response[CalendarData]:
        return await _run(admin.get_calendar, store, principal)

    @put("/admin/calendar", summary="Replace the working-day calendar (admin)",
         operation_id="put_calendar", guards=ADMIN)
    async def put_calendar(self, principal: CurrentPrincipal, store: Store, settings: AppSettings,
                           data: JSONBody[CalendarData]) -> Response[CalendarData]:
        calendar.validate(data)
        return await _run(admin.put_calendar, store, settings, principal, data)

    @post("/admin/users", summary="Create a user (admin)", operation_id="admin_create_user",
          guards=ADMIN, status_code=201)
    async def create_user(self, principal: CurrentPrincipal, store: Store, settings: AppSettings,
                          data: JSONBody[CreateUserRequest]) -> Response[AdminUser]:
        return await _created(admin.create_user, store, settings, principal, data)

    @post("/admin/devices/{device_id:str}/revoke", summary="Revoke a device's login (admin)",
          operation_id="admin_revoke_device", guards=ADMIN, status_code=200)
    async def revoke(self, principal: CurrentPrincipal, store: Store, settings: AppSettings,
                     device_id: FromPath[str]) -> Response[RevokeResponse]:
        return await _run(admin.revoke_device, store, settings, principal, device_id)

    @post("/admin/devices/{device_id:str}/enable",
          summary="Let a revoked device log in again (admin)",
          operation_id="admin_enable_device", guards=ADMIN, status_code=200)
    async def enable_device(self, principal: CurrentPrincipal, store: Store, settings: AppSettings,
                            device_id: FromPath[str]) -> Response[DeviceEnabled]:
        return await _run(admin.enable_device, store, settings, principal, device_id)


class UserAdminController(_Office):
    """A user's life cycle (admin): disable, enable, a new password, a new role."""

    path = "/api/v1/admin/users/{username:str}"
    tags = ["admin"]
    guards = ADMIN

    @post("/disable", summary="Disable a user; every token of theirs is revoked (admin)",
          operation_id="admin_disable_user", status_code=200)
    async def disable(self, principal: CurrentPrincipal, store: Store, settings: AppSettings,
                      username: FromPath[str]) -> Response[UserChange]:
        return await _run(admin.disable_user, store, settings, principal, username)

    @post("/enable", summary="Enable a disabled user (admin)", operation_id="admin_enable_user",
          status_code=200)
    async def enable(self, principal: CurrentPrincipal, store: Store, settings: AppSettings,
                     username: FromPath[str]) -> Response[UserChange]:
        return await _run(admin.enable_user, store, settings, principal, username)

    @post("/password", summary="Set a user's password; their tokens are revoked (admin)",
          operation_id="admin_set_password", status_code=200)
    async def password(self, principal: CurrentPrincipal, store: Store, settings: AppSettings,
                       username: FromPath[str], data: JSONBody[PasswordRequest]) -> Response[UserChange]:
        return await _run(admin.set_password, store, settings, principal, username, data)

    @post("/role", summary="Change a user's role; their devices resync (admin)",
          operation_id="admin_set_role", status_code=200)
    async def role(self, principal: CurrentPrincipal, store: Store, settings: AppSettings,
                   username: FromPath[str], data: JSONBody[RoleRequest]) -> Response[UserChange]:
        return await _run(admin.set_role, store, settings, principal, username, data)


CONTROLLERS = [InspectionReviewController, ConflictController, CaseController,
               RegistryController, AuditController, CalendarController, UserAdminController]
