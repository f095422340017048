"""Whether the working-day calendar reaches a year ahead (the console's warning)."""

from __future__ import annotations

from anyio import to_thread
from litestar import Controller, Response, get

from shared_schema.calendar import CalendarCoverage
from shared_schema.roles import OFFICE_ROLES
from sync_server.dependencies import AppSettings, CurrentPrincipal, Store
from sync_server.domain.calendar import service
from sync_server.guards import role_in
from sync_server.http import json_response


#: Who reads it: the office, leaders and the admin (as the calendar itself). Not
#: ``office.access`` (the office room imports this one).
READERS = frozenset({*OFFICE_ROLES, "admin"})


class CalendarCoverageController(Controller):
    path = "/api/v1/office/calendar/coverage"
    tags = ["office"]
    guards = [role_in(READERS, "read the calendar")]
    security = [{"bearer": []}]

    @get("/", summary="Whether the working-day calendar covers the next year",
         operation_id="calendar_coverage")
    async def coverage(self, principal: CurrentPrincipal, store: Store,
                       settings: AppSettings) -> Response[CalendarCoverage]:
        return json_response(await to_thread.run_sync(service.coverage_now, store,
                                                       settings.now_ms()))
