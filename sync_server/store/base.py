"""The server store contract: every backend implements ``SyncStore``.

SQLite (the ``sqlite`` package) is the embedded default; a PostgreSQL backend
must pass the same conformance suite (tests/store/conformance.py) before it is
used. Services talk only to this interface: reads on the store, writes on
the ``StoreTx`` of ``store.transaction()``, which commits atomically or not
at all. Rows cross it as the typed rows of ``rows.py``, never as engine tuples.
``sync_server.store.open_store`` picks and builds the backend.

The pull cursor rule (docs/protocol.md, "Cursor"): revisions are handed out
by ``StoreTx.next_rev`` in increasing order, but with several writers a
transaction holding a lower revision may commit after one holding a higher
one. ``SyncStore.stable_rev`` is the highest revision R such that every
transaction that was handed a revision <= R has committed or rolled back:
nothing at or below R can appear later. A pull answers only changes up to
``stable_rev`` (``change_rows_since(..., upto=stable_rev)``) and its cursor
never passes it, so a puller never skips a revision. A single-writer engine
commits a revision before the next is handed out: there it is the committed
``max_rev``.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Callable, Iterable, Protocol, Sequence, TypeVar

#: An office or admin action (``audit_log``): the office API's own row type, one
#: shape from the store to the console.
from shared_schema.office import AuditRow
from sync_server.store.rows import (
    CASE_SEARCH_FIELDS,
    BatchReads,
    ChangeRow,
    ConflictRecord,
    DeviceRow,
    DeviceStats,
    FieldMeta,
    HistoryEntry,
    LedgerEntry,
    LoginFailures,
    PullPage,
    SiteTexts,
    StoredRecord,
    StoreHealth,
    TokenAndUser,
    TokenRow,
    UploadRow,
    UserRow,
    Visibility,
)

__all__ = [
    "AuditRow",
    "BatchReads",
    "CASE_SEARCH_FIELDS",
    "ChangeRow",
    "ConflictRecord",
    "DeviceRow",
    "DeviceStats",
    "FieldMeta",
    "HistoryEntry",
    "LedgerEntry",
    "LoginFailures",
    "PullPage",
    "SiteTexts",
    "StoreHealth",
    "StoreTx",
    "StoredRecord",
    "SyncStore",
    "TokenAndUser",
    "TokenRow",
    "UploadRow",
    "UserRow",
    "Visibility",
]

T = TypeVar("T")


class StoreTx(Protocol):
    """Writes inside one transaction: all of them are committed, or none."""

    def next_rev(self) -> int: ...
    def max_rev(self) -> int: ...
    def get_record(self, entity: str, id: str) -> StoredRecord | None: ...
    def peek_record(self, entity: str, id: str) -> StoredRecord | None:
        """``get_record`` for looking only (a site's scope keys, kind,
        existence): within the transaction the same object may be returned
        again, so the caller must never change it."""
        ...
    def put_record(self, record: StoredRecord) -> None: ...
    def children_of_site(self, site_id: str) -> list[StoredRecord]: ...
    def children_of(self, parent_id: str, entity: str) -> list[StoredRecord]: ...
    def add_history(
        self, entity: str, id: str, field: str, meta: FieldMeta, value: Any
    ) -> None:
        """One field written at ``meta.rev`` (joins that write's history row if any)."""
        ...
    def add_write(self, entity: str, id: str, meta: FieldMeta, values: dict[str, Any]) -> None:
        """The history of one write: every field it set (flat keys, e.g.
        ``answers.C01``) with its value, at ``meta.rev`` by ``meta``'s author."""
        ...
    def add_writes(self, writes: list[tuple[str, str, FieldMeta, dict[str, Any]]]) -> None:
        """``add_write`` for many writes (entity, id, meta, values) at once."""
        ...
    def history_value(self, entity: str, id: str, field: str, rev: int) -> tuple[bool, Any]:
        """(True, value) if the write at ``rev`` set ``field``, else (False, None)."""
        ...
    # set-wise access for a push batch (sync_server/domain/sync/batch.py)
    def read_batch(self, mutation_ids: Sequence[str], keys: Sequence[tuple[str, str]],
                   parent_ids: Sequence[str], device_id: str) -> BatchReads:
        """``get_mutations``, ``get_records``, ``children_of_parents`` and
        ``get_device`` at once (on PostgreSQL one round trip, not four)."""
        ...
    def get_records(self, keys: Iterable[tuple[str, str]]
                    ) -> dict[tuple[str, str], StoredRecord]: ...
    def children_of_parents(self, parent_ids: Iterable[str]) -> list[StoredRecord]: ...
    def get_mutations(self, ids: Iterable[str]) -> dict[str, LedgerEntry]: ...
    def put_records(self, records: list[StoredRecord]) -> None: ...
    def put_mutations(self, entries: list[LedgerEntry]) -> None: ...
    def add_conflicts(self, conflicts: list[ConflictRecord]) -> None: ...
    def advance_rev(self, to: int) -> None:
        """Revisions ``max_rev() + 1 … to`` were handed out by the caller: move the
        counter to ``to``. Raises ``ValueError`` if it is already past ``to``."""
        ...
    def add_tombstone(self, entity: str, id: str, rev: int, at_ms: int, user_id: str) -> None: ...
    def add_conflict(self, conflict: ConflictRecord) -> None: ...
    def get_mutation(self, id: str) -> LedgerEntry | None: ...
    def put_mutation(self, entry: LedgerEntry) -> None: ...
    def savepoint(self) -> AbstractContextManager[None]: ...
    def get_user_by_username(self, username: str) -> UserRow | None: ...
    def put_user(self, user: UserRow) -> None: ...
    def put_token(self, token: TokenRow) -> None: ...
    def revoke_tokens(self, *, device_id: str | None = None, token_hash: str | None = None,
                      at_ms: int, user_id: str | None = None) -> int:
        """Revoke the live tokens of a device, one token, or (``user_id``) every
        token of a user; returns how many were live."""
        ...
    def put_device(self, device: DeviceRow) -> None: ...
    def get_device(self, device_id: str) -> DeviceRow | None: ...
    def put_blob(self, sha256: str, size: int, at_ms: int, device_id: str | None) -> None: ...
    def put_upload(self, upload: UploadRow) -> None: ...
    def delete_upload(self, id: str) -> None: ...
    # bounded uploads and blob rights
    def claim_upload(self, id: str, offset: int, token: str, now_ms: int,
                     stale_before_ms: int) -> bool:
        """Take the upload's lock for one PATCH: only if the upload is at
        ``offset`` and no other lock was taken or renewed at or after
        ``stale_before_ms`` (compare-and-set: one winner among any number of
        processes). False: the offset differs, the upload is gone, or it is busy."""
        ...
    def renew_upload_claim(self, id: str, token: str, now_ms: int) -> bool:
        """Move the lock's time to ``now_ms`` if ``token`` still holds it."""
        ...
    def release_upload(self, id: str, token: str, offset: int, now_ms: int) -> bool:
        """Set the offset (and ``updated_at``) and drop the lock, only if
        ``token`` still holds it; False otherwise (nothing changed)."""
        ...
    def unfinished_uploads(self, *, device_id: str | None = None,
                           user_id: str | None = None) -> tuple[int, int]:
        """As ``SyncStore.unfinished_uploads``, inside the transaction."""
        ...
    def is_blob_holder(self, sha256: str, user_id: str) -> bool: ...
    def photo_creators(self, sha256: str, device_id: str) -> list[str]:
        """The users who created live photo records naming ``sha256`` on
        ``device_id``, sorted."""
        ...
    def add_blob_holder(self, sha256: str, user_id: str, at_ms: int) -> None:
        """``user_id`` sent these bytes and the server verified them (once)."""
        ...
    def touch_blob(self, sha256: str) -> None:
        """The blob is wanted again: its orphan clock (if any) stops."""
        ...
    def sweep_uploads(self, expired_before_ms: int, stale_before_ms: int) -> list[UploadRow]:
        """Delete every upload last active before ``expired_before_ms`` whose
        lock (if any) is stale; returns the deleted rows."""
        ...
    def sweep_orphan_blobs(self, now_ms: int, grace_ms: int) -> list[str]:
        """Blobs no live photo record names: mark those not yet marked as
        orphans since ``now_ms``, unmark the named ones, and delete (rows and
        holders) those orphaned at or before ``now_ms - grace_ms``; returns the
        deleted hashes. A blob a live photo record names is never deleted."""
        ...
    # office
    def get_conflict(self, id: str) -> ConflictRecord | None: ...
    def resolve_conflict(self, id: str, *, status: str, resolved_by: str, resolved_at: int,
                         resolution: Any) -> None: ...
    def add_audit(self, entry: AuditRow) -> None: ...
    def put_calendar(self, data: dict[str, Any], at_ms: int, user_id: str) -> None: ...
    # logins
    def add_login_failure(self, key: str, at_ms: int, forget_before_ms: int) -> int:
        """One more failed login under ``key`` at ``at_ms``; the count starts
        again at 1 when the last failure was before ``forget_before_ms``.
        Returns the count (atomic: concurrent failures all count)."""
        ...
    def clear_login_failures(self, key: str) -> None: ...
    def forget_login_failures(self, before_ms: int) -> int:
        """Drop the keys whose last failure is before ``before_ms``; how many."""
        ...
    def block_device(self, device_id: str, at_ms: int, by: str | None) -> None:
        """The device may not log in again until ``unblock_device`` (an earlier
        block is kept as it was)."""
        ...
    def unblock_device(self, device_id: str) -> bool:
        """Lift a device's block; False when it had none."""
        ...
    def device_blocked(self, device_id: str) -> int | None: ...


class SyncStore(Protocol):
    def migrate(self) -> None: ...
    def close(self) -> None: ...
    def transaction(self) -> AbstractContextManager[StoreTx]: ...
    def write_grouped(self, fn: Callable[[StoreTx], T]) -> T:
        """``fn(tx)`` in a write transaction that concurrent callers may share
        (group commit): ``fn``'s writes are undone alone if it raises (and the
        exception is raised to its caller); they are committed, with the others',
        before this returns."""
        ...
    # reads
    def get_record(self, entity: str, id: str) -> StoredRecord | None: ...
    def change_rows_since(self, since: int, limit: int, visibility: Visibility, *,
                          upto: int) -> list[ChangeRow]:
        """A pull page: up to ``limit`` records the caller may see with
        ``since < rev <= upto`` (``upto``: the ``stable_rev`` the pull read
        first), by revision, deleted ones too, as the pull response sends them."""
        ...
    def pull_page(self, device_id: str, since: int, limit: int,
                  visibility: Visibility) -> PullPage:
        """A pull's reads at once: ``get_device(device_id)``, ``stable_rev()``
        and ``change_rows_since(since, limit, visibility, upto=`` that
        revision ``)`` (on PostgreSQL one round trip, not three)."""
        ...
    def max_rev(self) -> int:
        """The highest revision handed out and committed."""
        ...
    def stable_rev(self) -> int:
        """The highest revision below which no transaction can still commit
        (the cursor rule in this module's docstring); ``<= max_rev()``."""
        ...
    def get_user(self, user_id: str) -> UserRow | None: ...
    def get_user_by_username(self, username: str) -> UserRow | None: ...
    def list_users(self) -> list[UserRow]: ...
    def get_token_and_user(self, token_hash: str) -> TokenAndUser | None:
        """The token and its user in one read (every authenticated request
        makes it); None for an unknown token."""
        ...
    def get_device(self, device_id: str) -> DeviceRow | None: ...
    def list_devices(self, user_id: str | None = None) -> list[DeviceRow]: ...
    def note_pull(self, device_id: str, at_ms: int, scope_version: int | None = None) -> None:
        """A pull by ``device_id`` at ``at_ms`` (from 0: with the scope version it
        now holds). Seen by ``get_device``/``list_devices`` at once; a backend may
        write the pull time later, with its next write transaction, but a
        changed scope version before returning."""
        ...
    def get_mutation(self, id: str) -> LedgerEntry | None: ...
    def device_stats(self, device_id: str) -> DeviceStats: ...
    def photo_hashes_named_by(self, device_id: str) -> list[str]: ...
    def list_conflicts(self, status: str | None = None) -> list[ConflictRecord]: ...
    def count_records(self, entity: str, include_deleted: bool = False) -> int: ...
    def records(self, entity: str) -> Iterable[StoredRecord]: ...
    def children_of(self, parent_id: str, entity: str) -> list[StoredRecord]:
        """Records of ``entity`` whose ``parent_id`` is this one, by revision."""
        ...
    def inspections_page(self, *, state: str | None = None, review_state: str | None = None,
                         village_id: str | None = None, department_id: str | None = None,
                         site_kind: str | None = None, since_ms: int | None = None,
                         until_ms: int | None = None, limit: int = 50, offset: int = 0
                         ) -> tuple[int, list[StoredRecord]]:
        """The office review queue: live inspections matching every filter given
        (``data.state``, ``data.review_state``, scope keys, the kind of the site
        ``data.site_id`` names, ``since_ms <= when < until_ms`` where ``when`` is
        the first set of submitted/started/created time), newest first by
        (submitted or started time, id); returns (how many match, this page)."""
        ...
    def cases_page(self, *, statuses: Iterable[str] | None = None, level: str | None = None,
                   village_id: str | None = None, source: str | None = None,
                   limit: int | None = 50, offset: int = 0, q: str | None = None,
                   q_fields: Sequence[str] = ("title", "employer")
                   ) -> tuple[int, list[StoredRecord]]:
        """The office case ledger: live cases matching every filter given
        (``data.status`` one of ``statuses``, where a case with no status or an
        empty one matches ``""``; ``data.level``, ``data.source``, the
        ``village_id`` scope key; ``q``: a substring of one of ``q_fields``,
        a subset of ``CASE_SEARCH_FIELDS``, ASCII letters matched in any case),
        newest first by (``data.opened_at``, id); ``limit`` None: all of them.
        Returns (how many match, this page)."""
        ...
    def cases_per_site(self, excluding_statuses: Iterable[str],
                       site_ids: Iterable[str] | None = None) -> dict[str, int]:
        """Live cases per ``data.site_id``, leaving out those whose ``data.status``
        is one of ``excluding_statuses`` (a case with no status counts); only
        the sites ``site_ids`` names when given."""
        ...
    def site_texts(self, fields: Sequence[str], *, village_id: str | None = None,
                   kind: str | None = None) -> list[SiteTexts]:
        """The office registry's index: every live site (in ``village_id``, of
        ``data.kind`` ``kind`` when given) with ``data[f] for f in fields``,
        a missing field None, ordered by (``data.name`` or "", id)."""
        ...
    def has_blob(self, sha256: str) -> bool: ...
    def blobs_in(self, hashes: list[str]) -> set[str]: ...
    def blob_visible(self, sha256: str, visibility: Visibility) -> bool:
        """May this caller read the blob? Yes if ``visibility.user_id`` is one of
        its holders (sent the bytes), or if a live photo record the caller may
        see names it and that record's creator is one of its holders. Knowing
        the hash, or naming it in a record of one's own, is not enough."""
        ...
    def is_blob_holder(self, sha256: str, user_id: str) -> bool: ...
    def blob_holders(self, sha256: str) -> list[str]:
        """The users who sent and had verified these bytes, sorted."""
        ...
    def unfinished_uploads(self, *, device_id: str | None = None,
                           user_id: str | None = None) -> tuple[int, int]:
        """(how many, their declared bytes) of the unfinished uploads
        (offset < length) of this device, or of this user."""
        ...
    def pending_migrations(self) -> list[str]:
        """Migrations this code knows and the database has not applied."""
        ...
    def get_upload(self, id: str) -> UploadRow | None: ...
    def health_check(self) -> StoreHealth:
        """The engine's own consistency check of the whole store."""
        ...
    def pool_stats(self) -> dict[str, int]:
        """The database connection pool's counters (psycopg_pool's
        ``get_stats()`` names: ``pool_size``, ``pool_available``,
        ``requests_waiting``, …); an engine without a pool answers ``{}``."""
        ...
    def backup(self, target: Path) -> StoreHealth:
        """A consistent copy of the whole store, taken while it is in use, to
        the new file ``target``; returns the copy's ``health_check``."""
        ...
    # office
    def get_conflict(self, id: str) -> ConflictRecord | None: ...
    def field_history(self, entity: str, id: str) -> list[HistoryEntry]: ...
    def list_audit(self, *, action: str | None = None, entity_id: str | None = None,
                   since: int | None = None, until: int | None = None,
                   limit: int = 100, offset: int = 0) -> list[AuditRow]: ...
    def get_calendar(self) -> dict[str, Any] | None: ...
    # logins
    def login_failures(self, keys: Sequence[str]) -> dict[str, LoginFailures]:
        """The failure counts of those of ``keys`` that have one."""
        ...
    def device_blocked(self, device_id: str) -> int | None:
        """When the device was revoked (unix ms), or None if it may log in."""
        ...
