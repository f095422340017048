"""What a device holds and what the server would give it, as comparable maps
``(entity, id) -> record`` (tombstones left out on both sides)."""

from __future__ import annotations

from typing import Any

import httpx

from field_app.core import Device

ENTITIES = ("site", "inspection", "case", "case_event", "photo")


def server_view(url: str, token: str) -> dict[tuple[str, str], Any]:
    """Every live record the server lets this login pull, from revision 0."""
    out: dict[tuple[str, str], Any] = {}
    with httpx.Client(base_url=url, timeout=30) as c:
        since = 0
        while True:
            r = c.get("/api/v1/sync/pull", params={"since": since},
                      headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 200, r.text
            page = r.json()
            for ch in page["changes"]:
                if ch["entity"] in ENTITIES and not ch["deleted"]:
                    out[(ch["entity"], ch["id"])] = ch["data"]
            since = page["cursor"]
            if not page["has_more"]:
                return out


def device_view(dev: Device) -> dict[tuple[str, str], Any]:
    """The device's live records; ``deleted: false`` is the default the wire omits."""
    return {(e, r["id"]): {k: v for k, v in r.items() if (k, v) != ("deleted", False)}
            for e in ENTITIES for r in dev.records(e)}
