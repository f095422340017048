"""``Device``: the one facade the UI, the CLI and the tests drive.

One data folder is one device. Every user action checks its input against
the same pure rules the server uses (shared_schema: field types, checklist
templates, the case state machine), then writes its record rows and its
outbox mutation in ONE local transaction. Nothing here needs the network
except ``login``, ``sync``, ``pull`` and ``receipt``.
"""

from __future__ import annotations

import secrets
import threading
from pathlib import Path
from typing import Any, Callable

from field_app.core.attachments import Attachments
from field_app.core.checks import CASE_DERIVED
from field_app.core.errors import DeviceError, NotFound
from field_app.core.outbox import DeviceClock, Outbox
from field_app.core.rebase import view
from field_app.core.recording import Recording
from field_app.core.reports import QuarantineItem, SyncProgress, SyncReport
from field_app.core.session import Session
from field_app.core.settings import DeviceSettings
from field_app.core.store import LocalStore, Tx
from field_app.core.sync import SyncClient
from shared_schema.ids import uuid7


class Device(Session, Recording, Attachments):
    """An inspector's phone (or a test's tmp folder): see docs/device-api.md.

    Its parts: ``Session`` (login, status, receipt), ``Recording`` (sites,
    inspections, cases), ``Attachments`` (photos); here the opening, the reads
    of the local mirror, the sync, the quarantine and the self-check."""

    def __init__(self, store: LocalStore, settings: DeviceSettings, device_id: str,
                 clock: DeviceClock) -> None:
        self.store = store
        self.settings = settings
        self.device_id = device_id
        self.clock = clock
        self.outbox = Outbox(clock, settings.now_ms)
        self.photos_dir = store.data_dir / "photos"
        self._sync_lock = threading.Lock()

    # opening ------------------------------------------------------------------------
    @classmethod
    def open(cls, data_dir: str | Path, settings: DeviceSettings | None = None) -> "Device":
        """Create or reopen the device whose data lives in ``data_dir``."""
        settings = settings or DeviceSettings()
        store = LocalStore(data_dir, settings.now_ms)
        store.migrate()
        with store.write() as tx:
            device_id = tx.get("device_id")
            if not device_id:  # generated once, for the life of this data folder
                device_id = uuid7(settings.now_ms)
                tx.set("device_id", device_id)
                tx.set("created_at", settings.now_ms())
            if not tx.get("device_secret"):
                # What proves the device id to the server (every login sends
                # it; the server keeps its hash). Made with the id, or on the
                # first open by an app from before secrets. Never shown, never
                # logged; a new data folder (a wiped app) makes a new pair.
                tx.set("device_secret", secrets.token_urlsafe(32))
            hlc = tx.get("hlc")
        return cls(store, settings, device_id, DeviceClock(device_id, settings.now_ms, hlc))

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> "Device":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def data_dir(self) -> Path:
        return self.store.data_dir

    # login ---------------------------------------------------------------------------
    # reading the local mirror -----------------------------------------------------------
    def get(self, entity: str, id: str) -> dict[str, Any] | None:
        """The record as the user sees it (server values + local edits), or None."""
        with self.store.read() as tx:
            row = tx.row(entity, id)
        return row.data if row else None

    def sites(self, query: str | None = None, village_id: str | None = None,
              kind: str | None = None) -> list[dict[str, Any]]:
        """Sites of the local registry mirror (what the server shows this user,
        plus sites created here), filtered; ordered by name."""
        with self.store.read() as tx:
            rows = tx.search_sites(query, village_id, kind)
        return [r.data for r in rows]

    def records(self, entity: str, **equal: Any) -> list[dict[str, Any]]:
        """Records of one entity whose fields equal the given values."""
        with self.store.read() as tx:
            return [r.data for r in tx.rows_with(entity, **equal)]

    def villages(self) -> list[dict[str, Any]]:
        return self.records("village")

    def inspections(self, site_id: str | None = None) -> list[dict[str, Any]]:
        return self.records("inspection", **({"site_id": site_id} if site_id else {}))

    def cases(self, site_id: str | None = None) -> list[dict[str, Any]]:
        return self.records("case", **({"site_id": site_id} if site_id else {}))

    def photos(self, owner_id: str) -> list[dict[str, Any]]:
        return self.records("photo", owner_id=owner_id)


    # what waits to be sent ------------------------------------------------------------------
    def waiting_by_record(self) -> dict[tuple[str, str], int]:
        """Changes not yet acknowledged (outbox and open quarantine) per (entity, id)."""
        with self.store.read() as tx:
            return tx.waiting_by_record()

    def in_outbox(self, entity: str, id: str) -> bool:
        """Whether a change of this record still waits in the outbox."""
        with self.store.read() as tx:
            return tx.in_outbox(entity, id)

    def outbox_records(self) -> dict[str, int]:
        """Records with a change in the outbox, counted per entity."""
        with self.store.read() as tx:
            return tx.outbox_records()

    def replaced_edits(self, entity: str, id: str) -> list[dict[str, Any]]:
        """This device's edits of a record that the server replaced in a
        conflict, as noted when the push was answered (newest last): entity,
        entity_id, field, mine (what was sent), conflict_id, at."""
        with self.store.read() as tx:
            return [r for r in (tx.get("replaced_edits") or [])
                    if r.get("entity") == entity and r.get("entity_id") == id]

    # sync --------------------------------------------------------------------------------
    def _client(self) -> SyncClient:
        return SyncClient(self.store, self.outbox, self.clock, self.settings, self.device_id)

    def sync(self, progress: Callable[[SyncProgress], None] | None = None) -> SyncReport:
        """Pull, push the outbox, upload photos, pull again. Never raises for
        network or server trouble: the report says what happened."""
        if not self._sync_lock.acquire(blocking=False):
            raise DeviceError("sync_in_progress", "a sync is already running")
        try:
            return self._client().run(progress)
        finally:
            self._sync_lock.release()

    def pull(self, progress: Callable[[SyncProgress], None] | None = None) -> SyncReport:
        """Only pull (and rebase): nothing leaves the device."""
        if not self._sync_lock.acquire(blocking=False):
            raise DeviceError("sync_in_progress", "a sync is already running")
        try:
            return self._client().run(progress, push=False)
        finally:
            self._sync_lock.release()


    # quarantine ----------------------------------------------------------------------------
    def quarantine(self) -> list[QuarantineItem]:
        """What the server refused for good, with its code and message."""
        with self.store.read() as tx:
            rows = tx.quarantine("open")
        return [QuarantineItem(
            id=q.id, kind=q.kind, code=q.code, message=q.message, details=q.details,
            entity=q.entity, entity_id=q.entity_id, op=q.op, seq=q.seq, created_at=q.created_at,
            fields=dict(q.mutation.fields) if q.mutation else {}) for q in rows]

    def _qid(self, tx: Tx, item_id: str) -> str:
        ids = [q.id for q in tx.quarantine("open")]
        if item_id in ids:
            return item_id
        found = [i for i in ids if i.startswith(item_id) or i.startswith(f"photo:{item_id}")]
        if len(found) == 1 and len(item_id) >= 4:
            return found[0]
        raise NotFound("not_in_quarantine", f"nothing open in the quarantine matches {item_id}")

    def retry_quarantined(self, item_id: str, **changes: Any) -> str:
        """Fix-and-retry: queue the item again (a new mutation) with ``changes``
        written over its fields. Returns the new mutation id."""
        with self.store.write() as tx:
            return self.outbox.retry(tx, self._qid(tx, item_id), changes)

    def discard_quarantined(self, item_id: str, confirm: bool = False) -> None:
        """Drop a quarantined item for good; ``confirm=True`` says the user agreed."""
        if not confirm:
            raise DeviceError("confirmation_required",
                              "discarding loses this change for good: confirm to go on")
        with self.store.write() as tx:
            self.outbox.discard(tx, self._qid(tx, item_id))

    # receipt -------------------------------------------------------------------------------
    # self-check ------------------------------------------------------------------------------
    def check(self) -> list[str]:
        """Consistency of the local store (empty list: consistent): every view
        equals its server values with its waiting mutations on top, every
        waiting mutation has its record, every local-only record has one, and
        every waiting photo record has its file in the photo queue."""
        problems: list[str] = []
        with self.store.read() as tx:
            integrity = tx.integrity()
            if integrity != "ok":
                problems.append(f"integrity_check: {integrity}")
            for row in tx.all_rows():
                muts = tx.overlays(row.entity, row.id)
                if row.server is None and not muts:
                    problems.append(f"{row.entity} {row.id}: local record without a mutation")
                expected = view(row.entity, row.id, row.server, muts)
                got = row.data
                if row.entity == "case":  # locally derived status is shown on top
                    got = {k: v for k, v in got.items() if k not in CASE_DERIVED}
                    expected = {k: v for k, v in expected.items() if k not in CASE_DERIVED}
                if got != expected:
                    problems.append(f"{row.entity} {row.id}: view differs from server + outbox")
            for entry in tx.outbox():
                m = entry.mutation
                if tx.row(m.entity, m.entity_id) is None:
                    problems.append(f"mutation {m.id} ({m.entity} {m.entity_id}) has no record")
            queued = {p.sha256: p for p in tx.photos()}
            for entry in tx.outbox():
                m = entry.mutation
                if m.entity == "photo":
                    sha = m.fields.get("sha256") or ""
                    photo = queued.get(sha)
                    if photo is None:
                        problems.append(f"photo {m.entity_id}: {sha} is not in the photo queue")
                    elif not Path(photo.path).exists():
                        problems.append(f"photo {m.entity_id}: the file {photo.path} is missing")
            seqs = [e.seq for e in tx.outbox()]
            if seqs != sorted(set(seqs)) or (seqs and seqs[-1] > int(tx.get("next_seq", 0))):
                problems.append("outbox seq numbers are out of order")
        return problems
