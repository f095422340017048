"""The local view of a record: the server's values with the device's own
unacknowledged edits on top — a pure function of values.

A record row keeps two things: ``server`` (the values and per-field
revisions the server last sent, or None for a record only this device knows)
and the mutations not yet acknowledged (pending in the outbox or held in the
quarantine). The user sees ``view(server, mutations)``. Pulling replaces
``server`` and recomputes the view, so a field with a pending edit keeps the
local value on top, while its revision in ``field_revs`` moves forward for
NEW edits; the pending mutation keeps the base it was made with. See
docs/device-api.md, "Rebase". Merge keys (``answers`` per item) are
``shared_schema.paths``, the same as the server's.
"""

from __future__ import annotations

from typing import Any, Iterable

from shared_schema import cases
from shared_schema.paths import MAP_FIELDS
from shared_schema.wire import Delete, Insert, Mutation, Upsert

def apply_fields(entity: str, data: dict[str, Any], fields: dict[str, Any],
                 skip: Iterable[str] = ()) -> dict[str, Any]:
    """``data`` with ``fields`` written over it (map fields per item), except
    the flat keys in ``skip``."""
    skip = set(skip)
    out = dict(data)
    maps = MAP_FIELDS.get(entity, ())
    for name, value in fields.items():
        if name in maps and isinstance(value, dict):
            merged = dict(out.get(name) or {})
            for code, item in value.items():
                if f"{name}.{code}" not in skip:
                    merged[code] = item
            out[name] = merged
        elif name not in skip:
            out[name] = value
    return out


def view(entity: str, id: str, server: dict[str, Any] | None,
         mutations: Iterable[Mutation]) -> dict[str, Any]:
    """What the user sees: ``server`` with ``mutations`` (in seq order) on top."""
    data: dict[str, Any] = dict(server) if server is not None else {"id": id}
    for m in mutations:
        match m:
            case Delete():
                data["deleted"] = True
            case Upsert() | Insert():
                data = apply_fields(entity, data, m.fields)
                if entity == "case_event":
                    data.setdefault("hlc", m.hlc)  # events fold in HLC order
    data.setdefault("deleted", False)
    return data


def acknowledge(entity: str, server: dict[str, Any] | None, m: Mutation,
                conflicted: Iterable[str] = ()) -> dict[str, Any]:
    """The server values after the server acknowledged ``m``, as far as the
    device can tell before its next pull: the mutation's fields are written,
    except fields the server reported in conflict (the next pull says which
    value won). Field revisions are left alone; the device's own later edit
    of these fields is clean on the server (same device, higher HLC)."""
    data = dict(server) if server is not None else {"id": m.entity_id}
    match m:
        case Delete():
            data["deleted"] = True
        case Upsert() | Insert():
            data = apply_fields(entity, data, m.fields, skip=conflicted)
            if entity == "case_event":
                data.setdefault("hlc", m.hlc)
    data.setdefault("deleted", False)
    return data


def case_view(case: dict[str, Any], events: Iterable[dict[str, Any]],
              role: str) -> dict[str, Any] | None:
    """A case as its local events make it: its view with the derived fields
    (status, level, extended, amounts) folded by the shared case state
    machine (``shared_schema.cases.fold``) over ``events`` in HLC order, each
    by its author's role (``role`` for an event not yet acknowledged). The
    server folds the same events and its answer replaces this on the next
    pull. None when the machine refuses the sequence: the server decides."""
    initial = cases.CaseState(level=case.get("initial_level") or cases.route_level(case))
    ordered = sorted(events, key=lambda e: e.get("hlc") or "")
    try:
        state = cases.fold(initial, [
            (e.get("kind") or "", e.get("author_role") or role, e, e.get("created_at"))
            for e in ordered])
    except cases.CaseRuleError:
        return None
    return {**case, "status": state.status, "level": state.level,
            "extended": state.extended, "amount_recovered": state.amount_recovered,
            "workers_paid": state.workers_paid}
