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

from typing import Callable

import msgspec

from field_app.core.api import ApiClient
from field_app.core.errors import DeviceError, LoginRequired, ServerError
from field_app.core.phase import Progress
from field_app.core.pull import PULL, Pulling
from field_app.core.push import PUSH, Pushing
from field_app.core.reports import SyncProgress, SyncReport
from field_app.core.upload import Uploading

__all__ = ["PULL", "PUSH", "Progress", "SyncClient"]


def _noop(_: SyncProgress) -> None:
    pass



class SyncClient(Pulling, Pushing, Uploading):
    """One device's sync: its phases are ``Pulling``, ``Pushing`` and ``Uploading``."""

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
