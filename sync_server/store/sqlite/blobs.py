"""Photo blobs, who holds them, and resumable uploads."""

from __future__ import annotations

from sync_server.store.base import UploadRow, Visibility
from sync_server.store.sqlite.columns import _UPLOAD_COLS, Connected


class BlobReads(Connected):
    """Reads shared by the store and its transactions."""

    def is_blob_holder(self, sha256: str, user_id: str) -> bool:
        return self.conn.execute("SELECT 1 FROM blob_holders WHERE sha256=? AND user_id=?",
                                 (sha256, user_id)).fetchone() is not None

    def blob_holders(self, sha256: str) -> list[str]:
        return [r[0] for r in self.conn.execute(
            "SELECT user_id FROM blob_holders WHERE sha256=? ORDER BY user_id", (sha256,))]

    def photo_creators(self, sha256: str, device_id: str) -> list[str]:
        return [r[0] for r in self.conn.execute(
            "SELECT DISTINCT created_by_user FROM records WHERE entity='photo' AND deleted=0 "
            "AND json_extract(data, '$.sha256') = ? AND created_by_device = ? "
            "AND created_by_user IS NOT NULL ORDER BY created_by_user", (sha256, device_id))]

    def unfinished_uploads(self, *, device_id: str | None = None,
                           user_id: str | None = None) -> tuple[int, int]:
        if (device_id is None) == (user_id is None):
            raise ValueError("name a device or a user")
        column, key = ("device_id", device_id) if device_id is not None else ("user_id", user_id)
        count, size = self.conn.execute(
            f'SELECT count(*), coalesce(sum(length), 0) FROM uploads WHERE {column}=? '
            'AND "offset" < length', (key,)).fetchone()
        return count, size


class BlobWrites(Connected):
    """Writes inside one transaction."""

    def put_blob(self, sha256: str, size: int, at_ms: int, device_id: str | None) -> None:
        self.conn.execute(
            "INSERT OR IGNORE INTO blobs (sha256, size, created_at, device_id) VALUES (?,?,?,?)",
            (sha256, size, at_ms, device_id)
        )

    def put_upload(self, u: UploadRow) -> None:
        self.conn.execute(
            f"INSERT OR REPLACE INTO uploads ({_UPLOAD_COLS}) VALUES (?,?,?,?,?,?,?,?,?)",
            (u.id, u.sha256, u.length, u.offset, u.filename, u.device_id, u.user_id, u.created_at,
             u.updated_at or u.created_at),
        )

    def delete_upload(self, id: str) -> None:
        self.conn.execute("DELETE FROM uploads WHERE id=?", (id,))

    def claim_upload(self, id: str, offset: int, token: str, now_ms: int,
                     stale_before_ms: int) -> bool:
        cur = self.conn.execute(
            'UPDATE uploads SET lock_token=?, locked_at=? WHERE id=? AND "offset"=? '
            "AND (lock_token IS NULL OR locked_at < ?)",
            (token, now_ms, id, offset, stale_before_ms))
        return cur.rowcount == 1

    def renew_upload_claim(self, id: str, token: str, now_ms: int) -> bool:
        cur = self.conn.execute("UPDATE uploads SET locked_at=? WHERE id=? AND lock_token=?",
                                (now_ms, id, token))
        return cur.rowcount == 1

    def release_upload(self, id: str, token: str, offset: int, now_ms: int) -> bool:
        cur = self.conn.execute(
            'UPDATE uploads SET "offset"=?, updated_at=?, lock_token=NULL, locked_at=NULL '
            "WHERE id=? AND lock_token=?", (offset, now_ms, id, token))
        return cur.rowcount == 1

    def add_blob_holder(self, sha256: str, user_id: str, at_ms: int) -> None:
        self.conn.execute("INSERT OR IGNORE INTO blob_holders (sha256, user_id, at) "
                          "VALUES (?,?,?)", (sha256, user_id, at_ms))

    def touch_blob(self, sha256: str) -> None:
        self.conn.execute("UPDATE blobs SET orphan_since=NULL WHERE sha256=? "
                          "AND orphan_since IS NOT NULL", (sha256,))

    def sweep_uploads(self, expired_before_ms: int, stale_before_ms: int) -> list[UploadRow]:
        rows = self.conn.execute(
            f"SELECT {_UPLOAD_COLS} FROM uploads WHERE updated_at < ? "
            "AND (lock_token IS NULL OR locked_at < ?)",
            (expired_before_ms, stale_before_ms)).fetchall()
        self.conn.executemany("DELETE FROM uploads WHERE id=?", [(r[0],) for r in rows])
        return [UploadRow(*r) for r in rows]

    def sweep_orphan_blobs(self, now_ms: int, grace_ms: int) -> list[str]:
        named = ("EXISTS (SELECT 1 FROM records WHERE entity='photo' AND deleted=0 "
                 "AND json_extract(data, '$.sha256') = blobs.sha256)")
        self.conn.execute(f"UPDATE blobs SET orphan_since=NULL "
                          f"WHERE orphan_since IS NOT NULL AND {named}")
        self.conn.execute(f"UPDATE blobs SET orphan_since=? "
                          f"WHERE orphan_since IS NULL AND NOT {named}", (now_ms,))
        gone = [r[0] for r in self.conn.execute(
            f"SELECT sha256 FROM blobs WHERE orphan_since <= ? AND NOT {named}",
            (now_ms - grace_ms,))]
        for i in range(0, len(gone), 500):
            chunk = gone[i:i + 500]
            marks = ",".join("?" * len(chunk))
            self.conn.execute(f"DELETE FROM blobs WHERE sha256 IN ({marks})", chunk)
            self.conn.execute(f"DELETE FROM blob_holders WHERE sha256 IN ({marks})", chunk)
        return sorted(gone)


class BlobQueries(BlobReads):
    """Reads of the store only."""

    def photo_hashes_named_by(self, device_id: str) -> list[str]:
        rows = self.conn.execute(
            "SELECT DISTINCT json_extract(data, '$.sha256') FROM records "
            "WHERE entity='photo' AND created_by_device=? AND deleted=0",
            (device_id,),
        ).fetchall()
        return sorted(r[0] for r in rows if r[0])

    def has_blob(self, sha256: str) -> bool:
        return self.conn.execute("SELECT 1 FROM blobs WHERE sha256=?", (sha256,)).fetchone() is not None

    def blobs_in(self, hashes: list[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(hashes), 500):
            chunk = hashes[i : i + 500]
            found.update(r[0] for r in self.conn.execute(
                f"SELECT sha256 FROM blobs WHERE sha256 IN ({','.join('?' * len(chunk))})", chunk))
        return found

    def blob_visible(self, sha256: str, visibility: Visibility) -> bool:
        """Did this caller send the bytes, or does a photo record they may see
        name the blob, created by someone who sent them?"""
        if visibility.user_id is not None and self.is_blob_holder(sha256, visibility.user_id):
            return True
        holder = ("created_by_user IN (SELECT user_id FROM blob_holders WHERE sha256 = ?)")
        if visibility.all:
            row = self.conn.execute(
                "SELECT 1 FROM records WHERE entity='photo' AND deleted=0 "
                f"AND json_extract(data, '$.sha256') = ? AND {holder} LIMIT 1",
                (sha256, sha256)).fetchone()
            return row is not None
        v = list(visibility.village_ids)
        d = list(visibility.department_ids)
        row = self.conn.execute(
            "SELECT 1 FROM records WHERE entity='photo' AND deleted=0 "
            "AND json_extract(data, '$.sha256') = ? AND ("
            f"village_id IN ({','.join('?' * len(v))}) "
            f"OR department_id IN ({','.join('?' * len(d))}) OR created_by_user = ?) "
            f"AND {holder} LIMIT 1",
            (sha256, *v, *d, visibility.user_id, sha256),
        ).fetchone()
        return row is not None

    def get_upload(self, id: str) -> UploadRow | None:
        row = self.conn.execute(f"SELECT {_UPLOAD_COLS} FROM uploads WHERE id=?",
                                (id,)).fetchone()
        return UploadRow(*row) if row else None
