"""Photo blobs (their metadata: the bytes are the blob store's), who holds
them, and resumable uploads."""

from __future__ import annotations

from sync_server.store.base import UploadRow, Visibility
from sync_server.store.postgres.columns import _UPLOAD_COLS, Connected

#: A live photo record naming the blob ``%s``.
_PHOTO = "entity = 'photo' AND deleted = 0 AND data->>'sha256' = %s"


class BlobReads(Connected):
    """Reads shared by the store and its transactions."""

    def is_blob_holder(self, sha256: str, user_id: str) -> bool:
        return self._one("SELECT 1 FROM blob_holders WHERE sha256=%s AND user_id=%s",
                         (sha256, user_id)) is not None

    def blob_holders(self, sha256: str) -> list[str]:
        return [r[0] for r in self._all(
            "SELECT user_id FROM blob_holders WHERE sha256=%s ORDER BY user_id", (sha256,))]

    def photo_creators(self, sha256: str, device_id: str) -> list[str]:
        return [r[0] for r in self._all(
            f"SELECT DISTINCT created_by_user FROM records WHERE {_PHOTO} "
            "AND created_by_device = %s AND created_by_user IS NOT NULL ORDER BY created_by_user",
            (sha256, device_id))]

    def unfinished_uploads(self, *, device_id: str | None = None,
                           user_id: str | None = None) -> tuple[int, int]:
        if (device_id is None) == (user_id is None):
            raise ValueError("name a device or a user")
        column, key = ("device_id", device_id) if device_id is not None else ("user_id", user_id)
        row = self._one(f'SELECT count(*), coalesce(sum(length), 0) FROM uploads WHERE {column}=%s '
                        'AND "offset" < length', (key,))
        assert row is not None
        return int(row[0]), int(row[1])


class BlobWrites(Connected):
    """Writes inside one transaction."""

    def put_blob(self, sha256: str, size: int, at_ms: int, device_id: str | None) -> None:
        self._exec("INSERT INTO blobs (sha256, size, created_at, device_id) VALUES (%s,%s,%s,%s) "
                   "ON CONFLICT (sha256) DO NOTHING", (sha256, size, at_ms, device_id))

    def put_upload(self, u: UploadRow) -> None:
        self._exec(
            f"INSERT INTO uploads ({_UPLOAD_COLS}) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s) "
            'ON CONFLICT (id) DO UPDATE SET sha256=EXCLUDED.sha256, length=EXCLUDED.length, '
            '"offset"=EXCLUDED."offset", filename=EXCLUDED.filename, '
            "device_id=EXCLUDED.device_id, user_id=EXCLUDED.user_id, "
            "created_at=EXCLUDED.created_at, updated_at=EXCLUDED.updated_at, lock_token=NULL, "
            "locked_at=NULL",
            (u.id, u.sha256, u.length, u.offset, u.filename, u.device_id, u.user_id, u.created_at,
             u.updated_at or u.created_at))

    def delete_upload(self, id: str) -> None:
        self._exec("DELETE FROM uploads WHERE id=%s", (id,))

    def claim_upload(self, id: str, offset: int, token: str, now_ms: int,
                     stale_before_ms: int) -> bool:
        return self._exec(
            'UPDATE uploads SET lock_token=%s, locked_at=%s WHERE id=%s AND "offset"=%s '
            "AND (lock_token IS NULL OR locked_at < %s)",
            (token, now_ms, id, offset, stale_before_ms)) == 1

    def renew_upload_claim(self, id: str, token: str, now_ms: int) -> bool:
        return self._exec("UPDATE uploads SET locked_at=%s WHERE id=%s AND lock_token=%s",
                          (now_ms, id, token)) == 1

    def release_upload(self, id: str, token: str, offset: int, now_ms: int) -> bool:
        return self._exec(
            'UPDATE uploads SET "offset"=%s, updated_at=%s, lock_token=NULL, locked_at=NULL '
            "WHERE id=%s AND lock_token=%s", (offset, now_ms, id, token)) == 1

    def add_blob_holder(self, sha256: str, user_id: str, at_ms: int) -> None:
        self._exec("INSERT INTO blob_holders (sha256, user_id, at) VALUES (%s,%s,%s) "
                   "ON CONFLICT DO NOTHING", (sha256, user_id, at_ms))

    def touch_blob(self, sha256: str) -> None:
        self._exec("UPDATE blobs SET orphan_since=NULL WHERE sha256=%s "
                   "AND orphan_since IS NOT NULL", (sha256,))

    def sweep_uploads(self, expired_before_ms: int, stale_before_ms: int) -> list[UploadRow]:
        rows = self._all(
            f"DELETE FROM uploads WHERE updated_at < %s AND (lock_token IS NULL OR locked_at < %s) "
            f"RETURNING {_UPLOAD_COLS}", (expired_before_ms, stale_before_ms))
        return [UploadRow(*r) for r in rows]

    def sweep_orphan_blobs(self, now_ms: int, grace_ms: int) -> list[str]:
        named = ("EXISTS (SELECT 1 FROM records WHERE entity='photo' AND deleted=0 "
                 "AND data->>'sha256' = blobs.sha256)")
        self._exec(f"UPDATE blobs SET orphan_since=NULL WHERE orphan_since IS NOT NULL AND {named}")
        self._exec(f"UPDATE blobs SET orphan_since=%s WHERE orphan_since IS NULL AND NOT {named}",
                   (now_ms,))
        gone = [r[0] for r in self._all(
            f"DELETE FROM blobs WHERE orphan_since <= %s AND NOT {named} RETURNING sha256",
            (now_ms - grace_ms,))]
        if gone:
            self._exec("DELETE FROM blob_holders WHERE sha256 = ANY(%s)", (gone,))
        return sorted(gone)


class BlobQueries(BlobReads):
    """Reads of the store only."""

    def photo_hashes_named_by(self, device_id: str) -> list[str]:
        rows = self._all("SELECT DISTINCT data->>'sha256' FROM records WHERE entity='photo' "
                         "AND created_by_device=%s AND deleted=0", (device_id,))
        return sorted(r[0] for r in rows if r[0])

    def has_blob(self, sha256: str) -> bool:
        return self._one("SELECT 1 FROM blobs WHERE sha256=%s", (sha256,)) is not None

    def blobs_in(self, hashes: list[str]) -> set[str]:
        if not hashes:
            return set()
        return {r[0] for r in self._all("SELECT sha256 FROM blobs WHERE sha256 = ANY(%s)",
                                        (list(hashes),))}

    def blob_visible(self, sha256: str, visibility: Visibility) -> bool:
        """Did this caller send the bytes, or does a photo record they may see
        name the blob, created by someone who sent them?"""
        if visibility.user_id is not None and self.is_blob_holder(sha256, visibility.user_id):
            return True
        holder = "created_by_user IN (SELECT user_id FROM blob_holders WHERE sha256 = %s)"
        if visibility.all:
            return self._one(f"SELECT 1 FROM records WHERE {_PHOTO} AND {holder} LIMIT 1",
                             (sha256, sha256)) is not None
        return self._one(
            f"SELECT 1 FROM records WHERE {_PHOTO} AND (village_id = ANY(%s) "
            f"OR department_id = ANY(%s) OR created_by_user = %s) AND {holder} LIMIT 1",
            (sha256, list(visibility.village_ids), list(visibility.department_ids),
             visibility.user_id, sha256)) is not None

    def get_upload(self, id: str) -> UploadRow | None:
        row = self._one(f"SELECT {_UPLOAD_COLS} FROM uploads WHERE id=%s", (id,))
        return UploadRow(*row) if row else None
