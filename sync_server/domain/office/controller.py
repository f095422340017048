"""Office API controllers: thin, every rule is in the services of this package."""

from __future__ import annotations

from functools import partial

import msgspec
from anyio import to_thread
from litestar import Controller, Request, Response, get, post, put
from litestar.params import FromPath

from shared_schema import cases as case_rules
from shared_schema.entities import SITE_KINDS
from sync_server.domain.calendar import service as calendar
from sync_server.domain.auth.service import Principal
from sync_server.domain.office import (
    access,
    admin,
    audit,
    cases,
    conflicts,
    params,
    registry,
    review,
)
from shared_schema.office import (
    CaseEventRequest,
    CaseIntake,
    CreateUserRequest,
    PasswordRequest,
    ResolveRequest,
    ReviewRequest,
    RoleRequest,
)
from sync_server.http import decode, json_response, principal, read_body

MAX_BODY = 256 * 1024
_review = msgspec.json.Decoder(ReviewRequest)
_resolve = msgspec.json.Decoder(ResolveRequest)
_intake = msgspec.json.Decoder(CaseIntake)
_event = msgspec.json.Decoder(CaseEventRequest)
_user = msgspec.json.Decoder(CreateUserRequest)
_password = msgspec.json.Decoder(PasswordRequest)
_role = msgspec.json.Decoder(RoleRequest)


async def _who(request: Request, roles: frozenset[str] = access.OFFICE_LEADER) -> Principal:
    """The caller, refused with 403 before its body is read when out of role."""
    p = principal(request)
    access.require(p, roles)
    return p


async def _run(fn, *args, **kwargs) -> Response:  # noqa: ANN001
    return json_response(await to_thread.run_sync(partial(fn, *args, **kwargs)))


async def _body(request: Request, decoder: msgspec.json.Decoder):  # noqa: ANN202
    return decode(await read_body(request, MAX_BODY), decoder)


class InspectionReviewController(Controller):
    path = "/api/v1/office/inspections"
    tags = ["office"]

    @get("/", summary="Inspections for review (filters, paginated)",
         operation_id="office_list_inspections")
    async def list_(self, request: Request) -> Response:
        p = await _who(request, access.OFFICE_LEADER)
        limit, offset = params.page(request)
        return await _run(
            review.list_inspections, request.app.state.store, p,
            state=params.text(request, "state", ("draft", "submitted")),
            review_state=params.text(request, "review_state",
                                     ("pending", "approved", "has_issues", "rejected")),
            village=params.text(request, "village"),
            department=params.text(request, "department"),
            kind=params.text(request, "kind", tuple(SITE_KINDS)),
            date_from=params.day(request, "from"), date_to=params.day(request, "to"),
            limit=limit, offset=offset)

    @get("/{inspection_id:str}", summary="An inspection with answers, photos, GPS, author",
         operation_id="office_get_inspection")
    async def detail(self, request: Request, inspection_id: FromPath[str]) -> Response:
        p = await _who(request, access.OFFICE_LEADER)
        return await _run(review.inspection_detail, request.app.state.store, p, inspection_id)

    @post("/{inspection_id:str}/review", summary="Review a submitted inspection",
          operation_id="office_review_inspection", request_max_body_size=None)
    async def review(self, request: Request, inspection_id: FromPath[str]) -> Response:
        p = await _who(request, access.OFFICE)
        req = await _body(request, _review)
        state = request.app.state
        return await _run(review.review, state.store, state.settings, p, inspection_id, req)


class ConflictController(Controller):
    path = "/api/v1/office/conflicts"
    tags = ["office"]

    @get("/", summary="Conflict records", operation_id="office_list_conflicts")
    async def list_(self, request: Request) -> Response:
        p = await _who(request, access.OFFICE_LEADER)
        limit, offset = params.page(request)
        return await _run(conflicts.list_conflicts, request.app.state.store, p,
                          params.text(request, "status", conflicts.STATUSES) or "open",
                          params.text(request, "entity"), limit, offset)

    @get("/{conflict_id:str}", summary="One conflict", operation_id="office_get_conflict")
    async def detail(self, request: Request, conflict_id: FromPath[str]) -> Response:
        p = await _who(request, access.OFFICE_LEADER)
        return await _run(conflicts.get_conflict, request.app.state.store, p, conflict_id)

    @post("/{conflict_id:str}/resolve", summary="Resolve a conflict to one value",
          operation_id="office_resolve_conflict", request_max_body_size=None)
    async def resolve(self, request: Request, conflict_id: FromPath[str]) -> Response:
        p = await _who(request, access.OFFICE)
        req = await _body(request, _resolve)
        state = request.app.state
        return await _run(conflicts.resolve, state.store, state.settings, p, conflict_id, req)


class CaseController(Controller):
    path = "/api/v1/cases"
    tags = ["cases"]

    @get("/", summary="The case ledger (filters, paginated)", operation_id="list_cases")
    async def list_(self, request: Request) -> Response:
        p = await _who(request, access.OFFICE_LEADER)
        limit, offset = params.page(request)
        state = request.app.state
        return await _run(
            cases.list_cases, state.store, state.settings, p,
            status=params.text(request, "status", case_rules.STATUSES),
            level=params.text(request, "level", case_rules.LEVELS),
            village=params.text(request, "village"), overdue=params.flag(request, "overdue"),
            due_soon=params.flag(request, "due_soon"), source=params.text(request, "source"),
            limit=limit, offset=offset, q=params.text(request, "q"))

    @post("/", summary="Office intake of a case", operation_id="intake_case",
          request_max_body_size=None)
    async def intake(self, request: Request) -> Response:
        p = await _who(request, access.OFFICE)
        req = await _body(request, _intake)
        state = request.app.state
        res = await to_thread.run_sync(cases.intake, state.store, state.settings, p, req)
        return json_response(res, status=201)

    @get("/{case_id:str}", summary="A case with its event timeline", operation_id="get_case")
    async def detail(self, request: Request, case_id: FromPath[str]) -> Response:
        p = await _who(request, access.OFFICE_LEADER)
        state = request.app.state
        return await _run(cases.case_detail, state.store, state.settings, p, case_id)

    @post("/{case_id:str}/events", summary="A transition through the case state machine",
          operation_id="add_case_event", request_max_body_size=None)
    async def event(self, request: Request, case_id: FromPath[str]) -> Response:
        p = await _who(request, access.OFFICE_LEADER)
        req = await _body(request, _event)
        state = request.app.state
        return await _run(cases.add_event, state.store, state.settings, p, case_id, req)


class RegistryController(Controller):
    path = "/api/v1/office/sites"
    tags = ["office"]

    @get("/", summary="The site registry (filters, search, paginated)",
         operation_id="office_list_sites")
    async def list_(self, request: Request) -> Response:
        p = await _who(request, access.OFFICE_LEADER)
        limit, offset = params.page(request)
        return await _run(registry.list_sites, request.app.state.store, p,
                          village=params.text(request, "village"),
                          kind=params.text(request, "kind", tuple(SITE_KINDS)),
                          q=params.text(request, "q"), limit=limit, offset=offset)

    @get("/{site_id:str}/history", summary="A site's registry history",
         operation_id="office_site_history")
    async def history(self, request: Request, site_id: FromPath[str]) -> Response:
        p = await _who(request, access.OFFICE_LEADER)
        return await _run(registry.site_history, request.app.state.store, p, site_id,
                          params.text(request, "field"),
                          bool(params.flag(request, "registry_only")))


class AuditController(Controller):
    path = "/api/v1/office/audit"
    tags = ["office"]

    @get("/", summary="The audit log, newest first", operation_id="office_audit")
    async def list_(self, request: Request) -> Response:
        p = await _who(request, access.AUDIT_READERS)
        limit, offset = params.page(request, default=100)
        return await _run(audit.list_audit, request.app.state.store, p,
                          action=params.text(request, "action", audit.ACTIONS),
                          entity_id=params.text(request, "entity_id"),
                          date_from=params.day(request, "from"),
                          date_to=params.day(request, "to"), limit=limit, offset=offset)


class CalendarController(Controller):
    path = "/api/v1"
    tags = ["admin"]

    @get("/office/calendar", summary="The working-day calendar", operation_id="get_calendar")
    async def get_calendar(self, request: Request) -> Response:
        p = await _who(request, access.AUDIT_READERS)
        return await _run(admin.get_calendar, request.app.state.store, p)

    @put("/admin/calendar", summary="Replace the working-day calendar (admin)",
         operation_id="put_calendar", request_max_body_size=None)
    async def put_calendar(self, request: Request) -> Response:
        p = await _who(request, access.ADMIN)
        data = calendar.decode(await read_body(request, MAX_BODY))
        state = request.app.state
        return await _run(admin.put_calendar, state.store, state.settings, p, data)

    @post("/admin/users", summary="Create a user (admin)", operation_id="admin_create_user",
          request_max_body_size=None)
    async def create_user(self, request: Request) -> Response:
        p = await _who(request, access.ADMIN)
        req = await _body(request, _user)
        state = request.app.state
        res = await to_thread.run_sync(admin.create_user, state.store, state.settings, p, req)
        return json_response(res, status=201)

    @post("/admin/devices/{device_id:str}/revoke", summary="Revoke a device's login (admin)",
          operation_id="admin_revoke_device", request_max_body_size=None)
    async def revoke(self, request: Request, device_id: FromPath[str]) -> Response:
        p = await _who(request, access.ADMIN)
        state = request.app.state
        return await _run(admin.revoke_device, state.store, state.settings, p, device_id)

    @post("/admin/devices/{device_id:str}/enable",
          summary="Let a revoked device log in again (admin)",
          operation_id="admin_enable_device", request_max_body_size=None)
    async def enable_device(self, request: Request, device_id: FromPath[str]) -> Response:
        p = await _who(request, access.ADMIN)
        state = request.app.state
        return await _run(admin.enable_device, state.store, state.settings, p, device_id)


class UserAdminController(Controller):
    """A user's life cycle (admin): disable, enable, a new password, a new role."""

    path = "/api/v1/admin/users/{username:str}"
    tags = ["admin"]

    @post("/disable", summary="Disable a user; every token of theirs is revoked (admin)",
          operation_id="admin_disable_user", request_max_body_size=None)
    async def disable(self, request: Request, username: FromPath[str]) -> Response:
        p = await _who(request, access.ADMIN)
        state = request.app.state
        return await _run(admin.disable_user, state.store, state.settings, p, username)

    @post("/enable", summary="Enable a disabled user (admin)", operation_id="admin_enable_user",
          request_max_body_size=None)
    async def enable(self, request: Request, username: FromPath[str]) -> Response:
        p = await _who(request, access.ADMIN)
        state = request.app.state
        return await _run(admin.enable_user, state.store, state.settings, p, username)

    @post("/password", summary="Set a user's password; their tokens are revoked (admin)",
          operation_id="admin_set_password", request_max_body_size=None)
    async def password(self, request: Request, username: FromPath[str]) -> Response:
        p = await _who(request, access.ADMIN)
        req = await _body(request, _password)
        state = request.app.state
        return await _run(admin.set_password, state.store, state.settings, p, username, req)

    @post("/role", summary="Change a user's role; their devices resync (admin)",
          operation_id="admin_set_role", request_max_body_size=None)
    async def role(self, request: Request, username: FromPath[str]) -> Response:
        p = await _who(request, access.ADMIN)
        req = await _body(request, _role)
        state = request.app.state
        return await _run(admin.set_role, state.store, state.settings, p, username, req)


CONTROLLERS = [InspectionReviewController, ConflictController, CaseController,
               RegistryController, AuditController, CalendarController, UserAdminController]
