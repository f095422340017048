"""The checks every user action makes before it writes: pure rules over values.

The same rules the server applies (``shared_schema``: the field table, the
record types, who may write which field), applied at once on the phone so a
refusal is shown when the user acts, not after a sync. The ``Device`` actions
(``recording``, ``attachments``) call these.
"""

from __future__ import annotations

from typing import Any

from field_app.core.errors import DeviceError, InvalidInput
from field_app.core.store import RecordRow
from shared_schema import fields as field_rules
from shared_schema.entities import ENTITY_TYPES, SYSTEM_FIELDS, FieldTypeError, check_fields
from shared_schema.roles import FIELD_ROLES

INSPECTOR_ROLES = FIELD_ROLES
EDITOR_ROLES = (*FIELD_ROLES, "office")
#: A case's derived fields: written by the server from its events, never by a device.
CASE_DERIVED = frozenset({
    "status", "level", "initial_level", "extended", "amount_recovered", "workers_paid",
    "accepted_at", "resolved_at", "closed_at",
})
PHOTO_OWNERS = ("inspection", "case", "site", "case_event", "incident")  # #17: incident


def clean(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


def refuse(r: field_rules.FieldRefusal | None) -> None:
    """Raise the device error for a refusal of the field table (the same code
    the server would reject the mutation with, at once instead of after a sync)."""
    if r is None:
        return
    if r.code == "field_not_writable":
        raise DeviceError(r.code, r.message, **r.info())
    raise InvalidInput(r.code, r.message, **r.info())


def typed(entity: str, fields: dict[str, Any],
           stored: dict[str, Any] | None = None) -> dict[str, Any]:
    """Check a partial field map against the field table (unknown fields,
    lengths, masked personal values: ``shared_schema.fields``) and type-check
    it against the entity's record type. Fields the app stamps itself (id,
    times, deleted) and fields only the server writes are not the caller's."""
    known = ENTITY_TYPES[entity].__struct_fields__
    unknown = sorted(k for k in fields if field_rules.rule_for(entity, k) is None)
    if unknown:
        raise InvalidInput("unknown_field", f"{entity} has no field(s) {', '.join(unknown)}",
                           fields=unknown, path=f"$.fields.{unknown[0]}", field=unknown[0])
    refuse(field_rules.refuse_values(entity, fields, stored))
    theirs = sorted(k for k in fields if k in SYSTEM_FIELDS or k not in known)
    if theirs:
        refuse(field_rules.FieldRefusal(
            "field_not_writable", theirs[0], f"$.fields.{theirs[0]}",
            f"{entity}.{theirs[0]} is set by the app or the server, not by hand",
            {"entity": entity, "fields": theirs}))
    try:
        return check_fields(entity, fields)
    except FieldTypeError as exc:
        raise InvalidInput("invalid_field", str(exc), path=exc.path) from None


def check_owners(user: dict[str, Any], entity: str, fields: dict[str, Any],
            recorder: bool | None) -> None:
    """Who may write these fields (``shared_schema.fields``), as far as the
    device can tell: ``recorder`` ``None`` leaves that to the server."""
    refuse(field_rules.refuse_writer(entity, fields, user.get("role") or "",
                                      recorder=recorder))


def case_recorder(row: RecordRow) -> bool | None:
    """Whether this user recorded the case, as far as the phone knows: a case
    the server has not acknowledged yet was recorded here; one whose
    personal data the server sent masked was not (the server shows it in
    clear to its recorder and the office); otherwise the server decides."""
    if row.server is None:
        return True
    if any(field_rules.is_masked(row.server.get(k)) for k in field_rules.PERSONAL["case"]):
        return False
    return None
