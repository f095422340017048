"""``backup`` then ``restore``: the database and the photos come back the
same, on SQLite with photo files and on PostgreSQL with photos in
PostgreSQL; a damaged backup or an occupied target is refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from ops.conftest import photo, sha
from ops.test_server_ops import tus_upload
from server.support import SCRYPT_N, ManualClock, World
from sync_server.app import create_app
from sync_server.blobs import open_blobs
from sync_server.cli import main as cli_main
from sync_server.settings import Settings
from sync_server.store import open_store

ENTITIES = ("village", "department", "site", "user")


def snapshot(db: Any, blobs: Any) -> dict[str, Any]:
    """What must come back: every record of these entities, the revision, the
    users, and every photo's bytes."""
    store = open_store(db, create=False)
    try:
        records = {e: sorted((r.id, r.rev, repr(sorted(r.data.items()))) for r in store.records(e))
                   for e in ENTITIES}
        out = {"records": records, "max_rev": store.max_rev(),
               "users": sorted(u.username for u in store.list_users())}
    finally:
        store.close()
    photos = open_blobs(blobs)
    try:
        out["photos"] = {h: photos.open(h).read() for h in photos.hashes()}
    finally:
        photos.close()
    return out


def fill(settings: Settings) -> list[bytes]:
    """A world with pushed edits and two uploaded photos, through the real app."""
    clock = ManualClock()
    app = create_app(Settings(**{**settings.__dict__, "now_ms": clock, "scrypt_n": SCRYPT_N}))
    with TestClient(app) as http:
        world = World(http, app.state.store, clock).seed()
        dev = world.device("grid1", "cam-b")
        dev.push(dev.upsert("site", world.site1, {"contact_phone": "13511112222"}))
        photos = [photo(250_000, seed=7), photo(90_000, seed=8)]
        for data in photos:
            tus_upload(http, dev, data, cut=len(data) // 3)
    return photos


def cli(*argv: object) -> int:
    return cli_main([str(a) for a in argv])


def test_sqlite_backup_wipe_restore(tmp_path: Path, capsys) -> None:
    db, blobs = tmp_path / "srv" / "s.db", tmp_path / "srv" / "blobs"
    photos = fill(Settings(db_path=db))
    before = snapshot(str(db), blobs)
    assert set(before["photos"]) == {sha(p) for p in photos}

    backup = tmp_path / "backups" / "b1"
    assert cli("backup", backup, "--db", db) == 0
    assert "integrity ok" in capsys.readouterr().out
    manifest = json.loads((backup / "manifest.json").read_text())
    assert manifest["engine"] == "sqlite" and manifest["photos"] == 2
    assert manifest["photo_bytes"] == sum(len(p) for p in photos)
    assert cli("backup", backup, "--db", db) == 1  # never over an existing backup

    # an occupied target is refused without --force, and nothing changes
    assert cli("restore", backup, "--db", db) == 1
    assert "--force" in capsys.readouterr().err

    shutil.rmtree(tmp_path / "srv")  # the disk died
    assert cli("restore", backup, "--db", db) == 0
    assert snapshot(str(db), blobs) == before
    app = create_app(Settings(db_path=db, scrypt_n=SCRYPT_N))
    with TestClient(app) as http:  # a working server: the restored users log in
        World(http, app.state.store, ManualClock()).login("grid1", "cam-c")


def test_a_damaged_backup_restores_nothing(tmp_path: Path, capsys) -> None:
    db = tmp_path / "srv" / "s.db"
    fill(Settings(db_path=db))
    backup = tmp_path / "b"
    assert cli("backup", backup, "--db", db) == 0
    victim = next((backup / "photos").glob("*/*"))
    victim.write_bytes(victim.read_bytes()[:-1] + b"\x00")
    target = tmp_path / "new" / "s.db"
    capsys.readouterr()
    assert cli("restore", backup, "--db", target) == 1
    assert "does not match its sha256" in capsys.readouterr().err
    assert not target.exists()


@pytest.mark.parametrize("photos_in", ["their own database", "the store's database"])
def test_postgresql_backup_wipe_restore(pg_databases, tmp_path: Path, capsys, photos_in: str) -> None:
    same = photos_in == "the store's database"  # docs/deploy.md's example
    db = pg_databases.fresh()
    blobs = db if same else pg_databases.empty()
    photos = fill(Settings(database_url=db, blobs_url=blobs))
    before = snapshot(db, blobs)
    assert set(before["photos"]) == {sha(p) for p in photos}

    backup = tmp_path / "pg-backup"
    assert cli("backup", backup, "--db", db, "--blobs", blobs) == 0
    manifest = json.loads((backup / "manifest.json").read_text())
    assert manifest["engine"] == "postgresql" and manifest["blob_store"] == "postgresql"
    assert (backup / "database.pgdump").stat().st_size > 0
    assert cli("restore", backup, "--db", db, "--blobs", blobs) == 1  # occupied
    capsys.readouterr()

    # the databases are lost: restore into new, empty ones
    pg_databases.drop(db)
    if not same:
        pg_databases.drop(blobs)
    db2 = pg_databases.empty()
    blobs2 = db2 if same else pg_databases.empty()
    assert cli("restore", backup, "--db", db2, "--blobs", blobs2) == 0, capsys.readouterr().err
    assert snapshot(db2, blobs2) == before
    # and --force puts it back over a database that moved on
    store = open_store(db2)
    with store.transaction() as tx:
        tx.advance_rev(before["max_rev"] + 50)
    store.close()
    assert cli("restore", backup, "--db", db2, "--blobs", blobs2, "--force") == 0
    assert snapshot(db2, blobs2) == before


def test_restore_refuses_the_other_engine(tmp_path: Path, pg_db: str, capsys) -> None:
    db = tmp_path / "s.db"
    fill(Settings(db_path=db))
    assert cli("backup", tmp_path / "b", "--db", db) == 0
    capsys.readouterr()
    assert cli("restore", tmp_path / "b", "--db", pg_db) == 1
    assert "sqlite backup" in capsys.readouterr().err


@pytest.fixture(autouse=True)
def _no_env_blobs(monkeypatch) -> None:
    monkeypatch.delenv("WAGE_PATROL_BLOBS", raising=False)
    monkeypatch.delenv("WAGE_PATROL_DB", raising=False)
