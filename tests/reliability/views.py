"""What a device holds and what the server would give it, as comparable maps
``(entity, id) -> record`` (tombstones left out on both sides)."""

from __future__ import annotations

from typing import Any

import httpx

from field_app.core import Device
from server.support import pull_changes

ENTITIES = ("site", "inspection", "case", "case_event", "photo")


def server_view(url: str, token: str) -> dict[tuple[str, str], Any]:
    """Every live record the server lets this login pull, from revision 0."""
    with httpx.Client(base_url=url, timeout=30) as c:
        return {(ch["entity"], ch["id"]): ch["data"] for ch in pull_changes(c, token)
                if ch["entity"] in ENTITIES and not ch["deleted"]}


def device_view(dev: Device) -> dict[tuple[str, str], Any]:
    """The device's live records; ``deleted: false`` is the default the wire omits."""
    return {(e, r["id"]): {k: v for k, v in r.items() if (k, v) != ("deleted", False)}
            for e in ENTITIES for r in dev.records(e)}
