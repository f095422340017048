"""The photo store behind one small contract (``base.BlobStore``): a directory
(the default, ``<db dir>/blobs``) or PostgreSQL tables, chosen by one setting
(``--blobs`` / ``WAGE_PATROL_BLOBS``: a directory path or a
``postgresql://`` URL)."""

from __future__ import annotations

from pathlib import Path

from sync_server.blobs.base import BlobError, BlobStore, PartialWriter
from sync_server.blobs.directory import DirectoryBlobs

__all__ = ["BlobError", "BlobStore", "DirectoryBlobs", "PartialWriter", "is_blob_url", "open_blobs"]

_PG_SCHEMES = ("postgresql://", "postgres://")


def is_blob_url(location: str | Path) -> bool:
    return isinstance(location, str) and str(location).startswith(_PG_SCHEMES)


def open_blobs(location: str | Path) -> BlobStore:
    """The blob store at ``location``: a ``postgresql://`` URL or a directory."""
    if is_blob_url(location):
        from sync_server.blobs.postgres import PostgresBlobs

        return PostgresBlobs(str(location))
    return DirectoryBlobs(Path(location))
