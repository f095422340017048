"""The typed rows of the store contract: what crosses ``SyncStore`` and
``StoreTx`` (base.py), in and out, whatever the engine. No engine tuple, no
undecoded JSON except a pull page's (``ChangeRow``), passed on as it is."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec

#: The case fields ``cases_page`` may search with ``q`` (complainant data is
#: personal: the office service decides who may search by it).
CASE_SEARCH_FIELDS = ("title", "employer", "complainant_name")


@dataclass(slots=True)
class FieldMeta:
    """Per-field bookkeeping: the revision, HLC and author of the last write."""

    rev: int
    hlc: str
    user_id: str | None
    device_id: str | None


@dataclass(slots=True)
class StoredRecord:
    entity: str
    id: str
    rev: int
    data: dict[str, Any]
    meta: dict[str, FieldMeta] = field(default_factory=dict)
    deleted: bool = False
    # Scope keys, derived from the record or its parent site/case.
    village_id: str | None = None
    department_id: str | None = None
    site_id: str | None = None
    parent_id: str | None = None
    created_by_user: str | None = None
    created_by_device: str | None = None

    def field_revs(self) -> dict[str, int]:
        return {name: m.rev for name, m in self.meta.items()}


class ChangeRow(msgspec.Struct, frozen=True):
    """One record of a pull page, as the pull response sends it: ``data`` and
    ``field_revs`` (field -> revision) are the record's JSON text, passed on
    undecoded; ``hlc`` is the newest HLC of its fields."""

    entity: str
    id: str
    rev: int
    deleted: bool
    data: msgspec.Raw
    field_revs: msgspec.Raw
    hlc: str | None
    created_by_user: str | None


@dataclass(slots=True, frozen=True)
class SiteTexts:
    """A site of the office registry's index: its id and the asked fields'
    values, in the order asked (a missing field None)."""

    id: str
    texts: tuple[Any, ...]


@dataclass(slots=True, frozen=True)
class StoreHealth:
    """A store's own consistency check: ``ok``, or what is wrong."""

    ok: bool
    problems: tuple[str, ...] = ()


@dataclass(slots=True)
class LedgerEntry:
    """One mutation id the server has seen: the exactly-once ledger."""

    id: str
    device_id: str
    user_id: str
    seq: int
    fingerprint: str
    status: str
    result: dict[str, Any]
    entity: str = ""
    entity_id: str = ""
    received_at: int = 0


@dataclass(slots=True)
class ConflictRecord:
    id: str
    entity: str
    entity_id: str
    field: str
    base_rev: int
    base_value: Any
    winner_value: Any
    winner_hlc: str
    winner_user: str | None
    winner_device: str | None
    loser_value: Any
    loser_hlc: str
    loser_user: str | None
    loser_device: str | None
    mutation_id: str
    created_at: int
    status: str = "open"
    resolved_by: str | None = None
    resolved_at: int | None = None
    resolution: Any = None


@dataclass(slots=True)
class UserRow:
    id: str
    username: str
    display_name: str
    role: str
    password_hash: str
    village_ids: list[str] = field(default_factory=list)
    department_ids: list[str] = field(default_factory=list)
    scope_version: int = 1
    active: bool = True
    created_at: int = 0


@dataclass(slots=True)
class TokenRow:
    token_hash: str
    user_id: str
    device_id: str
    expires_at: int
    created_at: int
    revoked_at: int | None = None


@dataclass(slots=True, frozen=True)
class BatchReads:
    """A push batch's first reads, made together (``StoreTx.read_batch``):
    ledger rows by mutation id, records by key, the children of parents, and
    the device's row."""

    mutations: "dict[str, LedgerEntry]"
    records: "dict[tuple[str, str], StoredRecord]"
    children: "list[StoredRecord]"
    device: "DeviceRow | None"


@dataclass(slots=True, frozen=True)
class PullPage:
    """A pull's reads, made together (``SyncStore.pull_page``): the device's
    row, the stable revision, and the page of changes up to it."""

    device: "DeviceRow | None"
    top: int
    rows: list[ChangeRow]


@dataclass(slots=True, frozen=True)
class TokenAndUser:
    """A login token and its user (None: the user is gone)."""

    token: TokenRow
    user: UserRow | None


@dataclass(slots=True)
class DeviceRow:
    device_id: str
    user_id: str
    name: str = ""
    created_at: int = 0
    last_push_ms: int | None = None
    last_pull_ms: int | None = None
    clock_offset_ms: int | None = None
    skewed: bool = False
    last_hlc: str = ""
    scope_version_seen: int = 0
    #: sha256 (hex) of the device's secret, bound at its first login;
    #: None for a device from before, until its own user's next login.
    secret_hash: str | None = None


@dataclass(slots=True)
class UploadRow:
    id: str
    sha256: str
    length: int
    offset: int
    filename: str
    device_id: str
    user_id: str
    created_at: int
    #: the last time bytes arrived (or the upload was made): it expires
    #: ``upload_expiry_ms`` after this. Left out: ``created_at``.
    updated_at: int = 0

    def __post_init__(self) -> None:
        if not self.updated_at:
            self.updated_at = self.created_at


@dataclass(slots=True)
class Visibility:
    """Which records a caller may see: everything, or by village/department."""

    all: bool
    village_ids: tuple[str, ...] = ()
    department_ids: tuple[str, ...] = ()
    user_id: str | None = None


@dataclass(slots=True)
class DeviceStats:
    mutations_received: int
    last_seq: int
    mutations_applied: int
    mutations_rejected: int


@dataclass(slots=True)
class HistoryEntry:
    """One field of one write (a ``record_history`` row holds all the fields of
    a write): a site's registry history, a conflict's base value."""

    entity: str
    id: str
    field: str
    rev: int
    value: Any
    hlc: str | None
    user_id: str | None
    device_id: str | None


@dataclass(slots=True)
class LoginFailures:
    """Failed logins under one key (``user:<name>`` or ``client:<address>``):
    how many since they were last forgotten, and when the last one was."""

    key: str
    failures: int
    last_failure_at: int
