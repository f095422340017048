"""The pure core of the device: the view, acknowledgement, merge keys, the
device clock. Table tests, no database, no network."""

from __future__ import annotations

import pytest

from field_app.core.outbox import DeviceClock
from field_app.core.rebase import acknowledge, apply_fields, view
from field_app.core.store import Tx
from shared_schema.paths import flat_keys
from shared_schema.wire import Delete, Insert, Upsert

N = "dev1"


def up(fields, base=None, seq=1, entity="site", id="s1"):
    return Upsert(id=f"m{seq}", seq=seq, hlc=f"{1000 + seq:013d}.0000.{N}", entity=entity,
                  entity_id=id, fields=fields, base=base or {})


@pytest.mark.parametrize("entity, fields, keys", [
    ("site", {"name": "x", "contractor": "y"}, ["name", "contractor"]),
    ("inspection", {"answers": {"C01": {"answer": "yes"}, "C02": {}}, "notes": "n"},
     ["answers.C01", "answers.C02", "notes"]),
    ("case", {"answers": {"C01": 1}}, ["answers"]),  # only inspections merge per item
])
def test_flat_keys(entity, fields, keys) -> None:
    assert flat_keys(entity, fields) == keys


@pytest.mark.parametrize("server, mutations, expected", [
    # no local edits: the server's values
    ({"id": "s1", "name": "a"}, [], {"id": "s1", "name": "a", "deleted": False}),
    # a waiting edit stays on top of a newer server value
    ({"id": "s1", "name": "server"}, [up({"name": "local"})],
     {"id": "s1", "name": "local", "deleted": False}),
    # edits apply in seq order
    ({"id": "s1"}, [up({"name": "1"}, seq=1), up({"name": "2"}, seq=2)],
     {"id": "s1", "name": "2", "deleted": False}),
    # a record only this device has
    (None, [up({"name": "new"})], {"id": "s1", "name": "new", "deleted": False}),
    # a delete tombstones
    ({"id": "s1", "name": "a"}, [Delete(id="d", seq=3, hlc="x", entity="site", entity_id="s1")],
     {"id": "s1", "name": "a", "deleted": True}),
])
def test_view(server, mutations, expected) -> None:
    assert view("site", "s1", server, mutations) == expected


def test_view_merges_answers_per_item() -> None:
    server = {"id": "i1", "answers": {"C01": {"answer": "yes"}, "C02": {"answer": "no"}}}
    m = up({"answers": {"C02": {"answer": "yes", "note": "n"}}}, entity="inspection", id="i1")
    assert view("inspection", "i1", server, [m])["answers"] == {
        "C01": {"answer": "yes"}, "C02": {"answer": "yes", "note": "n"}}


def test_case_events_carry_their_hlc_for_the_fold() -> None:
    ev = Insert(id="m", seq=1, hlc="0000000001000.0000.dev1", entity="case_event",
                entity_id="e1", fields={"case_id": "c1", "kind": "accept"})
    assert view("case_event", "e1", None, [ev])["hlc"] == ev.hlc


def test_acknowledge_leaves_conflicted_fields_to_the_pull() -> None:
    server = {"id": "s1", "name": "old", "contractor": "theirs"}
    m = up({"name": "mine", "contractor": "mine"})
    assert acknowledge("site", server, m, conflicted={"contractor"}) == {
        "id": "s1", "name": "mine", "contractor": "theirs", "deleted": False}
    answers = up({"answers": {"C01": {"answer": "no"}, "C02": {"answer": "na"}}},
                 entity="inspection", id="i1")
    assert acknowledge("inspection", {"id": "i1"}, answers, {"answers.C01"})["answers"] == {
        "C02": {"answer": "na"}}


def test_apply_fields_skip() -> None:
    assert apply_fields("site", {"a": 1}, {"a": 2, "b": 3}, skip={"a"}) == {"a": 1, "b": 3}


class _State(Tx):
    def __init__(self) -> None:
        self.values: dict = {}

    def set(self, key, value) -> None:
        self.values[key] = value


def test_device_clock_rolls_over_instead_of_refusing() -> None:
    tx = _State()
    clock = DeviceClock(N, lambda: 5, f"{10_000:013d}.9998.{N}")  # phone clock far behind
    first = clock.tick(tx)
    second = clock.tick(tx)
    assert first == f"{10_000:013d}.9999.{N}"
    assert second == f"{10_001:013d}.0000.{N}" and second > first
    assert tx.values["hlc"] == second
    clock.receive(tx, f"{10_001:013d}.9999.other")
    assert tx.values["hlc"] > f"{10_001:013d}.9999.other"
    clock.receive(tx, "not an hlc")  # ignored
    clock.receive(tx, f"{1:013d}.0000.old")  # older: never goes back
    assert clock.last == tx.values["hlc"]
