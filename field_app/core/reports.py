"""What the device reports to its callers, as msgspec Structs (JSON-ready).

These are not wire messages (they never travel to the server), so they live
here rather than in shared_schema.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from shared_schema.wire import Receipt

LoginState = Literal["logged_out", "logged_in", "login_required"]


class SyncProgress(msgspec.Struct, frozen=True, kw_only=True):
    """One progress tick. ``*_total`` is None when not known in advance (pull)."""

    phase: Literal["pull", "push", "upload", "done"]
    records_done: int = 0
    records_total: int | None = None
    bytes_done: int = 0
    bytes_total: int | None = None


class SyncReport(msgspec.Struct, kw_only=True):
    """The outcome of one ``Device.sync()``; ``ok`` when nothing needs attention."""

    pushed: int = 0  # mutations the server acknowledged (applied, merged or duplicate)
    pulled: int = 0  # changes applied from the server
    merged: int = 0  # pushed mutations that met a concurrent edit
    conflicts: int = 0  # fields kept in a server conflict record
    rejected: int = 0  # mutations moved to the quarantine
    photos_uploaded: int = 0
    errors: list[str] = []
    duplicates: int = 0  # acknowledged as already received (a retried batch)
    bytes_uploaded: int = 0
    login_required: bool = False
    resynced: bool = False  # the server asked for a full resync (410) and it was done
    #: one stable code per line of ``errors`` (``network``, ``http_503``, a server
    #: code…), for a screen to say it in the user's language
    error_codes: list[str] = []

    @property
    def ok(self) -> bool:
        return not self.errors and not self.login_required

    def summary(self) -> str:
        parts = [f"pushed {self.pushed}", f"pulled {self.pulled}",
                 f"merged {self.merged} ({self.conflicts} conflicts)",
                 f"rejected {self.rejected}", f"photos {self.photos_uploaded}"]
        if self.resynced:
            parts.append("full resync")
        head = "login required" if self.login_required else (
            "sync incomplete" if self.errors else "synced")
        tail = f" — {self.errors[0]}" if self.errors else ""
        return f"{head}: " + ", ".join(parts) + tail


class DeviceStatus(msgspec.Struct, kw_only=True):
    device_id: str
    data_dir: str
    login_state: LoginState
    username: str | None
    role: str | None
    server_url: str | None
    token_expires_at: int | None
    pending_mutations: int
    pending_photos: int
    quarantined: int
    last_sync_ms: int | None
    last_sync_ok: bool | None
    cursor: int
    clock_offset_ms: int | None
    hlc: str
    login_reason: str | None = None
    last_good_sync_ms: int | None = None  # the last sync that ended without errors


class QuarantineItem(msgspec.Struct, kw_only=True):
    """A permanent failure kept for a person to fix-and-retry or discard."""

    id: str  # mutation id, or "photo:<sha256>"
    kind: Literal["mutation", "photo"]
    code: str
    message: str
    details: dict[str, Any] = {}
    entity: str | None = None
    entity_id: str | None = None
    op: str | None = None
    fields: dict[str, Any] = {}
    seq: int | None = None
    created_at: int = 0


class ReceiptReport(msgspec.Struct, kw_only=True):
    """The server's receipt for this device next to the device's own counts."""

    server: Receipt
    local_acknowledged: int  # mutations the server has answered applied/merged/duplicate
    local_rejected: int
    local_last_seq: int  # highest seq the server has answered
    pending_mutations: int
    quarantined: int
    pending_photos: int
    photos_uploaded: int
    photos_not_on_server: list[str] = []
    safe_to_wipe: bool = False
    problems: list[str] = []
