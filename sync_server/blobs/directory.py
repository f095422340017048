"""Blobs as files: ``<root>/<aa>/<sha256>``, partial uploads under
``<root>/partial/<upload id>``, a collection's trash under ``<root>/trash``.
One machine only: every worker process sees the same directory."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

from shared_schema.ids import uuid7

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class _FileWriter:
    #: Appends to a local file: cheap enough on the event loop.
    blocking = False

    def __init__(self, path: Path, offset: int) -> None:
        self.offset = offset
        self.f = open(path, "r+b" if path.exists() else "wb")
        try:
            self.f.seek(offset)
            self.f.truncate()
        except OSError:
            self.f.close()
            raise

    def write(self, data: bytes) -> None:
        self.f.write(data)

    def sync(self) -> None:
        self.f.flush()
        os.fsync(self.f.fileno())

    def truncate(self) -> None:
        self.f.seek(self.offset)
        self.f.truncate()

    def close(self) -> None:
        self.f.close()


class DirectoryBlobs:
    kind = "directory"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        (self.root / "partial").mkdir(parents=True, exist_ok=True)
        (self.root / "trash").mkdir(parents=True, exist_ok=True)

    # paths (this engine's own; tests and the demo seed read them)
    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def partial(self, upload_id: str) -> Path:
        return self.root / "partial" / upload_id

    def _trash(self, sha256: str) -> Path:
        return self.root / "trash" / sha256

    # verified blobs
    def has(self, sha256: str) -> bool:
        return self.path(sha256).exists()

    def size(self, sha256: str) -> int | None:
        try:
            return self.path(sha256).stat().st_size
        except OSError:
            return None

    def open(self, sha256: str) -> BinaryIO:
        return open(self.path(sha256), "rb")

    def put(self, sha256: str, data: bytes) -> None:
        target = self.path(sha256)
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.root / "partial" / f".put-{uuid7()}"
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)

    def hashes(self) -> Iterator[str]:
        for sub in sorted(self.root.iterdir()):
            if len(sub.name) == 2 and sub.is_dir():
                for path in sorted(sub.iterdir()):
                    if _SHA256.match(path.name):
                        yield path.name

    # partial uploads
    def start_partial(self, upload_id: str) -> None:
        self.partial(upload_id).touch()

    def writer(self, upload_id: str, offset: int) -> _FileWriter:
        return _FileWriter(self.partial(upload_id), offset)

    def partial_sha256(self, upload_id: str) -> str:
        digest = hashlib.sha256()
        with open(self.partial(upload_id), "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()

    def discard_partial(self, upload_id: str) -> int:
        path = self.partial(upload_id)
        size = _size(path)
        path.unlink(missing_ok=True)
        return size

    def promote(self, upload_id: str, sha256: str) -> None:
        target = self.path(sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.partial(upload_id), target)

    def partial_count(self) -> int:
        return sum(1 for p in (self.root / "partial").iterdir() if not p.name.startswith("."))

    def stray_partials(self, idle_before_ms: int) -> Iterator[str]:
        for path in (self.root / "partial").iterdir():
            if path.name.startswith("."):
                continue
            try:
                if path.stat().st_mtime * 1000 > idle_before_ms:
                    continue
            except OSError:
                continue
            yield path.name

    # collection
    def trash(self, sha256: str) -> None:
        os.replace(self.path(sha256), self._trash(sha256))

    def untrash(self, sha256: str) -> None:
        self.path(sha256).parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._trash(sha256), self.path(sha256))

    def purge(self, sha256: str) -> int:
        size = _size(self._trash(sha256))
        self._trash(sha256).unlink(missing_ok=True)
        return size

    def recover_trash(self, keep: Callable[[str], bool]) -> None:
        for path in (self.root / "trash").iterdir():
            if _SHA256.match(path.name) and keep(path.name) and not self.has(path.name):
                self.untrash(path.name)
            else:
                path.unlink(missing_ok=True)

    # health
    def free_bytes(self) -> int:
        return shutil.disk_usage(self.root).free

    def writable(self) -> bool:
        probe = self.root / "partial" / f".probe-{uuid7()}"
        try:
            probe.write_bytes(b"")
            probe.unlink()
        except OSError:
            return False
        return True

    def close(self) -> None:
        pass


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
