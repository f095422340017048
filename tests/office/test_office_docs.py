"""docs/office-api.md covers every office route, audit action, intake source and
total of the monthly summary."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest

from sync_server.app import create_app
from sync_server.domain.office.audit import ACTIONS
from shared_schema.office import IntakeSource
from sync_server.domain.reports.service import INDICATORS
from sync_server.settings import Settings

DOC = (Path(__file__).resolve().parents[2] / "docs" / "office-api.md").read_text("utf-8")
OFFICE_PREFIXES = ("/api/v1/office", "/api/v1/cases", "/api/v1/admin", "/api/v1/reports")


def test_every_office_route_is_documented(tmp_path: Path) -> None:
    app = create_app(Settings(db_path=tmp_path / "s.db"))
    paths = {re.sub(r":\w+}", "}", r.path) for r in app.routes
             if r.path.startswith(OFFICE_PREFIXES)}
    assert len(paths) >= 15
    for path in sorted(paths):
        assert f"`{path}" in DOC, path


@pytest.mark.parametrize("action", ACTIONS)
def test_audit_action_documented(action: str) -> None:
    assert f"`{action}`" in DOC


@pytest.mark.parametrize("source", typing.get_args(IntakeSource))
def test_intake_source_documented(source: str) -> None:
    assert f"`{source}`" in DOC


@pytest.mark.parametrize("key", [k for k, *_ in INDICATORS])
def test_total_documented(key: str) -> None:
    assert f"`{key}`" in DOC


def test_openapi_names_the_office_bodies(tmp_path: Path) -> None:
    from litestar.testing import TestClient

    with TestClient(create_app(Settings(db_path=tmp_path / "s.db"))) as client:
        doc = client.get("/schema/openapi.json").json()
    schemas = doc["components"]["schemas"]
    for name in ("ReviewRequest", "ReviewResponse", "ResolveRequest", "ConflictView",
                 "CaseIntake", "CaseEventRequest", "CaseDetail", "AuditList",
                 "MonthlySummary", "CalendarData", "InspectionDetail"):
        assert name in schemas, name
    review = doc["paths"]["/api/v1/office/inspections/{inspection_id}/review"]["post"]
    assert review["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ReviewRequest")
    assert review["security"] == [{"bearer": []}]
    assert "403" in review["responses"]
    xlsx = doc["paths"]["/api/v1/reports/monthly.xlsx"]["get"]["responses"]["200"]
    assert "spreadsheetml" in next(iter(xlsx["content"]))
    cases = doc["paths"]["/api/v1/cases"]["get"]
    assert {p["name"] for p in cases["parameters"]} >= {"status", "level", "village", "overdue"}
