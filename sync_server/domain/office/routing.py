"""The office's case-routing thresholds (小案件不出村，大案件不出镇).

What counts as a large case is the office's setting, not a constant: the
``setting`` reference record ``case_routing`` (``{"workers": n, "amount": yuan}``),
which every device pulls so a phone routes a case offline as the server
will (``shared_schema.cases.route``). Anyone in the console reads it; only
the labour office changes it, audited (``case_routing_update``), in the
transaction that writes it. A change routes new cases only: a case keeps
the level it started at.
"""

from __future__ import annotations

from litestar import Response, get, put
from litestar.params import JSONBody

from shared_schema import cases as case_rules
from shared_schema.merge import Author
from shared_schema.office import CaseRoutingRequest, CaseRoutingView
from sync_server.dependencies import AppSettings, CurrentPrincipal, Store
from sync_server.domain.errors import DomainError
from sync_server.domain.office import access
from sync_server.domain.office.controller import OFFICE, OFFICE_LEADER, _Office, _run
from sync_server.domain.principal import Principal
from sync_server.domain.registry.service import ServerWriter
from sync_server.settings import Settings
from sync_server.store.base import SyncStore

SETTING = "setting"


def get_routing(store: SyncStore, p: Principal) -> CaseRoutingView:
    access.require(p, access.OFFICE_LEADER)
    rec = store.get_record(SETTING, case_rules.ROUTING_SETTING_ID)
    body = rec.data.get("body") if rec is not None and not rec.deleted else None
    t = case_rules.thresholds_from(body)
    by = rec.data.get("updated_by") if rec is not None else None
    return CaseRoutingView(workers=t.workers, amount=t.amount, is_default=not body,
                           updated_at=rec.data.get("updated_at") if body and rec else None,
                           updated_by=by if body else None)


def put_routing(store: SyncStore, settings: Settings, p: Principal,
                req: CaseRoutingRequest) -> CaseRoutingView:
    access.require(p, access.OFFICE, "change the case-routing thresholds")
    try:
        t = case_rules.check_thresholds({"workers": req.workers, "amount": req.amount})
    except case_rules.CaseRuleError as exc:
        raise DomainError(exc.code, exc.message, **exc.details) from None
    now = settings.now_ms()
    with store.transaction() as tx:
        stored = tx.get_record(SETTING, case_rules.ROUTING_SETTING_ID)
        before = case_rules.thresholds_from(stored.data.get("body") if stored else None)
        ServerWriter(tx, now, Author(p.user_id, p.device_id)).upsert(
            SETTING, case_rules.ROUTING_SETTING_ID,
            {"body": {"workers": t.workers, "amount": t.amount, "updated_by": p.username}})
        access.audit(tx, p, now, "case_routing_update", SETTING, case_rules.ROUTING_SETTING_ID,
                     from_workers=before.workers, from_amount=before.amount,
                     to_workers=t.workers, to_amount=t.amount)
    view = get_routing(store, p)
    return CaseRoutingView(workers=view.workers, amount=view.amount, is_default=False,
                           updated_at=view.updated_at, updated_by=p.username)


class CaseRoutingController(_Office):
    path = "/api/v1/office/settings/case-routing"
    tags = ["office"]

    @get("/", summary="The case-routing thresholds (小案件不出村，大案件不出镇)",
         operation_id="get_case_routing", guards=OFFICE_LEADER)
    async def get_(self, principal: CurrentPrincipal, store: Store) -> Response[CaseRoutingView]:
        return await _run(get_routing, store, principal)

    @put("/", summary="Change the case-routing thresholds (labour office, audited)",
         operation_id="put_case_routing", guards=OFFICE)
    async def put_(self, principal: CurrentPrincipal, store: Store, settings: AppSettings,
                   data: JSONBody[CaseRoutingRequest]) -> Response[CaseRoutingView]:
        return await _run(put_routing, store, settings, principal, data)
