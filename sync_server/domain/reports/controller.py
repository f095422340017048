"""Report endpoints: the monthly summary (JSON), workbook (xlsx) and CSV per sheet."""

from __future__ import annotations

from typing import Annotated, Literal

from anyio import to_thread
from litestar import Controller, Response, get
from litestar.params import FromQuery, QueryParameter

from sync_server.domain.office import access, params
from sync_server.domain.reports import service, workbook
from sync_server.domain.reports.schema import MonthlySummary
from sync_server.guards import role_in
from sync_server.dependencies import AppSettings, CurrentPrincipal, Store
from sync_server.http import disposition, json_response

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"
#: ``YYYY-MM``, 1970-9000 (``params.month``); none: the current month.
Month = Annotated[str | None, QueryParameter(
    pattern=r"^(19[7-9][0-9]|[2-8][0-9]{3}|9000)-(0[1-9]|1[0-2])$")]


def _disposition(filename: str) -> str:
    return disposition(filename, f"report.{filename.rsplit('.', 1)[1]}")


async def _summary(principal: CurrentPrincipal, store: Store, settings: AppSettings,
                   month: str | None) -> MonthlySummary:
    return await to_thread.run_sync(service.monthly_summary, store, settings, principal,
                                    params.month(month, settings.now_ms()))


class ReportController(Controller):
    path = "/api/v1/reports"
    tags = ["reports"]
    guards = [role_in(access.OFFICE_LEADER, "read reports")]
    security = [{"bearer": []}]

    @get("/summary", summary="Monthly figures as JSON", operation_id="report_summary")
    async def summary(self, principal: CurrentPrincipal, store: Store, settings: AppSettings,
                      month: Month = None) -> Response[MonthlySummary]:
        return json_response(await _summary(principal, store, settings, month))

    @get("/monthly.xlsx", summary="Monthly ledger workbook", operation_id="report_workbook",
         media_type=XLSX)
    async def xlsx(self, principal: CurrentPrincipal, store: Store, settings: AppSettings,
                   month: Month = None) -> Response[bytes]:
        summary = await _summary(principal, store, settings, month)
        body = await to_thread.run_sync(workbook.workbook_bytes, summary)
        return Response(content=body, media_type=XLSX, headers={
            "Content-Disposition": _disposition(f"根治欠薪月报-{summary.month}.xlsx")})

    @get("/monthly.csv", summary="One sheet of the monthly workbook as CSV",
         operation_id="report_csv", media_type=CSV)
    async def csv(self, principal: CurrentPrincipal, store: Store, settings: AppSettings,
                  month: Month = None,
                  sheet: FromQuery[Literal[workbook.SHEET_KEYS]] = "summary",  # type: ignore[valid-type]
                  ) -> Response[bytes]:
        summary = await _summary(principal, store, settings, month)
        table = getattr(summary, sheet)
        body = "\ufeff" + workbook.csv_text(table)  # BOM: Excel opens it as UTF-8
        return Response(content=body.encode(), media_type=CSV, headers={
            "Content-Disposition": _disposition(f"{table.name}-{summary.month}.csv")})
