"""The sync client: pull, push, photo upload, pull — over the ApiClient.

One ``SyncClient.run`` is one sync:

1. **pull** every page since the cursor and rebase (``_apply_change``): the
   server values replace the record's ``server`` part, the per-field
   revisions move forward, and the view is recomputed with the unacknowledged
   local edits on top. The device's HLC moves past every ``Change.hlc``.
   A 410 ``resync_required`` starts a full resync: a new generation, pull
   from 0, then drop rows the server no longer shows unless they have local
   edits waiting. The outbox is not touched.
2. **push** the outbox in seq order, ``batch_size`` at a time. Each answer
   is applied in one local transaction: acknowledged mutations leave the
   outbox, rejected ones go to the quarantine. A batch the server refuses as
   too large or malformed is split until the bad mutation stands alone and
   is quarantined; the rest goes on.
3. **upload** queued photos with tus, resuming from the server's offset.
4. **pull** again when something was pushed, to read what the server made
   of it (merge results, derived case status).

Retryable failures back off inside ``ApiClient``; when they run out the sync
stops with an error and everything stays queued. A 401 stops the sync and
marks the device "login required"; nothing queued is touched.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from pathlib import Path
from typing import Callable

import httpx
import msgspec

from field_app.core import rebase
from field_app.core.api import ApiClient, Retryable, error_of, expect_ok
from field_app.core.errors import DeviceError, LoginRequired, NetworkError, ServerError
from field_app.core.outbox import DeviceClock, Outbox
from field_app.core.reports import SyncProgress, SyncReport
from field_app.core.settings import DeviceSettings
from field_app.core.store import LocalStore, OutboxEntry, RecordRow, Tx
from field_app.core.tus import PhotoRejected, TusUploader
from shared_schema.wire import (
    Change,
    PushRequest,
    encoder,
    pull_response_decoder,
    push_response_decoder,
)

Progress = Callable[[SyncProgress], None]
PUSH = "/api/v1/sync/push"
PULL = "/api/v1/sync/pull"
SPLIT_CODES = frozenset({"too_large", "too_many_mutations", "invalid_body", "malformed_json"})
#: Push bodies of at least this size are gzipped when the server takes gzip.
GZIP_MIN_BYTES = 1024
#: Level 6: mobile upload is the scarce resource; ~8x smaller JSON for ~0.05 ms a mutation.
GZIP_PUSH_LEVEL = 6


def _noop(_: SyncProgress) -> None:
    pass


class _Prefetch:
    """One request run in a background thread; ``result`` waits for it and
    returns its response or raises its exception, as if it were made then."""

    def __init__(self, fn: Callable[[int], httpx.Response], arg: int) -> None:
        self._out: httpx.Response | None = None
        self._exc: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(fn, arg), daemon=True,
                                        name="pull-prefetch")
        self._thread.start()

    def _run(self, fn: Callable[[int], httpx.Response], arg: int) -> None:
        try:
            self._out = fn(arg)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller by result()
            self._exc = exc

    def result(self) -> httpx.Response:
        self._thread.join()
        if self._exc is not None:
            raise self._exc
        assert self._out is not None
        return self._out

    def discard(self) -> None:
        self._thread.join()


class SyncClient:
    def __init__(self, store: LocalStore, outbox: Outbox, clock: DeviceClock,
                 settings: DeviceSettings, device_id: str) -> None:
        self.store = store
        self.outbox = outbox
        self.clock = clock
        self.settings = settings
        self.device_id = device_id

    # the whole sync -------------------------------------------------------------------
    def run(self, progress: Progress | None = None, push: bool = True) -> SyncReport:
        progress = progress or _noop
        report = SyncReport()
        with self.store.read() as tx:
            url, token = tx.get("server_url"), tx.get("token")
        if not url or not token:
            report.login_required = True
            report.errors.append("login required: this device has not logged in yet")
            return report
        api = ApiClient(url, self.settings, token)
        phases: list[Callable[[], None]] = [lambda: self.pull(api, report, progress)]
        if push:
            phases += [
                lambda: self.push(api, report, progress),
                lambda: self.upload_photos(api, report, progress),
                lambda: (self.pull(api, report, progress)
                         if report.pushed or report.rejected else None),
            ]
        try:
            for phase in phases:
                try:
                    phase()
                except ServerError as exc:  # refused as a whole: note it, go on
                    report.errors.append(exc.message)
        except LoginRequired as exc:
            report.login_required = True
            report.errors.append(f"login required ({exc.code}): {exc.message}")
            with self.store.write() as tx:
                tx.set("login_required", True)
                tx.set("login_reason", exc.code)
        except DeviceError as exc:  # the network is gone: stop, everything stays queued
            report.errors.append(exc.message)
        finally:
            api.close()
            with self.store.write() as tx:
                tx.set("last_sync_ms", self.settings.now_ms())
                tx.set("last_sync_ok", report.ok)
                tx.set("last_sync_report", msgspec.to_builtins(report))
            progress(SyncProgress(phase="done", records_done=report.pushed + report.pulled,
                                  bytes_done=report.bytes_uploaded))
        return report

    def _offset(self, tx: Tx, server_time_ms: int) -> None:
        if server_time_ms:
            tx.set("clock_offset_ms", server_time_ms - self.settings.now_ms())

    # pull -----------------------------------------------------------------------------
    def pull(self, api: ApiClient, report: SyncReport, progress: Progress) -> None:
        with self.store.read() as tx:
            cursor = int(tx.get("cursor", 0))
        restarts = 0

        def fetch(since: int) -> httpx.Response:
            return api.call("GET", PULL, "pull",
                            params={"since": since, "limit": self.settings.pull_limit})

        ahead: _Prefetch | None = None
        while True:
            r = ahead.result() if ahead is not None else fetch(cursor)
            ahead = None
            if r.status_code == 410:
                restarts += 1
                if restarts > 3:
                    raise ServerError("resync_required", "the server keeps asking for a resync",
                                      410)
                with self.store.write() as tx:
                    tx.set("gen", int(tx.get("gen", 0)) + 1)
                    tx.set("resync", True)
                    tx.set("cursor", 0)
                cursor = 0
                report.resynced = True
                continue
            expect_ok(r, "pull")
            page = pull_response_decoder.decode(r.content)
            if page.has_more:
                # Ask for the next page now: the server reads and encodes it
                # while this page is written locally (two cores, not one).
                ahead = _Prefetch(fetch, page.cursor)
            try:
                with self.store.write() as tx:
                    gen = int(tx.get("gen", 0))
                    self._apply_page(tx, page.changes, gen)
                    tx.set("cursor", page.cursor)
                    self._offset(tx, page.server_time_ms)
                    if not page.has_more and tx.get("resync", False):
                        self._drop_unseen(tx, gen)
                        tx.set("resync", False)
            except BaseException:
                if ahead is not None:
                    ahead.discard()
                raise
            cursor = page.cursor
            report.pulled += len(page.changes)
            progress(SyncProgress(phase="pull", records_done=report.pulled,
                                  bytes_done=len(r.content)))
            if not page.has_more:
                return

    def _apply_page(self, tx: Tx, changes: list[Change], gen: int) -> None:
        """``_apply_change`` for every change of a page, in order. A record with
        no local edits waiting (the common case) gets its view straight from
        the server values (``rebase.view`` with no overlays), written in one
        batched statement instead of read-write-read-write per record; the
        others go through ``_apply_change``. A case (or case event) also needs
        that path when the case or any of its events has edits waiting: then
        ``Tx.derive_case`` shows the locally folded status."""
        pending = tx.overlay_keys()
        busy_cases = {i for e, i in pending if e == "case"} | tx.case_ids_of_events(
            [i for e, i in pending if e == "case_event"])
        batch: list[RecordRow] = []
        for c in changes:
            if ((c.entity, c.id) in pending
                    or (c.entity == "case" and c.id in busy_cases)
                    or (c.entity == "case_event" and c.data.get("case_id") in busy_cases)):
                if batch:
                    tx.put_rows(batch)
                    batch = []
                self._apply_change(tx, c, gen)
                continue
            server = {**c.data, "deleted": c.deleted}
            data = rebase.view(c.entity, c.id, server, ())
            batch.append(RecordRow(entity=c.entity, id=c.id, data=data, server=server,
                                   field_revs=dict(c.field_revs), server_rev=c.rev,
                                   server_hlc=c.hlc, deleted=bool(data.get("deleted")),
                                   seen_gen=gen))
            self.clock.receive(tx, c.hlc)
        if batch:
            tx.put_rows(batch)

    def _apply_change(self, tx: Tx, c: Change, gen: int) -> None:
        row = tx.row(c.entity, c.id) or RecordRow(entity=c.entity, id=c.id, data={})
        row.server = {**c.data, "deleted": c.deleted}
        row.field_revs = dict(c.field_revs)
        row.server_rev = c.rev
        row.server_hlc = c.hlc
        row.seen_gen = gen
        tx.put_row(row)
        tx.refresh(c.entity, c.id)
        self.clock.receive(tx, c.hlc)

    def _drop_unseen(self, tx: Tx, gen: int) -> None:
        """After a full resync: forget what the server no longer shows us,
        except records with local edits still waiting (they stay, and the
        server will answer their mutations)."""
        stale = tx.q("SELECT entity, id FROM records WHERE seen_gen < ? AND server IS NOT NULL",
                     (gen,)).fetchall()
        for entity, id in stale:
            if not tx.has_overlays(entity, id):
                tx.delete_row(entity, id)

    # push -----------------------------------------------------------------------------
    def push(self, api: ApiClient, report: SyncReport, progress: Progress) -> None:
        with self.store.read() as tx:
            total = tx.count("outbox")
            last = tx.q("SELECT max(seq) FROM outbox").fetchone()[0]
        if not total:
            return
        done = 0
        while True:
            with self.store.read() as tx:
                batch = [e for e in tx.outbox(self.settings.batch_size) if e.seq <= last]
            if not batch:
                return
            self._push_batch(api, batch, report)
            done += len(batch)
            progress(SyncProgress(phase="push", records_done=min(done, total),
                                  records_total=total))

    def _push_batch(self, api: ApiClient, batch: list[OutboxEntry], report: SyncReport) -> None:
        req = PushRequest(device_id=self.device_id, mutations=[e.mutation for e in batch],
                          client_time_ms=self.settings.now_ms())
        body = encoder.encode(req)
        headers = {"Content-Type": "application/json"}
        if api.gzip_requests and len(body) >= GZIP_MIN_BYTES:
            body = gzip.compress(body, GZIP_PUSH_LEVEL, mtime=0)
            headers["Content-Encoding"] = "gzip"
        try:
            r = api.call("POST", PUSH, "push", content=body, headers=headers)
        except NetworkError as exc:
            with self.store.write() as tx:
                tx.note_attempt([e.mutation.id for e in batch], exc.message)
            raise
        if r.status_code != 200:
            code, message, details = error_of(r)
            if 400 <= r.status_code < 500 and code in SPLIT_CODES:
                if len(batch) > 1:
                    half = len(batch) // 2
                    self._push_batch(api, batch[:half], report)
                    self._push_batch(api, batch[half:], report)
                    return
                with self.store.write() as tx:
                    self.outbox.reject(tx, batch[0].mutation, code, message, details)
                report.rejected += 1
                return
            raise ServerError(code, f"push: {message}", r.status_code, **details)
        resp = push_response_decoder.decode(r.content)
        by_id = {e.mutation.id: e.mutation for e in batch}
        with self.store.write() as tx:
            self._offset(tx, resp.server_time_ms)
            for res in resp.results:
                m = by_id.get(res.id)
                if m is None or tx.outbox_entry(res.id) is None:
                    continue
                if res.status == "rejected":
                    err = res.error
                    self.outbox.reject(tx, m, err.code if err else "rejected",
                                       err.message if err else "rejected by the server",
                                       dict(err.details) if err else {})
                    report.rejected += 1
                    continue
                self.outbox.acknowledge(tx, m, res)
                report.pushed += 1
                if res.status == "merged":
                    report.merged += 1
                    report.conflicts += len(res.conflicts)
                elif res.status == "duplicate":
                    report.duplicates += 1

    # photos ---------------------------------------------------------------------------
    def upload_photos(self, api: ApiClient, report: SyncReport, progress: Progress) -> None:
        with self.store.read() as tx:
            queue = tx.photos("pending")
        if not queue:
            return
        total = sum(p.bytes for p in queue)
        sent = 0

        def on_bytes(n: int) -> None:
            nonlocal sent
            sent += n
            report.bytes_uploaded += n
            progress(SyncProgress(phase="upload", records_done=report.photos_uploaded,
                                  records_total=len(queue), bytes_done=sent, bytes_total=total))

        for photo in queue:
            data, problem = self._photo_bytes(photo.path, photo.sha256)
            if data is None:
                self._quarantine_photo(photo.sha256, "photo_unreadable", problem)
                report.rejected += 1
                continue
            url = photo.upload_url
            uploader = TusUploader(api, self.settings.upload_chunk_bytes, on_bytes)

            def persist(new_url: str | None, sha: str = photo.sha256) -> None:
                nonlocal url
                url = new_url
                with self.store.write() as tx:
                    tx.update_photo(sha, upload_url=new_url)

            def step() -> int:
                try:
                    return uploader.upload(photo.sha256, data, url, persist)
                except Retryable as exc:
                    with self.store.write() as tx:
                        tx.q("UPDATE photos SET attempts=attempts+1, last_error=? "
                             "WHERE sha256=?", (str(exc), photo.sha256))
                    raise

            try:
                api.with_retries(step, f"uploading photo {photo.sha256[:12]}")
            except PhotoRejected as exc:
                self._quarantine_photo(photo.sha256, exc.code, exc.message)
                report.rejected += 1
                continue
            with self.store.write() as tx:
                tx.update_photo(photo.sha256, state="uploaded", upload_url=None,
                                uploaded_at=self.settings.now_ms(), last_error=None)
            report.photos_uploaded += 1
            progress(SyncProgress(phase="upload", records_done=report.photos_uploaded,
                                  records_total=len(queue), bytes_done=sent, bytes_total=total))

    @staticmethod
    def _photo_bytes(path: str, sha256: str) -> tuple[bytes | None, str]:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            return None, f"the photo file cannot be read: {exc}"
        if hashlib.sha256(data).hexdigest() != sha256:
            return None, "the photo file was changed or damaged on this device"
        return data, ""

    def _quarantine_photo(self, sha256: str, code: str, message: str) -> None:
        with self.store.write() as tx:
            tx.add_quarantine(id=f"photo:{sha256}", kind="photo", code=code, message=message,
                              details={"sha256": sha256})
            tx.update_photo(sha256, state="quarantined", last_error=message)
