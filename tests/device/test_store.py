"""The local store: migrations, pragmas, device identity, one transaction per action."""

from __future__ import annotations

import uuid

import pytest
import sqlite_utils

from field_app.core import Device
from field_app.core.store import LocalStore, Tx, m001_initial, migrations

from .support import LiveServer, fast_settings


def test_open_creates_a_migrated_wal_store(tmp_path) -> None:
    dev = Device.open(tmp_path / "phone", fast_settings())
    try:
        assert (tmp_path / "phone" / "device.db").exists()
        assert dev.store.applied_migrations() == [m.name for m in migrations._migrations]
        assert dev.store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert dev.store.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert uuid.UUID(dev.device_id).version == 7
        first = dev.device_id
    finally:
        dev.close()
    again = Device.open(tmp_path / "phone", fast_settings())
    try:
        assert again.device_id == first  # generated once
        assert again.store.applied_migrations() == ["m001_initial", "m002_record_keys"]
    finally:
        again.close()


def test_m001_initial_creates_the_tables(tmp_path) -> None:
    db = sqlite_utils.Database(tmp_path / "m.db")
    m001_initial(db)
    assert {"state", "records", "outbox", "quarantine", "photos"} <= set(db.table_names())
    assert db["outbox"].pks == ["seq"]
    assert set(db["records"].pks) == {"entity", "id"}
    assert "upload_url" in db["photos"].columns_dict


def test_migrations_are_recorded_and_not_rerun(tmp_path) -> None:
    store = LocalStore(tmp_path / "s", lambda: 0)
    store.migrate()
    store.migrate()
    rows = list(store.db["_sqlite_migrations"].rows_where("migration_set = ?", ["field_app"]))
    assert [r["name"] for r in rows] == ["m001_initial", "m002_record_keys"]
    store.close()


def test_an_action_is_one_transaction(server: LiveServer, make_device,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure after the outbox row is written leaves neither the row nor
    the record change: the whole action rolls back."""
    dev = make_device("A", server, "grid1")
    before = dev.get("site", server.town.site1)

    def boom(self: Tx, entity: str, id: str) -> None:
        raise RuntimeError("power cut")

    monkeypatch.setattr(Tx, "refresh", boom)
    with pytest.raises(RuntimeError):
        dev.update_site(server.town.site1, contact_name="断电")
    with pytest.raises(RuntimeError):
        dev.create_site(name="新", kind="other", village_id=server.town.v1)
    monkeypatch.undo()
    assert dev.status().pending_mutations == 0
    assert dev.get("site", server.town.site1) == before
    assert len(dev.sites()) == 2
    with dev.store.read() as tx:
        assert tx.get("next_seq", 0) == 0
    assert dev.check() == []
