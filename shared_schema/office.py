"""Request and response bodies of the office API (docs/office-api.md).

Requests are decoded with these Structs (a wrong type is 400 ``invalid_body``
with its path); responses are encoded from them, and the OpenAPI document
names them (``sync_server/openapi.py``); the office console decodes them too.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

import msgspec

from shared_schema.base import WireStruct
from shared_schema.wire import Documented, Role
from shared_schema.case_sources import CASE_SOURCES, SOURCE_CODES
from shared_schema.entities import Sector
from shared_schema.calendar import Deadlines

ReviewDecision = Literal["approved", "has_issues", "rejected"]
#: Where an office intake came from (受理渠道): the one shared code list
#: (``shared_schema.case_sources``; older phones' codes are read, not taken in).
IntakeSource = Literal[SOURCE_CODES]  # type: ignore[valid-type]
SOURCE_LABELS = {code: zh for code, (zh, _en) in CASE_SOURCES.items()}


class Page(WireStruct, kw_only=True):
    total: int
    limit: int
    offset: int


# --- review -----------------------------------------------------------------------------


class ReviewRequest(WireStruct, kw_only=True, forbid_unknown_fields=True):
    state: ReviewDecision
    comment: str = ""


class InspectionSummary(WireStruct, kw_only=True):
    id: str
    site_id: str | None = None
    site_name: str | None = None
    site_kind: str | None = None
    village_id: str | None = None
    department_id: str | None = None
    inspector_id: str | None = None
    inspector_name: str | None = None
    device_id: str | None = None
    state: str | None = None
    review_state: str | None = None
    review_comment: str | None = None
    started_at: int | None = None
    submitted_at: int | None = None


class InspectionList(WireStruct, kw_only=True):
    items: list[InspectionSummary]
    page: Page


class PhotoInfo(WireStruct, kw_only=True):
    id: str
    sha256: str | None = None
    item_code: str | None = None
    taken_at: int | None = None
    lat: float | None = None
    lon: float | None = None
    caption: str | None = None
    url: str | None = None
    received: bool = False


class Author(WireStruct, kw_only=True):
    user_id: str | None = None
    username: str | None = None
    display_name: str | None = None
    device_id: str | None = None
    device_name: str | None = None


class InspectionDetail(WireStruct, kw_only=True):
    inspection: dict[str, Any]
    site: dict[str, Any] | None = None
    author: Author
    photos: list[PhotoInfo] = []
    headcounts: dict[str, int | None] = {}
    six_systems: dict[str, bool | None] = {}
    previous: dict[str, Any] | None = None  # the site's previous submitted inspection


class RegistryUpdate(WireStruct, kw_only=True):
    updated: bool
    reason: str = ""  # "newer_facts" when an older inspection was approved
    fields: dict[str, Any] = {}


class ReviewResponse(WireStruct, kw_only=True):
    inspection: dict[str, Any]
    registry: RegistryUpdate | None = None


# --- conflicts ---------------------------------------------------------------------------


class ResolveRequest(WireStruct, kw_only=True, forbid_unknown_fields=True):
    choice: Literal["winner", "loser", "custom"]
    value: Any = msgspec.UNSET


class ConflictView(WireStruct, kw_only=True):
    id: str
    entity: str
    entity_id: str
    field: str
    status: str
    base_rev: int | None = None
    base_value: Any = None
    winner_value: Any = None
    winner_hlc: str | None = None
    winner: Author
    loser_value: Any = None
    loser_hlc: str | None = None
    loser: Author
    current_value: Any = None
    created_at: int | None = None
    resolved_by: str | None = None
    resolved_at: int | None = None
    resolution: Any = None
    record_name: str | None = None
    #: Where the record is: its village and site (a site's own address); the
    #: protocol records no position per edit, so this is the place edited.
    village_name: str | None = None
    site_name: str | None = None
    address: str | None = None


class ConflictList(WireStruct, kw_only=True):
    items: list[ConflictView]
    page: Page


# --- cases -------------------------------------------------------------------------------


class CaseIntake(WireStruct, kw_only=True, forbid_unknown_fields=True):
    """An office intake (受理登记) with the fields of the domain reference."""

    source: IntakeSource
    sector: Sector
    title: str | None = None
    employer: str | None = None
    employer_address: str | None = None
    site_id: str | None = None
    village_id: str | None = None
    workers_owed: int | None = None
    amount_owed: float | None = None
    period_from: str | None = None
    period_to: str | None = None
    work_done: str | None = None
    collective_risk: bool | None = None
    complainant_name: str | None = None
    complainant_phone: str | None = None
    complainant_id_number: str | None = None
    received_at: int | None = None  # unix ms the complaint arrived; default now


class CaseEventRequest(WireStruct, kw_only=True, forbid_unknown_fields=True):
    kind: str
    note: str | None = None
    amount_recovered: float | None = None
    workers_paid: int | None = None
    evidence: list[str] = []
    callback_note: str | None = None
    referral_target: str | None = None
    # --- #17 cases --- (shared_schema.cases: 调查, exits, advances, reply)
    investigation_kind: str | None = None
    investigation_outcome: str | None = None
    transfer_to: str | None = None
    advance_source: str | None = None
    amount_advanced: float | None = None
    workers_advanced: int | None = None
    reply_date: str | None = None


class CaseView(WireStruct, kw_only=True):
    case: dict[str, Any]
    deadlines: Deadlines
    allowed_events: list[str] = []
    village_name: str | None = None
    site_name: str | None = None


class CaseList(WireStruct, kw_only=True):
    items: list[CaseView]
    page: Page


class TimelineEvent(WireStruct, kw_only=True):
    id: str
    kind: str | None = None
    label_zh: str = ""
    hlc: str | None = None
    created_at: int | None = None  # the device's time ("reported at")
    author_id: str | None = None
    author_name: str | None = None
    author_role: str | None = None
    device_id: str | None = None
    fields: dict[str, Any] = {}
    received_at: int | None = None  # when the server received it (its clock)
    counted_at: int | None = None  # the time that counts (shared_schema.servertime)


class CaseDetail(WireStruct, kw_only=True):
    case: dict[str, Any]
    deadlines: Deadlines
    allowed_events: list[str] = []
    events: list[TimelineEvent] = []
    photos: list[PhotoInfo] = []
    village_name: str | None = None
    site_name: str | None = None
    # --- #17 cases --- 首问负责: who first received it, by name
    first_receiver_name: str | None = None


# --- registry history and audit ------------------------------------------------------------


class HistoryRow(WireStruct, kw_only=True):
    field: str
    rev: int
    value: Any = None
    hlc: str | None = None
    user_id: str | None = None
    username: str | None = None
    device_id: str | None = None


class SiteHistory(WireStruct, kw_only=True):
    site: dict[str, Any]
    history: list[HistoryRow]


class SiteSummary(WireStruct, kw_only=True):
    site: dict[str, Any]  # the site record, its registry facts included
    village_name: str | None = None
    open_cases: int = 0


class SiteList(WireStruct, kw_only=True):
    items: list[SiteSummary]
    page: Page


class AuditRow(WireStruct, kw_only=True):
    id: str
    at: int
    user_id: str
    username: str
    role: str
    device_id: str
    action: str
    entity: str = ""
    entity_id: str = ""
    details: dict[str, Any] = {}


class AuditList(WireStruct, kw_only=True):
    items: list[AuditRow]
    page: Page


# --- admin ---------------------------------------------------------------------------------


#: A role, checked by the server (400 ``invalid_role``), not by the decoder.
RoleName = Annotated[str, Documented(enum=list(get_args(Role)))]


#: A new password: 8-256 characters (and not a common one, nor the username),
#: checked by the server's policy (400 ``weak_password``), not by the decoder.
NewPassword = Annotated[str, Documented(minLength=8, maxLength=256, pattern=r"^(?!(.)\1*$)")]
#: A new user's name: not empty (400 ``invalid_user``).
UserName = Annotated[str, Documented(minLength=1)]


class CreateUserRequest(WireStruct, kw_only=True, forbid_unknown_fields=True):
    username: UserName
    password: NewPassword
    role: RoleName
    display_name: str | None = None
    village_ids: list[str] = []
    department_ids: list[str] = []


class AdminUser(WireStruct, kw_only=True):
    id: str
    username: str
    display_name: str
    role: str
    village_ids: list[str] = []
    department_ids: list[str] = []
    active: bool = True


class RevokeResponse(WireStruct, kw_only=True):
    device_id: str
    tokens_revoked: int


class PasswordRequest(WireStruct, kw_only=True, forbid_unknown_fields=True):
    password: NewPassword


class RoleRequest(WireStruct, kw_only=True, forbid_unknown_fields=True):
    role: RoleName


class UserChange(WireStruct, kw_only=True):
    """A user after a life-cycle change, and the tokens it revoked."""

    user: AdminUser
    tokens_revoked: int = 0


class DeviceEnabled(WireStruct, kw_only=True):
    device_id: str
    was_revoked: bool


# --- #17 incidents ---------------------------------------------------------------------------


class AlertView(WireStruct, kw_only=True):
    """An alert as an office or leader account sees it (no complainant data)."""

    id: str
    kind: str
    incident_id: str | None = None
    incident_kind: str | None = None
    case_id: str | None = None
    case_title: str | None = None
    case_level: str | None = None
    case_status: str | None = None
    site_id: str | None = None
    village_id: str | None = None
    village_name: str | None = None
    place: str | None = None
    headcount: int | None = None
    occurred_at: int | None = None
    raised_at: int | None = None
    on_scene: str | None = None
    brought_in: list[str] = []
    reporter_name: str | None = None
    #: Whether the caller acknowledged it, and when (server time).
    acknowledged: bool
    acknowledged_at: int | None = None
    #: How many accounts acknowledged it.
    acknowledged_count: int


class AlertList(WireStruct, kw_only=True):
    items: list[AlertView]
    #: The caller's unacknowledged alerts (all of them, not only this page's).
    unacknowledged: int
    page: Page


class AlertAck(WireStruct, kw_only=True):
    alert: AlertView
    #: True when the caller had acknowledged it already (nothing was written).
    already: bool
    unacknowledged: int
# --- #17 warnings -------------------------------------------------------------------------
# The office risk list (农民工工资支付监控预警) and the 复查 (re-inspection) tasks
# (docs/inspections.md, docs/office-api.md "Risk warnings and re-inspections").

RiskLevelName = Literal["none", "medium", "high"]
RiskState = Literal["open", "handled"]
ReinspectionStateName = Literal["open", "closed", "extended"]
#: A date written YYYY-MM-DD.
DueDate = Annotated[str, Documented(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]


class RiskWarningView(WireStruct, kw_only=True):
    id: str
    site_id: str | None = None
    site_name: str | None = None
    village_id: str | None = None
    inspection_id: str | None = None
    inspector_id: str | None = None
    inspector_name: str | None = None
    level: str | None = None
    reasons: list[dict[str, Any]] = []
    raised_at: int | None = None
    state: str | None = None
    handled_by: str | None = None
    handled_at: int | None = None
    handled_note: str | None = None
    case_id: str | None = None


class RiskWarningList(WireStruct, kw_only=True):
    items: list[RiskWarningView]
    page: Page
    open_count: int


class HandleWarningRequest(WireStruct, kw_only=True, forbid_unknown_fields=True):
    note: Annotated[str, Documented(maxLength=5000)] = ""
    case_id: str | None = None


class ReinspectionView(WireStruct, kw_only=True):
    id: str
    site_id: str | None = None
    site_name: str | None = None
    village_id: str | None = None
    inspection_id: str | None = None
    responsible_id: str | None = None
    responsible_name: str | None = None
    items: list[str] = []
    rectification: str | None = None
    due_date: str | None = None
    state: str | None = None
    overdue: bool
    history: list[dict[str, Any]] = []
    closed_by: str | None = None
    closed_at: int | None = None


class ReinspectionList(WireStruct, kw_only=True):
    items: list[ReinspectionView]
    page: Page
    overdue_count: int


class ExtendReinspectionRequest(WireStruct, kw_only=True, forbid_unknown_fields=True):
    due_date: DueDate
    note: Annotated[str, Documented(maxLength=5000)] = ""
# --- #17 cases --- the office's case-routing thresholds (小案件不出村，大案件不出镇)


class CaseRoutingRequest(WireStruct, kw_only=True, forbid_unknown_fields=True):
    workers: int  # at or above: a case that could stay in the village starts at the township
    amount: float  # yuan, the same


class CaseRoutingView(WireStruct, kw_only=True):
    workers: int
    amount: float
    is_default: bool = False  # true: nobody has set them yet (the built-in 10 workers / 100,000 yuan)
    updated_at: int | None = None
    updated_by: str | None = None
