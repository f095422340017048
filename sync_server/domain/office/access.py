"""Who may use the office API: role checks and the audit log.

Field roles (grid officers, sector inspectors) never reach office data: every
office endpoint answers them 403 ``forbidden``. Complainants' personal data
is therefore returned in clear by the office API, which only office and
leader roles can call.
"""

from __future__ import annotations

from typing import Any

from shared_schema.ids import uuid7
from shared_schema.roles import OFFICE_ROLES
from sync_server.domain.principal import Principal
from sync_server.domain.errors import DomainError
from sync_server.store.base import AuditRow, StoreTx

OFFICE = frozenset({"office"})
OFFICE_LEADER = frozenset(OFFICE_ROLES)
AUDIT_READERS = frozenset({"office", "leader", "admin"})
ADMIN = frozenset({"admin"})


def require(p: Principal, roles: frozenset[str], action: str = "use the office console") -> None:
    if p.role not in roles:
        raise DomainError("forbidden", f"a {p.role} may not {action}", role=p.role,
                          allowed_roles=sorted(roles))


def audit(tx: StoreTx, p: Principal, now_ms: int, action: str, entity: str = "",
          entity_id: str = "", **details: Any) -> None:
    tx.add_audit(AuditRow(
        id=uuid7(), at=now_ms, user_id=p.user_id, username=p.username, role=p.role,
        device_id=p.device_id, action=action, entity=entity, entity_id=entity_id,
        details=details))
