"""PDF endpoints: an inspection's record and rectification notice, a case's closure record."""

from __future__ import annotations

from typing import Callable

from anyio import to_thread
from litestar import Controller, Response, get
from litestar.params import FromPath

from sync_server.dependencies import AppSettings, Blobs, CurrentPrincipal, Store
from sync_server.domain.documents import closure, inspection_docs, service
from sync_server.domain.office import access
from sync_server.guards import role_in
from sync_server.http import disposition

PDF = "application/pdf"


def _pdf(body: bytes, filename: str) -> Response[bytes]:
    return Response(content=body, media_type=PDF, headers={
        "Content-Disposition": disposition(filename, "document.pdf", inline=True),
        "Cache-Control": "no-store"})


def _inspection_pdf(build: Callable[[service.InspectionFacts], bytes], photos: bool):
    def run(store, blobs, settings, principal, inspection_id: str) -> bytes:
        return build(service.inspection_facts(store, blobs, settings, principal, inspection_id,
                                              with_photos=photos))
    return run


class InspectionDocumentController(Controller):
    path = "/api/v1/office/inspections"
    tags = ["documents"]
    guards = [role_in(access.OFFICE_LEADER, "print office documents")]
    security = [{"bearer": []}]

    @get("/{inspection_id:str}/record.pdf", summary="检查记录 of an inspection (PDF)",
         operation_id="inspection_record_pdf", media_type=PDF)
    async def record(self, principal: CurrentPrincipal, store: Store, blobs: Blobs,
                     settings: AppSettings, inspection_id: FromPath[str]) -> Response[bytes]:
        body = await to_thread.run_sync(_inspection_pdf(inspection_docs.record_pdf, True),
                                        store, blobs, settings, principal, inspection_id)
        return _pdf(body, f"检查记录-{inspection_id}.pdf")

    @get("/{inspection_id:str}/rectification.pdf", summary="限期整改通知书 of an inspection (PDF)",
         operation_id="inspection_rectification_pdf", media_type=PDF)
    async def rectification(self, principal: CurrentPrincipal, store: Store, blobs: Blobs,
                            settings: AppSettings, inspection_id: FromPath[str]) -> Response[bytes]:
        body = await to_thread.run_sync(_inspection_pdf(inspection_docs.rectification_pdf, False),
                                        store, blobs, settings, principal, inspection_id)
        return _pdf(body, f"限期整改通知书-{inspection_id}.pdf")


class CaseDocumentController(Controller):
    path = "/api/v1/cases"
    tags = ["documents"]
    guards = [role_in(access.OFFICE_LEADER, "print office documents")]
    security = [{"bearer": []}]

    @get("/{case_id:str}/closure.pdf", summary="销号记录 of a case (PDF)",
         operation_id="case_closure_pdf", media_type=PDF)
    async def closure(self, principal: CurrentPrincipal, store: Store,
                      case_id: FromPath[str]) -> Response[bytes]:
        body = await to_thread.run_sync(
            lambda: closure.closure_pdf(service.case_facts(store, principal, case_id)))
        return _pdf(body, f"销号记录-{case_id}.pdf")


CONTROLLERS = [InspectionDocumentController, CaseDocumentController]
