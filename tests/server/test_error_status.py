"""Domain errors carry a code, never an HTTP status: the edge maps codes once."""

from __future__ import annotations

import re
from pathlib import Path

from sync_server.errors import STATUS, status_of

ROOT = Path(__file__).resolve().parents[2] / "sync_server"


def _raised_codes() -> set[str]:
    codes: set[str] = set()
    for path in ROOT.rglob("*.py"):
        codes.update(re.findall(r'DomainError\(\s*"([a-z_]+)"', path.read_text(encoding="utf-8")))
    return codes


def test_every_raised_code_has_its_status() -> None:
    codes = _raised_codes()
    assert {"not_found", "too_large", "forbidden"} <= codes  # the scan finds them
    assert codes - set(STATUS) == set()


def test_statuses_on_the_wire() -> None:
    assert [status_of(c) for c in ("token_invalid", "device_revoked", "not_found",
                                   "illegal_transition", "resync_required", "too_large",
                                   "upload_busy", "checksum_mismatch", "storage_full")] == [
        401, 403, 404, 409, 410, 413, 423, 460, 507]
    assert status_of("unknown_site") == 422  # a rule an office write broke


def test_domain_code_names_no_http_status() -> None:
    for path in (ROOT / "domain").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"DomainError\([^)]*,\s*[1-5]\d\d\b", text), path
