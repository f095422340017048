"""Merge keys: the flat names under which a record's fields merge and carry revisions.

Most fields merge whole, under their own name. A *map field* merges per
item: an inspection's ``answers`` is ``{"C01": {...}, "C02": {...}}`` and
merges as ``answers.C01``, ``answers.C02``, so two inspectors answering
different items of the same inspection never conflict. The server (per-field
merge and revisions) and the device (mutation bases, its local view) name
fields by these keys; this module is the one definition of them. Pure.
"""

from __future__ import annotations

from typing import Any

#: Fields merged per item, by entity: ``answers`` of an inspection, per item code.
MAP_FIELDS: dict[str, tuple[str, ...]] = {"inspection": ("answers",)}


def flatten(entity: str, fields: dict[str, Any]) -> dict[str, Any]:
    """``{"answers": {"C01": a}}`` → ``{"answers.C01": a}`` for map fields;
    other fields (and a map field whose value is not an object) unchanged."""
    out: dict[str, Any] = {}
    maps = MAP_FIELDS.get(entity, ())
    for k, v in fields.items():
        if k in maps and isinstance(v, dict):
            for item, value in v.items():
                out[f"{k}.{item}"] = value
        else:
            out[k] = v
    return out


def flat_keys(entity: str, fields: dict[str, Any]) -> list[str]:
    """The merge keys of a field map, in order: ``answers`` → ``answers.<code>``."""
    return list(flatten(entity, fields))


def get_flat(data: dict[str, Any], key: str) -> Any:
    """The value under a merge key: ``answers.C01`` reads ``data["answers"]["C01"]``;
    None when it is missing (or the map field holds no object)."""
    if "." in key:
        top, item = key.split(".", 1)
        items = data.get(top)
        return items.get(item) if isinstance(items, dict) else None
    return data.get(key)


def set_flat(data: dict[str, Any], key: str, value: Any) -> None:
    """Write ``value`` under a merge key, in place (a map field's dict is copied first)."""
    if "." in key:
        top, item = key.split(".", 1)
        data[top] = dict(data.get(top) or {})
        data[top][item] = value
    else:
        data[key] = value
