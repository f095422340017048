"""``OfficeClient``: the office console's online calls to the server's office
API (docs/office-api.md), with the console's own token (``login``; never the
phone's device store). Requests are the msgspec types of
``shared_schema.office`` and answers are decoded into them
(``msgspec.json.decode(body, type=…)``) where the console reads them as
types: the review queue, an inspection, reviews, conflicts, the case ledger,
a case and its events, the site registry, a site's history and the audit
log; the monthly summary (no Struct in ``shared_schema.office``) is read as a
JSON object. Every failure is
a ``DeviceError`` (``NetworkError`` or ``ServerError`` with the server's error
code and details), so the UI boundary turns it into a snackbar or, for a
form, into errors beside its fields.

Evidence for a case's closure (销号) goes up like a device's photo: tus
(``field_app.core.tus``) to ``/api/v1/uploads``, content-addressed by sha256."""

from __future__ import annotations

from typing import Any, TypeVar

import httpx

import msgspec

from field_app.core.api import ApiClient, error_of
from field_app.core.errors import NetworkError, ServerError
from field_app.core.settings import DeviceSettings
from field_app.core.tus import PhotoRejected, TusUploader
from shared_schema.calendar import CalendarCoverage  # --- #17 documents ---
from shared_schema.office import (
    AlertAck,
    AlertList,
    AuditList,
    CaseDetail,
    CaseEventRequest,
    CaseIntake,
    CaseList,
    ConflictList,
    ConflictView,
    InspectionDetail,
    InspectionList,
    ResolveRequest,
    ReviewRequest,
    ReviewResponse,
    SiteHistory,
    SiteList,
)
from shared_schema.incidents import ALERTS_HEADER  # --- #17 incidents
from shared_schema.office import (  # --- #17 warnings ---
    ExtendReinspectionRequest,
    HandleWarningRequest,
    ReinspectionList,
    ReinspectionView,
    RiskWarningList,
    RiskWarningView,
)
from shared_schema.wire import LoginRequest, LoginResponse, PullResponse

T = TypeVar("T")
JSON = {"Content-Type": "application/json"}

LOGIN = "/api/v1/auth/login"
PULL = "/api/v1/sync/pull"


class OfficeClient:
    def __init__(self, base_url: str, token: str, timeout: float = 20.0,
                 transport: httpx.BaseTransport | None = None,
                 settings: DeviceSettings | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.settings = settings or DeviceSettings()
        self.http = httpx.Client(base_url=self.base_url, timeout=timeout,
                                 headers={"Authorization": f"Bearer {token}"},
                                 transport=transport,
                                 event_hooks={"response": [self._note_alerts]})  # #17

    @staticmethod
    def login(base_url: str, request: LoginRequest, timeout: float = 20.0,
              transport: httpx.BaseTransport | None = None) -> LoginResponse:
        """``POST /api/v1/auth/login``: the console's own token (its own device id)."""
        with httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout,
                          transport=transport) as http:
            try:
                r = http.post(LOGIN, content=msgspec.json.encode(request),
                              headers={"Content-Type": "application/json"})
            except httpx.HTTPError as exc:
                raise NetworkError("network", f"cannot reach the server: {exc}") from None
        if r.status_code >= 400:
            code, message, details = error_of(r)
            raise ServerError(code, message, status=r.status_code, **details)
        return msgspec.json.decode(r.content, type=LoginResponse)

    def logout(self) -> None:
        """``POST /api/v1/auth/logout``: the server revokes this console's token."""
        self._send("POST", "/api/v1/auth/logout")

    def villages(self, limit: int = 1000) -> dict[str, str]:
        """Village id → name: the reference records of the sync pull (the
        console keeps no device mirror), paged to the end."""
        names: dict[str, str] = {}
        since = 0
        while True:
            r = self._send("GET", PULL, params={"since": since, "limit": limit})
            page = msgspec.json.decode(r.content, type=PullResponse)
            for c in page.changes:
                if c.entity == "village":
                    if c.deleted:
                        names.pop(c.id, None)
                    else:
                        names[c.id] = c.data.get("name") or c.id
            if not page.has_more or page.cursor <= since:
                return names
            since = page.cursor

    def close(self) -> None:
        self.http.close()

    # --- plumbing --------------------------------------------------------------------------
    def _send(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            r = self.http.request(method, path, **kw)
        except httpx.HTTPError as exc:
            raise NetworkError("network", f"cannot reach the server: {exc}") from None
        if r.status_code >= 400:
            code, message, details = error_of(r)
            raise ServerError(code, message, status=r.status_code, **details)
        return r

    def _json(self, method: str, path: str, **kw: Any) -> Any:
        return self._send(method, path, **kw).json()

    def _typed(self, type_: type[T], method: str, path: str, body: Any = None,
               **kw: Any) -> T:
        """A call whose answer is decoded into ``type_`` (and whose body, if
        any, is a request Struct encoded by msgspec)."""
        if body is not None:
            kw.update(content=msgspec.json.encode(body), headers=JSON)
        return msgspec.json.decode(self._send(method, path, **kw).content, type=type_)

    @staticmethod
    def _params(filters: dict[str, Any]) -> dict[str, Any]:
        return {k: (str(v).lower() if isinstance(v, bool) else v)
                for k, v in filters.items() if v not in (None, "")}

    # --- review ----------------------------------------------------------------------------
    def inspections(self, **filters: Any) -> InspectionList:
        return self._typed(InspectionList, "GET", "/api/v1/office/inspections",
                           params=self._params(filters))

    def inspection(self, inspection_id: str) -> InspectionDetail:
        return self._typed(InspectionDetail, "GET", f"/api/v1/office/inspections/{inspection_id}")

    def review(self, inspection_id: str, body: ReviewRequest) -> ReviewResponse:
        return self._typed(ReviewResponse, "POST",
                           f"/api/v1/office/inspections/{inspection_id}/review", body)

    def blob(self, sha256: str) -> bytes:
        return self._send("GET", f"/api/v1/blobs/{sha256}").content

    # --- conflicts -------------------------------------------------------------------------
    def conflicts(self, status: str = "open") -> ConflictList:
        return self._typed(ConflictList, "GET", "/api/v1/office/conflicts",
                           params={"status": status})

    def resolve(self, conflict_id: str, body: ResolveRequest) -> ConflictView:
        return self._typed(ConflictView, "POST",
                           f"/api/v1/office/conflicts/{conflict_id}/resolve", body)

    # --- cases -----------------------------------------------------------------------------
    def cases(self, **filters: Any) -> CaseList:
        return self._typed(CaseList, "GET", "/api/v1/cases", params=self._params(
            {"limit": 500, **filters}))

    def case(self, case_id: str) -> CaseDetail:
        return self._typed(CaseDetail, "GET", f"/api/v1/cases/{case_id}")

    def case_event(self, case_id: str, body: CaseEventRequest) -> CaseDetail:
        return self._typed(CaseDetail, "POST", f"/api/v1/cases/{case_id}/events", body)

    def intake(self, body: CaseIntake) -> CaseDetail:
        """``POST /api/v1/cases``: an office intake (hotline, platform, walk-in)."""
        return self._typed(CaseDetail, "POST", "/api/v1/cases", body)

    def upload(self, sha256: str, data: bytes) -> str:
        """Send a file's bytes by tus (the device's client, with its retries);
        the server keeps them as the blob ``sha256``. Returns the sha256."""
        with ApiClient(self.base_url, self.settings, self.token) as api:
            uploader = TusUploader(api, self.settings.upload_chunk_bytes)
            url: list[str | None] = [None]

            def persist(new: str | None) -> None:
                url[0] = new

            try:
                api.with_retries(lambda: uploader.upload(sha256, data, url[0], persist),
                                 "evidence upload")
            except PhotoRejected as exc:
                raise ServerError(exc.code, exc.message, status=exc.status) from None
        return sha256

    # --- registry and audit ----------------------------------------------------------------
    def sites(self, **filters: Any) -> SiteList:
        return self._typed(SiteList, "GET", "/api/v1/office/sites", params=self._params(
            {"limit": 500, **filters}))

    def site_history(self, site_id: str, registry_only: bool = False) -> SiteHistory:
        return self._typed(SiteHistory, "GET", f"/api/v1/office/sites/{site_id}/history",
                           params=self._params({"registry_only": registry_only or None}))

    def audit(self, **filters: Any) -> AuditList:
        return self._typed(AuditList, "GET", "/api/v1/office/audit", params=self._params(filters))

    # --- reports ---------------------------------------------------------------------------
    def summary(self, month: str | None = None) -> dict[str, Any]:
        return self._json("GET", "/api/v1/reports/summary", params=self._params({"month": month}))

    def workbook(self, month: str) -> bytes:
        return self._send("GET", "/api/v1/reports/monthly.xlsx", params={"month": month}).content

    # --- #17 documents ---------------------------------------------------------------------
    def inspection_pdf(self, inspection_id: str, document: str) -> bytes:
        """``record`` (检查记录) or ``rectification`` (限期整改通知书) of an inspection, as PDF."""
        return self._send("GET", f"/api/v1/office/inspections/{inspection_id}/{document}.pdf").content

    def closure_pdf(self, case_id: str) -> bytes:
        """A case's 销号记录, as PDF."""
        return self._send("GET", f"/api/v1/cases/{case_id}/closure.pdf").content

    def calendar_coverage(self) -> CalendarCoverage:
        """Whether the server's working-day calendar reaches a year past today."""
        return self._typed(CalendarCoverage, "GET", "/api/v1/office/calendar/coverage")
    # --- #17 incidents: alerts ---------------------------------------------------------------
    #: The caller's unacknowledged alerts as the last response said
    #: (``X-Unacknowledged-Alerts``); None until a response carried it.
    alert_count: int | None = None

    def _note_alerts(self, r: httpx.Response) -> None:
        value = r.headers.get(ALERTS_HEADER)
        if value is not None and value.isdigit():
            self.alert_count = int(value)

    def alerts(self, unacknowledged: bool = False, limit: int = 200) -> AlertList:
        return self._typed(AlertList, "GET", "/api/v1/office/alerts", params=self._params(
            {"unacknowledged": unacknowledged or None, "limit": limit}))

    def ack_alert(self, alert_id: str) -> AlertAck:
        """``POST /api/v1/office/alerts/{id}/ack``: acknowledged by this login (audited)."""
        return self._typed(AlertAck, "POST", f"/api/v1/office/alerts/{alert_id}/ack")
    # --- #17 warnings: the risk list and 复查 tasks -------------------------------------------
    def risk_warnings(self, **filters: Any) -> RiskWarningList:
        return self._typed(RiskWarningList, "GET", "/api/v1/office/risk-warnings",
                           params=self._params({"limit": 500, **filters}))

    def handle_warning(self, warning_id: str, body: HandleWarningRequest) -> RiskWarningView:
        return self._typed(RiskWarningView, "POST",
                           f"/api/v1/office/risk-warnings/{warning_id}/handle", body)

    def reinspections(self, **filters: Any) -> ReinspectionList:
        return self._typed(ReinspectionList, "GET", "/api/v1/office/reinspections",
                           params=self._params({"limit": 500, **filters}))

    def extend_reinspection(self, task_id: str, body: ExtendReinspectionRequest
                            ) -> ReinspectionView:
        return self._typed(ReinspectionView, "POST",
                           f"/api/v1/office/reinspections/{task_id}/extend", body)
    # --- #17 cases --- the office's case-routing thresholds
    def case_routing(self) -> Any:
        """``GET /api/v1/office/settings/case-routing``."""
        from shared_schema.office import CaseRoutingView

        return self._typed(CaseRoutingView, "GET", "/api/v1/office/settings/case-routing")

    def set_case_routing(self, body: Any) -> Any:
        """``PUT /api/v1/office/settings/case-routing`` (the labour office; audited)."""
        from shared_schema.office import CaseRoutingView

        return self._typed(CaseRoutingView, "PUT", "/api/v1/office/settings/case-routing", body)
