"""The upload phase: queued photos sent with tus, resuming from the server's offset."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable

from field_app.core.api import ApiClient, Retryable
from field_app.core.phase import Phase, Progress
from field_app.core.reports import SyncProgress, SyncReport
from field_app.core.tus import PhotoRejected, TusUploader


class Uploading(Phase):
    """The upload phase of ``SyncClient``."""

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
            try:
                self._upload(api, photo.sha256, data, photo.upload_url, on_bytes)
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

    def _upload(self, api: ApiClient, sha256: str, data: bytes, url: str | None,
                on_bytes: Callable[[int], None]) -> None:
        """One photo's upload, retried inside ``api``: the tus upload URL is
        persisted as soon as the server makes it, so a later sync resumes."""
        uploader = TusUploader(api, self.settings.upload_chunk_bytes, on_bytes)

        def persist(new_url: str | None) -> None:
            nonlocal url
            url = new_url
            with self.store.write() as tx:
                tx.update_photo(sha256, upload_url=new_url)

        def step() -> int:
            try:
                return uploader.upload(sha256, data, url, persist)
            except Retryable as exc:
                with self.store.write() as tx:
                    tx.note_photo_attempt(sha256, str(exc))
                raise

        api.with_retries(step, f"uploading photo {sha256[:12]}")

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
