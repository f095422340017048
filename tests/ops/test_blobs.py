"""The blob store contract, on both engines: what the upload path, the
downloads and the collection ask of it."""

from __future__ import annotations

from pathlib import Path

import pytest

from ops.conftest import photo, sha
from sync_server.blobs import BlobStore, DirectoryBlobs, open_blobs


@pytest.fixture(params=["directory", "postgresql"])
def blobs(request, tmp_path: Path) -> BlobStore:
    if request.param == "directory":
        store: BlobStore = open_blobs(tmp_path / "blobs")
        assert isinstance(store, DirectoryBlobs)
    else:
        store = open_blobs(request.getfixturevalue("pg_db"))
        assert store.kind == "postgresql"
    yield store
    store.close()


def test_a_partial_upload_resumes_from_its_offset_and_is_promoted(blobs: BlobStore) -> None:
    data = photo(2_500_000)
    blobs.start_partial("u1")
    assert blobs.partial_count() == 1
    w = blobs.writer("u1", 0)
    w.write(data[:1_000_000])
    w.write(data[1_000_000:1_200_000])
    w.sync()
    w.close()
    # a new writer (another request, another process) at the kept offset; bytes
    # a cut request had written past the row's offset are dropped first
    w = blobs.writer("u1", 1_200_000)
    w.write(b"garbage that the next writer drops")
    w.sync()
    w.close()
    w = blobs.writer("u1", 1_200_000)
    w.write(data[1_200_000:])
    w.sync()
    w.close()
    assert blobs.partial_sha256("u1") == sha(data)
    assert not blobs.has(sha(data))
    blobs.promote("u1", sha(data))
    assert blobs.partial_count() == 0
    assert blobs.has(sha(data)) and blobs.size(sha(data)) == len(data)
    with blobs.open(sha(data)) as f:
        assert f.read() == data
    assert list(blobs.hashes()) == [sha(data)]


def test_truncate_takes_back_what_the_writer_wrote(blobs: BlobStore) -> None:
    data = photo(3000)
    blobs.start_partial("u2")
    w = blobs.writer("u2", 0)
    w.write(data[:1000])
    w.sync()
    w.close()
    w = blobs.writer("u2", 1000)
    w.write(data[1000:2000])
    w.sync()
    w.truncate()  # e.g. a full disk or a body longer than Upload-Length
    w.sync()
    w.close()
    assert blobs.partial_sha256("u2") == sha(data[:1000])
    assert blobs.discard_partial("u2") == 1000
    assert blobs.partial_count() == 0


def test_collection_trashes_then_purges_or_puts_back(blobs: BlobStore) -> None:
    a, b = photo(5000, seed=2), photo(6000, seed=3)
    blobs.put(sha(a), a)
    blobs.put(sha(b), b)
    blobs.put(sha(a), a)  # twice: still one
    assert sorted(blobs.hashes()) == sorted([sha(a), sha(b)])
    blobs.trash(sha(a))
    assert not blobs.has(sha(a)) and list(blobs.hashes()) == [sha(b)]
    blobs.untrash(sha(a))
    assert blobs.has(sha(a))
    blobs.trash(sha(a))
    assert blobs.purge(sha(a)) == len(a)
    assert not blobs.has(sha(a))
    with pytest.raises(FileNotFoundError):
        blobs.open(sha(a))
    # a process died mid-collection: the row survived for b, not for a
    blobs.put(sha(a), a)
    blobs.trash(sha(a))
    blobs.trash(sha(b))
    blobs.recover_trash(lambda h: h == sha(b))
    assert blobs.has(sha(b)) and not blobs.has(sha(a))
    blobs.put(sha(a), a)  # and it may come back later
    assert blobs.has(sha(a))


def test_stray_partials_are_those_idle_since_before(blobs: BlobStore) -> None:
    import time

    blobs.start_partial("idle")
    now_ms = int(time.time() * 1000)
    assert "idle" in set(blobs.stray_partials(now_ms + 60_000))
    assert "idle" not in set(blobs.stray_partials(now_ms - 60_000))


def test_health(blobs: BlobStore) -> None:
    assert blobs.writable()
    assert blobs.free_bytes() > 0
