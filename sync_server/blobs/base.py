"""The photo store's contract: content-addressed blobs and the partial bytes
of tus uploads, wherever they live (a directory, PostgreSQL tables).

Every worker process must see the same partial bytes: a tus PATCH may land
on another process than the POST, or the one before it. The upload *rows*
(offset, lock) are the database's; the *bytes* are the blob store's.
"""

from __future__ import annotations

from typing import BinaryIO, Callable, Iterator, Protocol


class BlobError(OSError):
    """The blob store failed (its database went away, its disk): an OSError,
    so the upload path treats it as it treats a failing disk. A full disk
    carries ``errno.ENOSPC``."""


class PartialWriter(Protocol):
    """Appends to one upload's partial bytes from the offset it was opened at."""

    #: Whether its calls wait on a network (a database): then the upload path
    #: makes them on a worker thread, not on the event loop.
    blocking: bool

    def write(self, data: bytes) -> None: ...

    def sync(self) -> None:
        """Make every byte written so far durable (fsync, commit)."""

    def truncate(self) -> None:
        """Drop what this writer wrote: back to the offset it was opened at."""

    def close(self) -> None: ...


class BlobStore(Protocol):
    #: "directory" or "postgresql": what ``/readyz`` and the backup manifest say.
    kind: str

    # --- verified blobs, by sha256 ---
    def has(self, sha256: str) -> bool: ...

    def size(self, sha256: str) -> int | None: ...

    def open(self, sha256: str) -> BinaryIO:
        """A readable stream of the blob's bytes (the caller closes it);
        ``FileNotFoundError`` when there is none."""

    def put(self, sha256: str, data: bytes) -> None:
        """Store bytes already checked against ``sha256`` (demo seed, restore)."""

    def hashes(self) -> Iterator[str]:
        """Every blob held (not trashed): for backups."""

    # --- partial uploads ---
    def start_partial(self, upload_id: str) -> None: ...

    def writer(self, upload_id: str, offset: int) -> PartialWriter:
        """A writer appending at ``offset``; what lay after it is dropped."""

    def partial_sha256(self, upload_id: str) -> str: ...

    def discard_partial(self, upload_id: str) -> int:
        """Remove an upload's partial bytes; the bytes freed."""

    def promote(self, upload_id: str, sha256: str) -> None:
        """The partial bytes become the blob ``sha256`` (checked by the caller)."""

    def partial_count(self) -> int:
        """Unfinished uploads holding partial bytes (a gauge of ``/metrics``)."""

    def stray_partials(self, idle_before_ms: int) -> Iterator[str]:
        """Upload ids whose partial bytes last changed before ``idle_before_ms``."""

    # --- collection: a blob leaves in two steps, so a rolled-back sweep can undo ---
    def trash(self, sha256: str) -> None: ...

    def untrash(self, sha256: str) -> None: ...

    def purge(self, sha256: str) -> int:
        """Delete a trashed blob; the bytes freed."""

    def recover_trash(self, keep: Callable[[str], bool]) -> None:
        """After a crash mid-collection: put back the trashed blobs ``keep``
        says still have their row, purge the others."""

    # --- health ---
    def free_bytes(self) -> int: ...

    def writable(self) -> bool: ...

    def close(self) -> None: ...
