"""Office API of the risk list and the 复查 tasks: thin, the rules are in ``service.py``."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller, Response, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from shared_schema.office import (
    ExtendReinspectionRequest,
    HandleWarningRequest,
    ReinspectionList,
    ReinspectionView,
    RiskWarningList,
    RiskWarningView,
)
from sync_server.dependencies import AppSettings, CurrentPrincipal, Store
from sync_server.domain.office.controller import OFFICE, OFFICE_LEADER, Limit, Offset, _run
from sync_server.domain.risk import service

#: ``state`` names Litestar's own request state: the parameter is ``state`` on the wire only.
WarningState = Annotated[Literal["open", "handled"] | None, QueryParameter(name="state")]
TaskState = Annotated[Literal["open", "closed", "extended"] | None, QueryParameter(name="state")]


class RiskController(Controller):
    path = "/api/v1/office"
    tags = ["office"]
    security = [{"bearer": []}]
    request_max_body_size = None  # bodies are read under their own limit (``body.py``)

    @get("/risk-warnings", summary="The risk list (农民工工资支付监控预警; filters, paginated)",
         operation_id="office_list_risk_warnings", guards=OFFICE_LEADER)
    async def warnings(self, principal: CurrentPrincipal, store: Store,
                       warning_state: WarningState = None,
                       village: FromQuery[str | None] = None,
                       level: FromQuery[Literal["medium", "high"] | None] = None,
                       limit: Limit = 50, offset: Offset = 0) -> Response[RiskWarningList]:
        return await _run(service.list_warnings, store, principal, state=warning_state,
                          village=village or None, level=level, limit=limit, offset=offset)

    @post("/risk-warnings/{warning_id:str}/handle", summary="Mark a risk warning handled",
          operation_id="office_handle_risk_warning", guards=OFFICE, status_code=200)
    async def handle(self, principal: CurrentPrincipal, store: Store, settings: AppSettings,
                     warning_id: FromPath[str],
                     data: JSONBody[HandleWarningRequest]) -> Response[RiskWarningView]:
        return await _run(service.handle_warning, store, settings, principal, warning_id, data)

    @get("/reinspections", summary="复查 tasks (filters, overdue by server time, paginated)",
         operation_id="office_list_reinspections", guards=OFFICE_LEADER)
    async def reinspections(self, principal: CurrentPrincipal, store: Store, settings: AppSettings,
                            task_state: TaskState = None, village: FromQuery[str | None] = None,
                            overdue: FromQuery[bool | None] = None, limit: Limit = 50,
                            offset: Offset = 0) -> Response[ReinspectionList]:
        return await _run(service.list_reinspections, store, settings, principal,
                          state=task_state, village=village or None, overdue=overdue,
                          limit=limit, offset=offset)

    @post("/reinspections/{task_id:str}/extend", summary="A new due date for a 复查 task",
          operation_id="office_extend_reinspection", guards=OFFICE, status_code=200)
    async def extend(self, principal: CurrentPrincipal, store: Store, settings: AppSettings,
                     task_id: FromPath[str],
                     data: JSONBody[ExtendReinspectionRequest]) -> Response[ReinspectionView]:
        return await _run(service.extend_reinspection, store, settings, principal, task_id, data)
