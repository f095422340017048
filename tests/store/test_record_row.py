"""``_record_row``: a record whose fields were all set by one write (one shared
``FieldMeta``, the shortcut) is stored exactly as the general per-write
grouping stores it (the same values in distinct ``FieldMeta`` objects)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from sync_server.store.base import FieldMeta, StoredRecord
from sync_server.store.sqlite import _record_row


def _record(meta: dict[str, FieldMeta]) -> StoredRecord:
    return StoredRecord(entity="inspection", id="i1", rev=7,
                        data={"id": "i1", "site_id": "s1", "answers": {"C01": {"answer": "yes"}}},
                        meta=meta, village_id="v1", site_id="s1", created_by_user="u1")


@pytest.mark.parametrize("hlc", ["0001700000000000.0001.d1", None])
def test_one_write_shortcut_gives_the_general_row(hlc) -> None:
    names = ["site_id", "state", "answers.C01", "answers.C02", "lat", "notes"]
    shared = FieldMeta(rev=7, hlc=hlc, user_id="u1", device_id="d1")
    fast = _record_row(_record(dict.fromkeys(names, shared)))
    general = _record_row(_record({n: replace(shared) for n in names}))  # distinct objects
    assert fast == general
    assert fast[5] == ('[[7,%s,"u1","d1",["site_id","state","answers.C01","answers.C02",'
                       '"lat","notes"]]]' % ("null" if hlc is None else f'"{hlc}"'))
    assert fast[14] == hlc


def test_several_writes_are_grouped_per_write() -> None:
    a = FieldMeta(rev=3, hlc="0001700000000000.0000.d1", user_id="u1", device_id="d1")
    b = FieldMeta(rev=7, hlc="0001700000000009.0000.d2", user_id="u2", device_id="d2")
    row = _record_row(_record({"site_id": a, "state": b, "lat": a}))
    assert row[5] == ('[[3,"0001700000000000.0000.d1","u1","d1",["site_id","lat"]],'
                      '[7,"0001700000000009.0000.d2","u2","d2",["state"]]]')
    assert row[13] == '{"site_id":3,"state":7,"lat":3}'
    assert row[14] == "0001700000000009.0000.d2"
