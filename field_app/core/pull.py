"""The pull phase: every page since the cursor, rebased onto the local edits.

The server values replace a record's ``server`` part, the per-field
revisions move forward, and the view is recomputed with the unacknowledged
local edits on top. A record with no local edit waiting is stored as the
JSON text received (``_raw_row``: its view is its server values), a page's
worth in one statement; the next page is fetched and decoded meanwhile. The
device's HLC moves past every ``Change.hlc`` (once per page). A 410
``resync_required`` starts a full resync: a new generation, pull from 0, then
drop rows the server no longer shows unless they have local edits waiting.
The outbox is not touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import msgspec

from field_app.core.api import ApiClient, expect_ok
from field_app.core.errors import ServerError
from field_app.core.phase import Phase, Prefetch, Progress
from field_app.core.reports import SyncProgress, SyncReport
from field_app.core.store import RAW_CASE_ID, RecordRow, Tx, raw_row
from shared_schema.wire import RawChange, RawPullResponse

PULL = "/api/v1/sync/pull"


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



@dataclass(slots=True)
class _Fetched:
    """A pull page as fetched and prepared off the writing thread: the
    response, and for a 200 its decoded page and the rows of its changes as
    ``_raw_row`` made them for generation ``gen`` (None: decoding path)."""

    response: httpx.Response
    page: RawPullResponse | None = None
    rows: list[tuple | None] | None = None
    gen: int = 0



class Pulling(Phase):
    """The pull phase of ``SyncClient``."""

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
        ahead: Prefetch[_Fetched] | None = None
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
                ahead = Prefetch(lambda at=page.cursor, g=gen: fetch(at, g), "pull-prefetch")
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
                        tx.drop_unseen(gen)
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
        for c, raw in zip(changes, rows, strict=True):
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
