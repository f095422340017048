"""The set-wise write path of a push (``BatchTx``) and ``write_fields``'s path
for records with nothing written yet, checked against the general path."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared_schema.merge import Author
from sync_server.domain.sync.batch import BatchTx
from sync_server.domain.sync.records import new_record, write_fields
from sync_server.store.base import FieldMeta
from sync_server.store.sqlite import SqliteStore

AUTHOR = Author("u1", "devA")
FIELDS = {"site_id": "s1", "state": "draft", "lat": None, "notes": "脚手架",
          "answers": {"C01": {"answer": "yes", "note": "现场"}, "C02": {"answer": "no"}}}


@pytest.fixture
def store(tmp_path: Path):
    s = SqliteStore(tmp_path / "w.db")
    s.migrate()
    yield s
    s.close()


def test_a_new_record_is_written_as_the_general_merge_would(store: SqliteStore) -> None:
    """The shortcut for a record with no field written yet stores the same data,
    per-field revisions and history as the per-field merge does."""
    with store.transaction() as tx:
        fresh = new_record("inspection", "i1", 1000, AUTHOR)
        out = write_fields(tx, fresh, FIELDS, {}, "h1", AUTHOR, 2000, "m1")
        assert out.wrote and out.conflicts == []
        # the general path: a record that already has an unrelated field written
        general = new_record("inspection", "i2", 1000, AUTHOR)
        general.meta = {"other": FieldMeta(tx.next_rev(), "h0", "u9", "devZ")}
        general.data["other"] = 1
        write_fields(tx, general, FIELDS, {}, "h1", AUTHOR, 2000, "m2")
    a, b = store.get_record("inspection", "i1"), store.get_record("inspection", "i2")
    assert {k: v for k, v in a.data.items() if k != "id"} == {
        k: v for k, v in b.data.items() if k not in ("id", "other")}
    assert a.data["answers"] == FIELDS["answers"]
    assert set(a.meta) == set(b.meta) - {"other"} == {
        "site_id", "state", "lat", "notes", "answers.C01", "answers.C02"}
    assert {(m.hlc, m.user_id, m.device_id) for m in a.meta.values()} == {("h1", "u1", "devA")}
    assert {m.rev for m in a.meta.values()} == {a.rev}
    history_a = [(h.field, h.value) for h in store.field_history("inspection", "i1")]
    history_b = [(h.field, h.value) for h in store.field_history("inspection", "i2")]
    assert history_a == history_b and len(history_a) == 6


def test_batch_savepoint_puts_the_working_set_back(store: SqliteStore) -> None:
    with store.transaction() as tx:
        work = BatchTx(tx)
        rec = new_record("site", "s1", 1000, AUTHOR)
        write_fields(work, rec, {"name": "甲"}, {}, "h1", AUTHOR, 1000, "m1")
        first_rev = work.max_rev()
        with pytest.raises(RuntimeError):
            with work.savepoint():
                again = work.get_record("site", "s1")
                write_fields(work, again, {"name": "乙"}, {"name": first_rev}, "h2", AUTHOR,
                             1001, "m2")
                assert work.get_record("site", "s1").data["name"] == "乙"
                raise RuntimeError("rejected")
        assert work.max_rev() == first_rev
        assert work.get_record("site", "s1").data["name"] == "甲"
        assert work.history_value("site", "s1", "name", first_rev + 1) == (False, None)
        assert tx.get_record("site", "s1") is None  # nothing written before flush
        work.flush()
    got = store.get_record("site", "s1")
    assert (got.rev, got.data["name"]) == (first_rev, "甲")
    assert store.max_rev() == first_rev
    assert [(h.rev, h.value) for h in store.field_history("site", "s1")] == [(first_rev, "甲")]
