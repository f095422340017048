"""The push phase: the outbox in seq order, one batch in flight, pipelined.

Each answer is applied in one local transaction: acknowledged mutations
leave the outbox together (``Outbox.acknowledge_all``), rejected ones go to
the quarantine. A batch the server refuses as too large or malformed is
split until the bad mutation stands alone and is quarantined; the rest goes on.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from typing import Any

import httpx

from field_app.core.api import ApiClient, error_of
from field_app.core.errors import NetworkError, ServerError
from field_app.core.phase import Phase, Prefetch, Progress
from field_app.core.reports import SyncProgress, SyncReport
from field_app.core.store import OutboxEntry
from shared_schema.paths import get_flat
from shared_schema.wire import PushRequest, encoder, push_response_decoder

PUSH = "/api/v1/sync/push"
SPLIT_CODES = frozenset({"too_large", "too_many_mutations", "invalid_body", "malformed_json"})
#: Push bodies of at least this size are compressed when the server takes
#: zstd (preferred) or gzip: below it the saving is smaller than the headers.
GZIP_MIN_BYTES = 1024
#: gzip level of push bodies: mobile upload is the scarce resource, so a
#: high level; the measured sizes and costs are in docs/performance.md.
GZIP_PUSH_LEVEL = 6
#: zstd level of push bodies: as small as gzip 6 or smaller for less device
#: CPU; higher levels are no smaller, lower ones larger (docs/performance.md,
#: "Encoding choice").
ZSTD_PUSH_LEVEL = 5


@dataclass(slots=True)
class _Sent:
    """A push response and the local time it came back (for the clock offset)."""

    response: httpx.Response
    at_ms: int



class Pushing(Phase):
    """The push phase of ``SyncClient``."""

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
            total = tx.outbox_count()
            last = tx.outbox_last_seq()
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
            sending = (Prefetch(lambda b=batch: self._send(api, b), "push-send")
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

    def _sent(self, sending: "Prefetch[_Sent]", batch: list[OutboxEntry]) -> "_Sent":
        try:
            return sending.result()
        except NetworkError as exc:
            with self.store.write(durable=False) as tx:
                tx.note_attempt([e.mutation.id for e in batch], exc.message)
            raise

    def _push_batch(self, api: ApiClient, batch: list[OutboxEntry], report: SyncReport) -> None:
        """One batch, sent and answered before returning (the split path)."""
        sent = self._sent(Prefetch(lambda: self._send(api, batch), "push-send"), batch)
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


REPLACED_KEEP = 200  # conflicted edits remembered for the screens


def note_replaced(tx: Any, m: Any, conflicts: list[Any], now_ms: int) -> None:
    """Remember the fields of my edit the server kept in a conflict record (what
    I typed), so the record's screen can say what happened once the pull
    brings the value that was kept (``state['replaced_edits']``)."""
    if not conflicts:
        return
    kept = list(tx.get("replaced_edits") or [])
    for c in conflicts:
        kept.append({"entity": m.entity, "entity_id": m.entity_id, "field": c.field,
                     "mine": get_flat(m.fields, c.field), "conflict_id": c.conflict_id, "at": now_ms})
    tx.set("replaced_edits", kept[-REPLACED_KEEP:])
