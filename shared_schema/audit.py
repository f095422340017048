"""The audit log's action words: what the server records (``action`` of an
audit row) and the office console filters and names. One list, so a new
action is named on both sides (docs/office-api.md, "Audit log")."""

from __future__ import annotations

from typing import Literal, get_args

AuditAction = Literal[
    "review", "resolve_conflict", "case_intake", "case_transition", "calendar_update",
    "user_create", "device_revoke", "device_id_taken", "login", "login_failed", "logout",
    "user_disable", "user_enable", "user_password", "user_role", "device_enable",
    # --- #17 incidents ---
    "alert_ack",
    # --- #17 warnings ---
    "risk_handle", "reinspection_extend",
    # --- #17 cases ---
    "case_routing_update",
]
AUDIT_ACTIONS: tuple[str, ...] = get_args(AuditAction)
