"""Report endpoints: the monthly summary (JSON), workbook (xlsx) and CSV per sheet."""

from __future__ import annotations

from urllib.parse import quote

from anyio import to_thread
from litestar import Controller, Request, Response, get

from sync_server.domain.office import access, params
from sync_server.domain.reports import service, workbook
from sync_server.http import json_response, principal

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _disposition(filename: str) -> str:
    return f"attachment; filename=\"report.{filename.rsplit('.', 1)[1]}\"; " \
           f"filename*=UTF-8''{quote(filename)}"


class ReportController(Controller):
    path = "/api/v1/reports"
    tags = ["reports"]

    async def _summary(self, request: Request):  # noqa: ANN202
        p = principal(request)
        access.require(p, access.OFFICE_LEADER, "read reports")
        state = request.app.state
        month = params.month(request, state.settings.now_ms())
        return await to_thread.run_sync(service.monthly_summary, state.store, state.settings,
                                        p, month)

    @get("/summary", summary="Monthly figures as JSON", operation_id="report_summary")
    async def summary(self, request: Request) -> Response:
        return json_response(await self._summary(request))

    @get("/monthly.xlsx", summary="Monthly ledger workbook", operation_id="report_workbook")
    async def xlsx(self, request: Request) -> Response:
        summary = await self._summary(request)
        body = await to_thread.run_sync(workbook.workbook_bytes, summary)
        return Response(content=body, media_type=XLSX, headers={
            "Content-Disposition": _disposition(f"根治欠薪月报-{summary.month}.xlsx")})

    @get("/monthly.csv", summary="One sheet of the monthly workbook as CSV",
         operation_id="report_csv")
    async def csv(self, request: Request) -> Response:
        summary = await self._summary(request)
        sheet_key = params.text(request, "sheet", workbook.SHEET_KEYS) or "summary"
        sheet = getattr(summary, sheet_key)
        body = "\ufeff" + workbook.csv_text(sheet)  # BOM: Excel opens it as UTF-8
        return Response(content=body.encode(), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": _disposition(f"{sheet.name}-{summary.month}.csv")})
