"""The sync client: pull, push, photo upload, pull — over the ApiClient.

One ``SyncClient.run`` is one sync:

1. **pull** every page since the cursor and rebase (``_apply_change``): the
   server values replace the record's ``server`` part, the per-field
   revisions move forward, and the view is recomputed with the unacknowledged
   local edits on top. A record with no local edit waiting is stored as the
   JSON text received (``_raw_row``: its view is its server values), a page's
   worth in one statement; the next page is fetched and decoded meanwhile.
   The device's HLC moves past every ``Change.hlc`` (once per page).
   A 410 ``resync_required`` starts a full resync: a new generation, pull
   from 0, then drop rows the server no longer shows unless they have local
   edits waiting. The outbox is not touched.
2. **push** the outbox in seq order, ``batch_size`` at a time, one request
   in flight, pipelined (the previous answer is applied and the next batch
   read while a batch is sent). Each answer is applied in one local
   transaction: acknowledged mutations leave the outbox together
   (``Outbox.acknowledge_all``), rejected ones go to the quarantine. A batch the server refuses as
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
from dataclasses import dataclass
from typing import Any, Callable, Generic, TypeVar

import httpx
import msgspec

from field_app.core.api import ApiClient, Retryable, error_of, expect_ok
from field_app.core.errors import DeviceError, LoginRequired, NetworkError, ServerError
from field_app.core.outbox import DeviceClock, Outbox
from field_app.core.reports import SyncProgress, SyncReport
from field_app.core.settings import DeviceSettings
from field_app.core.store import (
    RAW_CASE_ID,
    LocalStore,
    OutboxEntry,
    RecordRow,
    Tx,
    raw_row,
)
from field_app.core.tus import PhotoRejected, TusUploader
from shared_schema.wire import (
    PushRequest,
    RawChange,
    RawPullResponse,
    encoder,
    push_response_decoder,
)

Progress = Callable[[SyncProgress], None]
PUSH = "/api/v1/sync/push"
PULL = "/api/v1/sync/pull"
SPLIT_CODES = frozenset({"too_large", "too_many_mutations", "invalid_body", "malformed_json"})
#: Push bodies of at least this size are compressed when the server takes
#: zstd (preferred) or gzip.
GZIP_MIN_BYTES = 1024
#: Level 6: mobile upload is the scarce resource; ~8x smaller JSON for ~0.05 ms a mutation.
GZIP_PUSH_LEVEL = 6
#: zstd level of push bodies (docs/performance.md "Encoding choice"): upload
#: is the scarce resource, so as small as gzip 6 or smaller: level 5 is 135 B
#: per inspection (gzip 6: 138 B) for 13 µs of device CPU (gzip 6: 24 µs) and
#: 1 µs on the server to decompress (gzip: 2.6 µs); level 6 is no smaller for
#: more CPU, levels 1-4 are 9-30% larger.
ZSTD_PUSH_LEVEL = 5


def _noop(_: SyncProgress) -> None:
    pass


class _Links(msgspec.Struct):
    """What the bulk path reads of a record's data without building the rest:
    its link fields (``store.KEY_COLUMNS``) and whether it names ``deleted``."""

    site_id: str | None = None
    owner_id: str | None = None
    case_id: str | None = None
    deleted: Any = msgspec.UNSET


raw_pull_decoder = msgspec.json.Decoder(RawPullResponse)
_links_decoder = msgspec.json.Decoder(_Links)
_DELETED = {False: b',"deleted":false}', True: b',"deleted":true}'}


def _raw_row(c: RawChange, gen: int, now: int) -> tuple | None:
    """The row (``store.raw_row``) of a pulled record with no local edit on
    top, its JSON text as received: the view is the server values, which are
    ``data`` with ``deleted`` set, written by appending the key to the
    object's text. None when the change needs the decoding path: ``data``
    names ``deleted`` itself, is empty, is not an object with text links, or
    ``field_revs`` is not an object (the typed decode of ``_apply_change``
    then raises, as it always did). The page decode already checked that
    both are well-formed JSON."""
    data = bytes(c.data)
    revs = bytes(c.field_revs)
    if len(data) < 3 or revs[:1] != b"{" or revs[-1:] != b"}":
        return None
    try:
        links = _links_decoder.decode(data)
    except msgspec.ValidationError:  # not an object, or a link that is not text
        return None
    if links.deleted is not msgspec.UNSET or not data[1:-1].strip():
        return None
    return raw_row(c.entity, c.id, (data[:-1] + _DELETED[c.deleted]).decode(), revs.decode(),
                   c.rev, c.hlc, c.deleted, gen, now, links.site_id, links.owner_id,
                   links.case_id)


T = TypeVar("T")


class _Prefetch(Generic[T]):
    """One call run in a background thread; ``result`` waits for it and
    returns its value or raises its exception, as if it were made then."""

    def __init__(self, fn: Callable[[], T], name: str) -> None:
        self._out: T | None = None
        self._exc: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(fn,), daemon=True, name=name)
        self._thread.start()

    def _run(self, fn: Callable[[], T]) -> None:
        try:
            self._out = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller by result()
            self._exc = exc

    def result(self) -> T:
        self._thread.join()
        if self._exc is not None:
            raise self._exc
        return self._out  # type: ignore[return-value]

    def discard(self) -> None:
        self._thread.join()


@dataclass(slots=True)
class _Sent:
    """A push response and the local time it came back (for the clock offset)."""

    response: httpx.Response
    at_ms: int


@dataclass(slots=True)
class _Fetched:
    """A pull page as fetched and prepared off the writing thread: the
    response, and for a 200 its decoded page and the rows of its changes as
    ``_raw_row`` made them for generation ``gen`` (None: decoding path)."""

    response: httpx.Response
    page: RawPullResponse | None = None
    rows: list[tuple | None] | None = None
    gen: int = 0


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
            report.error_codes.append("not_logged_in")
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
                    report.error_codes.append(exc.code)
        except LoginRequired as exc:
            report.login_required = True
            report.errors.append(f"login required ({exc.code}): {exc.message}")
            report.error_codes.append(exc.code)
            with self.store.write() as tx:
                tx.set("login_required", True)
                tx.set("login_reason", exc.code)
        except DeviceError as exc:  # the network is gone: stop, everything stays queued
            report.errors.append(exc.message)
            report.error_codes.append(exc.code)
        finally:
            api.close()
            with self.store.write() as tx:
                tx.set("last_sync_ms", self.settings.now_ms())
                tx.set("last_sync_ok", report.ok)
                if report.ok:
                    tx.set("last_good_sync_ms", self.settings.now_ms())
                tx.set("last_sync_report", msgspec.to_builtins(report))
            progress(SyncProgress(phase="done", records_done=report.pushed + report.pulled,
                                  bytes_done=report.bytes_uploaded))
        return report

    def _offset(self, tx: Tx, server_time_ms: int, at_ms: int | None = None) -> None:
        """``server_time_ms`` of a response received at ``at_ms`` (now if None)."""
        if server_time_ms:
            tx.set("clock_offset_ms", server_time_ms - (at_ms or self.settings.now_ms()))

    # pull -----------------------------------------------------------------------------
    def pull(self, api: ApiClient, report: SyncReport, progress: Progress) -> None:
        with self.store.read() as tx:
            cursor = int(tx.get("cursor", 0))
        # A first sync fills an empty table: its link indexes are made at the end.
        with self.store.bulk_load(cursor == 0):
            self._pull_pages(api, report, progress, cursor)

    def _pull_pages(self, api: ApiClient, report: SyncReport, progress: Progress,
                    cursor: int) -> None:
        restarts = 0

        # A pull from 0 (first sync, full resync) takes larger pages throughout.
        limit = self.settings.first_pull_limit if cursor == 0 else self.settings.pull_limit

        def fetch(since: int, gen: int) -> _Fetched:
            r = api.call("GET", PULL, "pull", params={"since": since, "limit": limit})
            if r.status_code == 410 or r.status_code >= 400:
                return _Fetched(r)
            page = raw_pull_decoder.decode(r.content)
            now = self.settings.now_ms()
            return _Fetched(r, page, [_raw_row(c, gen, now) for c in page.changes], gen)

        with self.store.read() as tx:
            gen = int(tx.get("gen", 0))
        ahead: _Prefetch[_Fetched] | None = None
        while True:
            f = ahead.result() if ahead is not None else fetch(cursor, gen)
            ahead = None
            r = f.response
            if r.status_code == 410:
                restarts += 1
                if restarts > 3:
                    raise ServerError("resync_required", "the server keeps asking for a resync",
                                      410)
                with self.store.write() as tx:
                    gen = int(tx.get("gen", 0)) + 1
                    tx.set("gen", gen)
                    tx.set("resync", True)
                    tx.set("cursor", 0)
                cursor = 0
                limit = self.settings.first_pull_limit
                report.resynced = True
                continue
            expect_ok(r, "pull")
            page, rows = f.page, f.rows
            assert page is not None and rows is not None
            if page.has_more:
                # Ask for the next page now: the server reads and encodes it,
                # and this thread's twin decodes it, while this page is written
                # locally (two cores, not one; SQLite and fsync let go of the GIL).
                ahead = _Prefetch(lambda at=page.cursor, g=gen: fetch(at, g), "pull-prefetch")
            try:
                with self.store.write(durable=False) as tx:
                    gen = int(tx.get("gen", 0))
                    if gen != f.gen:  # a login elsewhere started a new generation
                        now = self.settings.now_ms()
                        rows = [_raw_row(c, gen, now) for c in page.changes]
                    self._apply_page(tx, page.changes, rows, gen)
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

    def _apply_page(self, tx: Tx, changes: list[RawChange], rows: list[tuple | None],
                    gen: int) -> None:
        """Apply a page's changes, in order, and move the clock past the
        newest HLC of the page (one advance, persisted in this transaction:
        nothing is stamped before it commits).

        A record with no local edit waiting (the common case) is stored as
        the server sent it: its view is its server values, so the received
        JSON text is the row's ``data`` (``server_is_data``), with no decode
        to Python values and no encode back: ``rows[i]`` is ``changes[i]``'s
        row as ``_raw_row`` made it (off this thread, while the previous page
        was written), and the page's rows go in one ``executemany``. A record with edits waiting goes
        through ``_apply_change`` (read, server values replaced, view
        recomputed with the local edits on top), in page order. A case (or
        case event) takes that path too when the case or any of its events
        has edits waiting: then ``Tx.derive_case`` shows the locally folded
        status."""
        pending = tx.overlay_keys()
        busy_cases = {i for e, i in pending if e == "case"} | tx.case_ids_of_events(
            [i for e, i in pending if e == "case_event"])
        batch: list[tuple] = []
        for c, raw in zip(changes, rows):
            if raw is not None and (pending or busy_cases):
                if (c.entity, c.id) in pending or (busy_cases and (
                        (c.entity == "case" and c.id in busy_cases)
                        or (c.entity == "case_event" and raw[RAW_CASE_ID] in busy_cases))):
                    raw = None
            if raw is not None:
                batch.append(raw)
                continue
            if batch:
                tx.put_raw_rows(batch)
                batch = []
            self._apply_change(tx, c, gen)
        if batch:
            tx.put_raw_rows(batch)
        self.clock.receive_all(tx, [c.hlc for c in changes])

    def _apply_change(self, tx: Tx, c: RawChange, gen: int) -> None:
        data = msgspec.json.decode(c.data, type=dict[str, Any])
        row = tx.row(c.entity, c.id) or RecordRow(entity=c.entity, id=c.id, data={})
        row.server = {**data, "deleted": c.deleted}
        row.field_revs = msgspec.json.decode(c.field_revs, type=dict[str, int])
        row.server_rev = c.rev
        row.server_hlc = c.hlc
        row.seen_gen = gen
        tx.put_row(row)
        tx.refresh(c.entity, c.id)

    def _drop_unseen(self, tx: Tx, gen: int) -> None:
        """After a full resync: forget what the server no longer shows us,
        except records with local edits still waiting (they stay, and the
        server will answer their mutations)."""
        stale = tx.q("SELECT entity, id FROM records WHERE seen_gen < ? "
                     "AND (server IS NOT NULL OR server_is_data)",
                     (gen,)).fetchall()
        for entity, id in stale:
            if not tx.has_overlays(entity, id):
                tx.delete_row(entity, id)

    # push -----------------------------------------------------------------------------
    def push(self, api: ApiClient, report: SyncReport, progress: Progress) -> None:
        """Send the outbox in seq order, one batch at a time, pipelined: while
        batch n is in flight (encoded, compressed and sent on a worker thread),
        this thread applies the answer to batch n-1 and reads batch n+1. A
        batch is sent only after the previous answer came back, so the server
        still sees the batches one after another in seq order; an answer is
        applied (one transaction) before the sync goes on or stops, and
        nothing leaves the outbox before its answer is applied: a crash in
        between sends the batch again and the server answers ``duplicate``."""
        with self.store.read() as tx:
            total = tx.count("outbox")
            last = tx.q("SELECT max(seq) FROM outbox").fetchone()[0]
        if not total:
            return
        size = self.settings.batch_size
        done = 0

        def next_batch(after: int) -> list[OutboxEntry]:
            with self.store.read() as tx:
                return tx.outbox_after(after, last, size)

        batch = next_batch(0)
        answered: tuple[list[OutboxEntry], _Sent] | None = None
        while batch or answered:
            sending = (_Prefetch(lambda b=batch: self._send(api, b), "push-send")
                       if batch else None)
            try:
                if answered is not None:
                    self._apply_answer(*answered, report)
                    done += len(answered[0])
                    progress(SyncProgress(phase="push", records_done=min(done, total),
                                          records_total=total))
                    answered = None
                following = next_batch(batch[-1].seq) if batch else []
            except BaseException:
                if sending is not None:
                    sending.discard()
                raise
            if sending is None:
                return
            sent = self._sent(sending, batch)
            if sent.response.status_code != 200:
                self._refused(api, batch, sent.response, report)  # split or raise
                done += len(batch)
                progress(SyncProgress(phase="push", records_done=min(done, total),
                                      records_total=total))
            else:
                answered = (batch, sent)
            batch = following

    def _send(self, api: ApiClient, batch: list[OutboxEntry]) -> "_Sent":
        """POST one batch (on the worker thread): the request around the
        mutations' stored wire JSON, as ``PushRequest`` encodes it, compressed
        (zstd, else gzip) when the server takes it. Retries inside ``api.call``."""
        envelope = encoder.encode(PushRequest(device_id=self.device_id, mutations=[],
                                              client_time_ms=self.settings.now_ms()))
        head, tail = envelope.split(b'"mutations":[]', 1)
        body = b"".join((head, b'"mutations":[', b",".join(
            e.body or encoder.encode(e.mutation) for e in batch), b"]", tail))
        headers = {"Content-Type": "application/json"}
        coding = api.request_coding
        if coding is not None and len(body) >= GZIP_MIN_BYTES:
            if coding == "zstd":  # only chosen when zstandard imports (api.ZSTD)
                import zstandard

                body = zstandard.ZstdCompressor(level=ZSTD_PUSH_LEVEL).compress(body)
            else:
                body = gzip.compress(body, GZIP_PUSH_LEVEL, mtime=0)
            headers["Content-Encoding"] = coding
        r = api.call("POST", PUSH, "push", content=body, headers=headers)
        return _Sent(r, self.settings.now_ms())

    def _sent(self, sending: "_Prefetch[_Sent]", batch: list[OutboxEntry]) -> "_Sent":
        try:
            return sending.result()
        except NetworkError as exc:
            with self.store.write(durable=False) as tx:
                tx.note_attempt([e.mutation.id for e in batch], exc.message)
            raise

    def _push_batch(self, api: ApiClient, batch: list[OutboxEntry], report: SyncReport) -> None:
        """One batch, sent and answered before returning (the split path)."""
        sent = self._sent(_Prefetch(lambda: self._send(api, batch), "push-send"), batch)
        if sent.response.status_code != 200:
            self._refused(api, batch, sent.response, report)
        else:
            self._apply_answer(batch, sent, report)

    def _refused(self, api: ApiClient, batch: list[OutboxEntry], r: httpx.Response,
                 report: SyncReport) -> None:
        """A push refused as a whole: too large or malformed → split in halves
        until the offending mutation stands alone and is quarantined; any
        other refusal stops the push (``ServerError``)."""
        code, message, details = error_of(r)
        if 400 <= r.status_code < 500 and code in SPLIT_CODES:
            if len(batch) > 1:
                half = len(batch) // 2
                self._push_batch(api, batch[:half], report)
                self._push_batch(api, batch[half:], report)
                return
            with self.store.write(durable=False) as tx:
                self.outbox.reject(tx, batch[0].mutation, code, message, details)
            report.rejected += 1
            return
        raise ServerError(code, f"push: {message}", r.status_code, **details)

    def _apply_answer(self, batch: list[OutboxEntry], sent: "_Sent",
                      report: SyncReport) -> None:
        """The server's answer to one batch, in one transaction: rejected
        mutations go to the quarantine, the others leave the outbox together
        (``Outbox.acknowledge_all``)."""
        resp = push_response_decoder.decode(sent.response.content)
        by_id = {e.mutation.id: e.mutation for e in batch}
        with self.store.write(durable=False) as tx:
            self._offset(tx, resp.server_time_ms, sent.at_ms)
            waiting = tx.outbox_seqs([r.id for r in resp.results if r.id in by_id])
            acked = []
            for res in resp.results:
                m = by_id.pop(res.id, None)  # an id answered twice counts once
                if m is None or res.id not in waiting:
                    continue
                if res.status == "rejected":
                    err = res.error
                    self.outbox.reject(tx, m, err.code if err else "rejected",
                                       err.message if err else "rejected by the server",
                                       dict(err.details) if err else {})
                    report.rejected += 1
                    continue
                acked.append((m, res))
                if res.status == "merged":
                    report.merged += 1
                    report.conflicts += len(res.conflicts)
                    note_replaced(tx, m, res.conflicts, self.settings.now_ms())
                elif res.status == "duplicate":
                    report.duplicates += 1
            report.pushed += self.outbox.acknowledge_all(tx, acked)

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


REPLACED_KEEP = 200  # conflicted edits remembered for the screens


def note_replaced(tx: Any, m: Any, conflicts: list[Any], now_ms: int) -> None:
    """Remember the fields of my edit the server kept in a conflict record (what
    I typed), so the record's screen can say what happened once the pull
    brings the value that was kept (``state['replaced_edits']``)."""
    if not conflicts:
        return
    kept = list(tx.get("replaced_edits") or [])
    for c in conflicts:
        mine: Any = m.fields
        for part in c.field.split("."):
            mine = mine.get(part) if isinstance(mine, dict) else None
        kept.append({"entity": m.entity, "entity_id": m.entity_id, "field": c.field,
                     "mine": mine, "conflict_id": c.conflict_id, "at": now_ms})
    tx.set("replaced_edits", kept[-REPLACED_KEEP:])
