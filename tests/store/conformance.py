"""The ``SyncStore`` conformance suite: every backend must pass it.

A backend's test module subclasses ``SyncStoreConformance`` and provides two
fixtures::

    store           a migrated, empty store, closed after the test
    open_another    a callable opening a second store on the same database
                    (another connection, as another server process would)

Only the interface in ``sync_server/store/base.py`` is used here, so the same
tests run against SQLite now and PostgreSQL later.
"""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import msgspec
import pytest

from sync_server.store import BACKEND_ERRORS
from sync_server.store.base import (
    AuditRow,
    ChangeRow,
    ConflictRecord,
    DeviceRow,
    DeviceStats,
    FieldMeta,
    LedgerEntry,
    StoredRecord,
    StoreHealth,
    SyncStore,
    TokenAndUser,
    TokenRow,
    UploadRow,
    UserRow,
    Visibility,
)

V1, V2, D1, D2 = "village-1", "village-2", "dept-1", "dept-2"
SHA_A, SHA_B, SHA_C = "a" * 64, "b" * 64, "c" * 64


class Boom(Exception):
    pass


def _boom() -> None:
    raise Boom


def put(tx: Any, entity: str, id: str, data: dict[str, Any] | None = None, *,
        deleted: bool = False, **keys: Any) -> StoredRecord:
    """Store a record at a fresh revision, with one meta entry per data field."""
    rev = tx.next_rev()
    data = {"id": id, **(data or {})}
    meta = {k: FieldMeta(rev, f"1764140000000.{rev:04d}.devA", "u1", "devA")
            for k in data if k != "id"}
    record = StoredRecord(entity=entity, id=id, rev=rev, data=data, meta=meta,
                          deleted=deleted, **keys)
    tx.put_record(record)
    return record


def in_threads(worker: Callable[[int], None], n: int) -> list[BaseException]:
    """``worker(0)`` .. ``worker(n - 1)``, each in its own thread at once; what
    they raised (the caller asserts it is nothing)."""
    errors: list[BaseException] = []

    def guarded(i: int) -> None:
        try:
            worker(i)
        except BaseException as exc:  # pragma: no cover - reported by the caller
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def pull_page(store: SyncStore, since: int, limit: int, visibility: Visibility) -> list[ChangeRow]:
    """A pull page as the pull service asks for it: up to the stable revision,
    read with it (``pull_page``)."""
    return store.pull_page("devA", since, limit, visibility).rows


def visible_ids(store: SyncStore, visibility: Visibility, since: int = 0,
                limit: int = 1000) -> list[str]:
    return [r.id for r in pull_page(store, since, limit, visibility)]


def user(id: str = "u1", username: str = "grid1", **kw: Any) -> UserRow:
    return UserRow(id=id, username=username, display_name=kw.pop("display_name", "网格员一"),
                   role=kw.pop("role", "grid_officer"), password_hash="scrypt$x", **kw)


def ledger(id: str, seq: int, status: str, device_id: str = "devA") -> LedgerEntry:
    return LedgerEntry(id=id, device_id=device_id, user_id="u1", seq=seq, fingerprint=f"fp-{id}",
                       status=status, result={"id": id, "status": status}, entity="site",
                       entity_id="s1", received_at=1000 + seq)


def conflict(id: str, status: str = "open", created_at: int = 1) -> ConflictRecord:
    return ConflictRecord(
        id=id, entity="site", entity_id="s1", field="contractor", base_rev=3,
        base_value="原总包", winner_value={"name": "乙公司"}, winner_hlc="h2",
        winner_user="u2", winner_device="devB", loser_value=["甲", 1.5, None],
        loser_hlc="h1", loser_user="u1", loser_device="devA", mutation_id="m1",
        created_at=created_at, status=status,
    )


class SyncStoreConformance:
    """Subclass in a backend's test module and provide ``store`` and ``open_another``."""

    # --- schema ----------------------------------------------------------------

    def test_migrate_is_idempotent(self, store: SyncStore) -> None:
        with store.transaction() as tx:
            put(tx, "site", "s1", {"name": "工地"})
        store.migrate()
        store.migrate()
        assert store.get_record("site", "s1").data["name"] == "工地"
        assert store.max_rev() == 1

    def test_fresh_store_is_empty(self, store: SyncStore) -> None:
        assert store.max_rev() == 0
        assert pull_page(store, 0, 100, Visibility(all=True)) == []
        assert store.list_users() == []
        assert store.list_conflicts() == []
        assert store.health_check() == StoreHealth(ok=True)

    # --- transactions ------------------------------------------------------------

    def test_transaction_commits(self, store: SyncStore) -> None:
        with store.transaction() as tx:
            put(tx, "site", "s1", {"name": "a"})
            put(tx, "site", "s2", {"name": "b"})
        assert store.count_records("site") == 2
        assert store.max_rev() == 2

    def test_exception_inside_a_transaction_rolls_everything_back(
            self, store: SyncStore) -> None:
        with store.transaction() as tx:
            put(tx, "site", "before", {"name": "kept"})
        with pytest.raises(Boom):
            with store.transaction() as tx:
                put(tx, "site", "s1", {"name": "lost"})
                tx.put_mutation(ledger("m1", 1, "applied"))
                tx.put_user(user())
                tx.put_blob(SHA_A, 10, 1, "devA")
                raise Boom()
        assert store.get_record("site", "s1") is None
        assert store.get_mutation("m1") is None
        assert store.get_user("u1") is None
        assert not store.has_blob(SHA_A)
        assert store.max_rev() == 1
        assert [r.id for r in store.records("site")] == ["before"]

    def test_store_is_usable_after_a_rollback(self, store: SyncStore) -> None:
        with pytest.raises(Boom):
            with store.transaction() as tx:
                put(tx, "site", "s1")
                raise Boom()
        with store.transaction() as tx:
            put(tx, "site", "s2")
        assert [r.id for r in store.records("site")] == ["s2"]

    def test_savepoint_rollback_keeps_the_outer_transaction(self, store: SyncStore) -> None:
        with store.transaction() as tx:
            put(tx, "site", "outer1")
            with pytest.raises(Boom):
                with tx.savepoint():
                    put(tx, "site", "inner-lost")
                    tx.put_mutation(ledger("m-lost", 1, "applied"))
                    raise Boom()
            assert tx.get_record("site", "inner-lost") is None
            with tx.savepoint():
                put(tx, "site", "inner-kept")
            put(tx, "site", "outer2")
        assert sorted(r.id for r in store.records("site")) == ["inner-kept", "outer1", "outer2"]
        assert store.get_mutation("m-lost") is None

    def test_nested_savepoints(self, store: SyncStore) -> None:
        with store.transaction() as tx:
            with tx.savepoint():
                put(tx, "site", "a")
                with pytest.raises(Boom):
                    with tx.savepoint():
                        put(tx, "site", "b")
                        raise Boom()
                put(tx, "site", "c")
        assert sorted(r.id for r in store.records("site")) == ["a", "c"]

    def test_transaction_reads_its_own_writes(self, store: SyncStore) -> None:
        with store.transaction() as tx:
            put(tx, "site", "s1", {"name": "a"})
            assert tx.get_record("site", "s1").data["name"] == "a"
            tx.put_mutation(ledger("m1", 1, "applied"))
            assert tx.get_mutation("m1").status == "applied"
            tx.put_device(DeviceRow(device_id="devA", user_id="u1"))
            assert tx.get_device("devA").user_id == "u1"
            assert tx.max_rev() == 1

    def test_write_grouped_returns_after_commit(
            self, store: SyncStore, open_another: Callable[[], SyncStore]) -> None:
        other = open_another()

        def write(tx: Any) -> int:
            put(tx, "site", "s1", {"name": "grouped"})
            return tx.max_rev()

        assert store.write_grouped(write) == 1
        assert other.get_record("site", "s1").data["name"] == "grouped"

    def test_write_grouped_failure_undoes_only_that_writer(self, store: SyncStore) -> None:
        def bad(tx: Any) -> None:
            put(tx, "site", "lost")
            tx.put_mutation(ledger("m-lost", 1, "applied"))
            raise Boom()

        with pytest.raises(Boom):
            store.write_grouped(bad)
        assert store.get_record("site", "lost") is None
        assert store.write_grouped(lambda tx: put(tx, "site", "kept").rev) == store.max_rev()
        assert [r.id for r in store.records("site")] == ["kept"]
        assert store.get_mutation("m-lost") is None

    def test_write_grouped_concurrent_writers_share_commits(self, store: SyncStore) -> None:
        """Many writers at once: each one's writes land exactly once, the failing
        ones' not at all, and every writer sees its own result."""
        results: dict[int, Any] = {}
        start = threading.Barrier(24)

        def writer(n: int) -> None:
            def fn(tx: Any) -> int:
                rec = put(tx, "site", f"g{n}")
                tx.put_mutation(ledger(f"m{n}", n, "applied"))
                if n % 5 == 0:
                    raise Boom(n)
                return rec.rev

            start.wait()
            try:
                results[n] = store.write_grouped(fn)
            except Boom as exc:
                results[n] = exc

        assert in_threads(writer, 24) == []
        failed = {n for n in range(24) if n % 5 == 0}
        assert {n for n, r in results.items() if isinstance(r, Boom)} == failed
        kept = {f"g{n}" for n in range(24) if n not in failed}
        assert {r.id for r in store.records("site")} == kept
        for n in range(24):
            rec = store.get_record("site", f"g{n}")
            if n in failed:
                assert rec is None and store.get_mutation(f"m{n}") is None
            else:
                assert rec.rev == results[n] and store.get_mutation(f"m{n}").seq == n
        revs = [r.rev for r in store.records("site")]
        assert len(set(revs)) == len(revs) == len(kept)

    # --- revisions ---------------------------------------------------------------

    def test_next_rev_strictly_increases_across_transactions(self, store: SyncStore) -> None:
        revs = []
        for _ in range(3):
            with store.transaction() as tx:
                revs += [tx.next_rev(), tx.next_rev()]
                assert tx.max_rev() == revs[-1]
        assert revs == list(range(1, 7))
        assert store.max_rev() == 6

    def test_next_rev_unique_under_concurrent_writers(self, store: SyncStore) -> None:
        revs: list[int] = []
        lock = threading.Lock()

        def writer(n: int) -> None:
            for i in range(25):
                with store.transaction() as tx:
                    rev = tx.next_rev()
                    put(tx, "site", f"t{n}-{i}")
                with lock:
                    revs.append(rev)

        assert in_threads(writer, 4) == []
        assert len(revs) == len(set(revs)) == 100
        assert store.max_rev() == 200
        assert store.count_records("site") == 100
        stored = [r.rev for r in store.records("site")]
        assert len(set(stored)) == 100

    # --- records -----------------------------------------------------------------

    def test_record_round_trip_with_meta_and_keys(self, store: SyncStore) -> None:
        with store.transaction() as tx:
            rev = tx.next_rev()
            record = StoredRecord(
                entity="inspection", id="i1", rev=rev,
                data={"id": "i1", "notes": "脚手架旁 “引号” \u2028 line", "lat": 29.56,
                      "answers": {"C08": {"answer": 42, "value": None, "note": "现场"}},
                      "flags": [True, False, None], "big": 2**53},
                meta={"notes": FieldMeta(rev, "1764140000000.0000.devA", "u1", "devA"),
                      "answers.C08": FieldMeta(rev, "1764140000000.0001.devA", "u1", "devA"),
                      "lat": FieldMeta(rev, "h", None, None)},
                village_id=V1, department_id=D1, site_id="s1", parent_id="s1",
                created_by_user="u1", created_by_device="devA",
            )
            tx.put_record(record)
        got = store.get_record("inspection", "i1")
        assert got == record
        assert got.field_revs() == {"notes": rev, "answers.C08": rev, "lat": rev}
        assert store.get_record("inspection", "nope") is None
        assert store.get_record("site", "i1") is None  # (entity, id) is the key

    def test_put_record_replaces_and_moves_revision(self, store: SyncStore) -> None:
        with store.transaction() as tx:
            put(tx, "site", "s1", {"name": "old"})
            put(tx, "site", "s2")
        with store.transaction() as tx:
            record = tx.get_record("site", "s1")
            record.rev = tx.next_rev()
            record.data["name"] = "new"
            record.deleted = True
            tx.put_record(record)
        got = store.get_record("site", "s1")
        assert (got.rev, got.data["name"], got.deleted) == (3, "new", True)
        assert [r.id for r in store.records("site")] == ["s2", "s1"]
        assert store.count_records("site") == 1
        assert store.count_records("site", include_deleted=True) == 2

    def test_children(self, store: SyncStore) -> None:
        with store.transaction() as tx:
            put(tx, "site", "s1", site_id="s1")
            put(tx, "inspection", "i1", site_id="s1", parent_id="s1")
            put(tx, "case", "c1", site_id="s1")
            put(tx, "case_event", "e1", site_id="s1", parent_id="c1")
            put(tx, "photo", "p1", site_id="s1", parent_id="i1")
            put(tx, "photo", "p2", site_id="s1", parent_id="c1")
            put(tx, "inspection", "other", site_id="s2", parent_id="s2")
            assert sorted(r.id for r in tx.children_of_site("s1")) == [
                "c1", "e1", "i1", "p1", "p2"]
            assert [r.id for r in tx.children_of("c1", "case_event")] == ["e1"]
            assert [r.id for r in tx.children_of("c1", "photo")] == ["p2"]
            assert tx.children_of("i1", "case_event") == []

    def test_field_history(self, store: SyncStore) -> None:
        with store.transaction() as tx:
            tx.add_history("site", "s1", "name", FieldMeta(3, "h3", "u1", "devA"), "旧名")
            tx.add_history("site", "s1", "name", FieldMeta(7, "h7", "u2", "devB"), None)
            tx.add_tombstone("site", "s1", 9, 1000, "u1")
        with store.transaction() as tx:
            assert tx.history_value("site", "s1", "name", 3) == (True, "旧名")
            assert tx.history_value("site", "s1", "name", 7) == (True, None)
            assert tx.history_value("site", "s1", "name", 5) == (False, None)
            assert tx.history_value("site", "s1", "contractor", 3) == (False, None)

    def test_one_history_row_per_write(self, store: SyncStore) -> None:
        meta = FieldMeta(4, "h4", "u1", "devA")
        with store.transaction() as tx:
            tx.add_write("inspection", "i1", meta, {
                "notes": "脚手架", "answers.C01": {"answer": "yes", "value": None, "note": ""},
                "lat": None, "gov": False})
            tx.add_writes([("inspection", "i1", FieldMeta(9, "h9", "u2", "devB"),
                            {"notes": "改"}),
                           ("site", "s1", FieldMeta(5, "h5", "u1", "devA"), {"name": "工地"})])
            # a field joining an existing write's row (an office decision at that revision)
            tx.add_history("inspection", "i1", "review_state", FieldMeta(9, "h9", "u2", "devB"),
                           "approved")
        with store.transaction() as tx:
            assert tx.history_value("inspection", "i1", "answers.C01", 4) == (
                True, {"answer": "yes", "value": None, "note": ""})
            assert tx.history_value("inspection", "i1", "lat", 4) == (True, None)
            assert tx.history_value("inspection", "i1", "gov", 4) == (True, False)
            assert tx.history_value("inspection", "i1", "notes", 9) == (True, "改")
            assert tx.history_value("inspection", "i1", "review_state", 9) == (True, "approved")
            assert tx.history_value("inspection", "i1", "lat", 9) == (False, None)
            assert tx.history_value("site", "s1", "name", 4) == (False, None)
        rows = store.field_history("inspection", "i1")
        assert [(h.rev, h.field, h.value, h.hlc, h.user_id, h.device_id) for h in rows] == [
            (4, "answers.C01", {"answer": "yes", "value": None, "note": ""}, "h4", "u1", "devA"),
            (4, "gov", False, "h4", "u1", "devA"), (4, "lat", None, "h4", "u1", "devA"),
            (4, "notes", "脚手架", "h4", "u1", "devA"),
            (9, "notes", "改", "h9", "u2", "devB"),
            (9, "review_state", "approved", "h9", "u2", "devB")]
        assert [(h.rev, h.field) for h in store.field_history("site", "s1")] == [(5, "name")]

    def test_history_rolls_back_with_its_savepoint(self, store: SyncStore) -> None:
        with store.transaction() as tx:
            with pytest.raises(Boom):
                with tx.savepoint():
                    tx.add_write("site", "s1", FieldMeta(3, "h3", "u1", "devA"), {"name": "x"})
                    raise Boom()
            assert tx.history_value("site", "s1", "name", 3) == (False, None)
        assert store.field_history("site", "s1") == []

    # --- set-wise access (a push batch) ------------------------------------------------

    def test_get_records_and_children_of_parents(self, store: SyncStore) -> None:
        with store.transaction() as tx:
            s1 = put(tx, "site", "s1", {"name": "a"}, site_id="s1")
            i1 = put(tx, "inspection", "i1", site_id="s1", parent_id="s1")
            p1 = put(tx, "photo", "p1", site_id="s1", parent_id="i1")
            e1 = put(tx, "case_event", "e1", parent_id="c1")
            put(tx, "photo", "p2", parent_id="other")
        with store.transaction() as tx:
            got = tx.get_records([("site", "s1"), ("inspection", "i1"), ("site", "i1"),
                                  ("site", "nope"), ("site", "s1")])
            assert got == {("site", "s1"): s1, ("inspection", "i1"): i1}
            assert tx.get_records([]) == {}
            many = tx.get_records([("site", f"x{i}") for i in range(1200)] + [("photo", "p1")])
            assert many == {("photo", "p1"): p1}
            # a few keys are read one way, many another (sqlite: POINT_READS): both here
            mixed = [("site", f"x{i}") for i in range(40)] + [("site", "s1"), ("photo", "p1"),
                                                             ("inspection", "i1")]
            assert tx.get_records(mixed) == {("site", "s1"): s1, ("photo", "p1"): p1,
                                             ("inspection", "i1"): i1}
            kids = tx.children_of_parents(["i1", "c1", "nobody", "i1"])
            assert sorted(kids, key=lambda r: r.id) == [e1, p1]
            kids = tx.children_of_parents([f"n{i}" for i in range(40)] + ["i1", "c1"])
            assert sorted(kids, key=lambda r: r.id) == [e1, p1]
            assert tx.children_of_parents([]) == []

    def test_get_and_put_many_mutations(self, store: SyncStore) -> None:
        entries = [ledger(f"m{i}", i, "applied") for i in range(1, 4)]
        entries[1].result = {"id": "m2", "status": "rejected", "error": {"code": "x"}}
        with store.transaction() as tx:
            tx.put_mutations(entries)
            assert tx.get_mutations(["m2", "m9"]) == {"m2": entries[1]}
        with store.transaction() as tx:
            assert tx.get_mutations(["m1", "m2", "m3", "m1"]) == {e.id: e for e in entries}
            assert tx.get_mutations([f"n{i}" for i in range(40)] + ["m3", "m1"]) == {
                "m1": entries[0], "m3": entries[2]}
            assert tx.get_mutations([]) == {}
        with pytest.raises(BACKEND_ERRORS):  # a unique key taken twice
            with store.transaction() as tx:
                tx.put_mutations([ledger("m4", 4, "applied"), ledger("m1", 5, "applied")])
        assert store.get_mutation("m4") is None  # the whole transaction went

    def test_put_records_and_add_conflicts(self, store: SyncStore) -> None:
        with store.transaction() as tx:
            a = put(tx, "site", "s1", {"name": "a"})
            first = tx.max_rev() + 1
            b = StoredRecord(entity="site", id="s2", rev=first, data={"id": "s2", "name": "b"},
                             meta={"name": FieldMeta(first, "h1", "u1", "devA")})
            a.rev, a.data = first + 1, {**a.data, "name": "a2"}
            a.meta = {**a.meta, "name": FieldMeta(first + 1, "h2", "u1", "devA")}
            tx.put_records([b, a])
            tx.advance_rev(first + 1)
            tx.add_conflicts([conflict("k1"), conflict("k2", created_at=2)])
        assert store.get_record("site", "s1") == a
        assert store.get_record("site", "s2") == b
        assert store.max_rev() == first + 1
        assert [c.id for c in store.list_conflicts()] == ["k1", "k2"]
        rows = store.change_rows_since(0, 10, Visibility(all=True), upto=store.stable_rev())
        assert [(r.id, r.rev, msgspec.json.decode(r.field_revs), r.hlc) for r in rows] == [
            ("s2", first, {"name": first}, "h1"), ("s1", first + 1, {"name": first + 1}, "h2")]

    def test_advance_rev_never_goes_back(self, store: SyncStore) -> None:
        with store.transaction() as tx:
            tx.advance_rev(5)
            assert tx.max_rev() == 5
            tx.advance_rev(5)  # nothing handed out: allowed
            assert tx.next_rev() == 6
            with pytest.raises(ValueError):
                tx.advance_rev(5)
        assert store.max_rev() == 6

    # --- pull pages --------------------------------------------------------------

    @pytest.fixture
    def scoped(self, store: SyncStore) -> SyncStore:
        with store.transaction() as tx:
            put(tx, "village", V1)                                            # 1
            put(tx, "department", D1)                                         # 2
            put(tx, "user", "u9")                                             # 3
            put(tx, "checklist_template", "tpl")                              # 4
            put(tx, "site", "s-v1", village_id=V1, department_id=D2)          # 5
            put(tx, "site", "s-v2-d1", village_id=V2, department_id=D1)       # 6
            put(tx, "site", "s-v2", village_id=V2, department_id=D2)          # 7
            put(tx, "case", "c-mine", created_by_user="u1")                   # 8
            put(tx, "case", "c-theirs", created_by_user="u2")                 # 9
            put(tx, "inspection", "i-v1", village_id=V1, deleted=True)        # 10
        return store

    REFERENCE = ["village-1", "dept-1", "u9", "tpl"]

    @pytest.mark.parametrize(("visibility", "extra"), [
        (Visibility(all=True),
         ["s-v1", "s-v2-d1", "s-v2", "c-mine", "c-theirs", "i-v1"]),
        (Visibility(all=False, village_ids=(V1,), user_id="u7"), ["s-v1", "i-v1"]),
        (Visibility(all=False, department_ids=(D1,), user_id="u7"), ["s-v2-d1"]),
        (Visibility(all=False, village_ids=(V1,), department_ids=(D1,), user_id="u7"),
         ["s-v1", "s-v2-d1", "i-v1"]),
        (Visibility(all=False, user_id="u1"), ["c-mine"]),
        (Visibility(all=False, village_ids=(V2,), user_id="u2"), ["s-v2-d1", "s-v2", "c-theirs"]),
        (Visibility(all=False), []),
    ], ids=["all", "village", "department", "village+department", "creator", "village2",
            "nothing"])
    def test_pull_page_visibility(self, scoped: SyncStore, visibility: Visibility,
                                      extra: list[str]) -> None:
        got = pull_page(scoped, 0, 100, visibility)
        assert [r.id for r in got] == self.REFERENCE + extra
        assert [r.rev for r in got] == sorted(r.rev for r in got)

    @pytest.mark.parametrize("visibility", [
        Visibility(all=True), Visibility(all=False, village_ids=(V1,), user_id="u7"),
        Visibility(all=False, department_ids=(D1,), user_id="u7"), Visibility(all=False),
    ], ids=["all", "village", "department", "nothing"])
    @pytest.mark.parametrize(("since", "limit"), [(0, 100), (0, 2), (4, 3)])
    def test_change_rows_agree_with_changes(self, scoped: SyncStore, visibility: Visibility,
                                            since: int, limit: int) -> None:
        """The pull page in raw form says exactly what the records say."""
        rows = pull_page(scoped, since, limit, visibility)
        assert len(rows) == len(visible_ids(scoped, visibility, since)[:limit])
        for row in rows:
            assert isinstance(row, ChangeRow)
            rec = scoped.get_record(row.entity, row.id)
            assert (row.entity, row.id, row.rev, row.deleted, row.created_by_user) == (
                rec.entity, rec.id, rec.rev, rec.deleted, rec.created_by_user)
            assert msgspec.json.decode(row.data) == rec.data
            assert msgspec.json.decode(row.field_revs) == rec.field_revs()
            assert row.hlc == max((m.hlc for m in rec.meta.values() if m.hlc), default=None)

    @pytest.mark.parametrize("upto", [0, 3, 7, 10])
    def test_change_rows_stop_at_upto(self, scoped: SyncStore, upto: int) -> None:
        """A pull page never goes past the revision it is given (``stable_rev``)."""
        for visibility in (Visibility(all=True), Visibility(all=False, village_ids=(V1,),
                                                             user_id="u1")):
            rows = scoped.change_rows_since(0, 100, visibility, upto=upto)
            every = scoped.change_rows_since(0, 100, visibility, upto=scoped.stable_rev())
            assert [r.id for r in rows] == [r.id for r in every if r.rev <= upto]

    @pytest.mark.parametrize("since", [0, 3, 10])
    def test_pull_page_is_the_device_the_stable_rev_and_the_page_to_it(
            self, scoped: SyncStore, since: int) -> None:
        """``pull_page`` reads together what the pull reads one by one; a page
        past the last revision is empty and still says the revision."""
        with scoped.transaction() as tx:
            tx.put_device(DeviceRow(device_id="devA", user_id="u1", scope_version_seen=4))
        scoped.note_pull("devA", 5_000)
        for visibility in (Visibility(all=True), Visibility(all=False, village_ids=(V1,),
                                                             user_id="u1"),
                           Visibility(all=False, department_ids=("nobody",))):
            for limit in (1, 3, 100):
                read = scoped.pull_page("devA", since, limit, visibility)
                assert read.top == scoped.stable_rev() == 10
                assert read.device == scoped.get_device("devA")
                assert read.device is not None and read.device.last_pull_ms == 5_000
                assert read.rows == scoped.change_rows_since(since, limit, visibility,
                                                             upto=read.top)
        assert scoped.pull_page("nobody", 0, 10, Visibility(all=True)).device is None
        assert scoped.pull_page("devA", 10, 10, Visibility(all=True)).rows == []

    def test_a_savepoint_rolled_back_gives_its_revisions_back(self, store: SyncStore) -> None:
        with store.transaction() as tx:
            first = tx.next_rev()
            with pytest.raises(Boom):
                with tx.savepoint():
                    assert tx.next_rev() == first + 1
                    tx.advance_rev(first + 5)
                    raise Boom()
            assert tx.max_rev() == first
            assert tx.next_rev() == first + 1
        assert store.max_rev() == store.stable_rev() == first + 1

    def test_a_failing_write_fails_inside_its_savepoint(self, store: SyncStore) -> None:
        """A write that breaks a constraint (the ledger's key, written twice)
        raises before its savepoint ends, so the savepoint undoes it alone."""
        with store.transaction() as tx:
            tx.put_mutation(ledger("m1", 1, "applied"))
        with store.transaction() as tx:
            put(tx, "site", "kept")
            with pytest.raises(Exception, match=r"(?i)unique"):  # the engine's own error
                with tx.savepoint():
                    put(tx, "site", "lost")
                    tx.put_mutations([ledger("m1", 2, "applied")])
            put(tx, "site", "kept2")
        assert sorted(r.id for r in store.records("site")) == ["kept", "kept2"]
        assert store.get_mutation("m1").seq == 1

    def test_stable_rev_covers_every_committed_revision(self, store: SyncStore) -> None:
        assert store.stable_rev() == 0
        with store.transaction() as tx:
            put(tx, "site", "s1")
            put(tx, "site", "s2")
        assert 2 == store.stable_rev() <= store.max_rev()
        with pytest.raises(Boom):
            with store.transaction() as tx:
                put(tx, "site", "s3")
                raise Boom
        assert store.stable_rev() >= 2
        assert [r.id for r in store.change_rows_since(0, 10, Visibility(all=True),
                                                      upto=store.stable_rev())] == ["s1", "s2"]

    def test_concurrent_writers_never_let_a_puller_skip_a_revision(
            self, store: SyncStore) -> None:
        """The cursor rule: writers in threads (some with several records, some
        rolled back) while a puller pages with ``stable_rev`` as the pull
        service does; the puller's pages, put together, hold every committed
        record at its final revision, none twice, none skipped."""
        writers, per_writer, done = 6, 25, threading.Event()
        committed: set[str] = set()
        lock = threading.Lock()

        def write(w: int) -> None:
            rng = random.Random(w)
            for n in range(per_writer):
                ids = [f"w{w}-{n}-{k}" for k in range(rng.randint(1, 3))]
                try:
                    store.write_grouped(lambda tx, ids=ids: [put(tx, "site", i) for i in ids]
                                        and (rng.random() < 0.2 and _boom()))
                except Boom:
                    continue
                with lock:
                    committed.update(ids)

        seen: dict[str, int] = {}
        cursor = 0

        def pull_once() -> None:
            nonlocal cursor
            while True:
                top = store.stable_rev()
                page = store.change_rows_since(cursor, 7, Visibility(all=True), upto=top)
                assert all(cursor < r.rev <= top for r in page)
                for r in page:
                    seen[r.id] = r.rev
                if len(page) < 7:
                    cursor = max(top, cursor)
                    return
                cursor = page[-1].rev

        with ThreadPoolExecutor(writers) as pool:
            futures = [pool.submit(write, w) for w in range(writers)]
            while not all(f.done() for f in futures):
                pull_once()
            for f in futures:
                f.result()
        done.set()
        pull_once()
        final = {r.id: r.rev for r in store.records("site")}
        assert set(seen) == committed == set(final)
        assert seen == final

    def test_pull_page_cursor_and_limit(self, scoped: SyncStore) -> None:
        everyone = Visibility(all=True)
        assert visible_ids(scoped, everyone, since=0, limit=3) == ["village-1", "dept-1", "u9"]
        assert visible_ids(scoped, everyone, since=3, limit=2) == ["tpl", "s-v1"]
        assert visible_ids(scoped, everyone, since=9) == ["i-v1"]
        assert visible_ids(scoped, everyone, since=10) == []
        v1 = Visibility(all=False, village_ids=(V1,))
        # the limit counts visible rows, not scanned ones
        assert visible_ids(scoped, v1, since=4, limit=1) == ["s-v1"]
        assert visible_ids(scoped, v1, since=5, limit=1) == ["i-v1"]

    def test_scoped_pages_match_a_filter_over_every_record(self, store: SyncStore) -> None:
        """Records visible several ways at once (village and department, or
        also their creator's) come once, in revision order, and every page
        boundary is right: an oracle over 300 random records."""
        rng = random.Random(11)
        expected: list[tuple[int, str, dict[str, Any]]] = []
        with store.transaction() as tx:
            for n in range(300):
                keys = {"village_id": rng.choice([V1, V2, None]),
                        "department_id": rng.choice([D1, D2, None]),
                        "created_by_user": rng.choice(["u1", "u2", None])}
                entity = rng.choice(["site", "inspection", "case", "village"])
                r = put(tx, entity, f"r{n:03d}", **keys)
                expected.append((r.rev, r.id, {**keys, "ref": entity == "village"}))
        for vis in (Visibility(all=False, village_ids=(V1,), user_id="u7"),
                    Visibility(all=False, village_ids=(V1, V2), department_ids=(D1,),
                               user_id="u1"),
                    Visibility(all=False, department_ids=(D2,), user_id="u2"),
                    Visibility(all=False, user_id="u1")):
            def seen(k: dict[str, Any], vis: Visibility = vis) -> bool:
                return bool(k["ref"] or k["village_id"] in vis.village_ids
                            or k["department_id"] in vis.department_ids
                            or k["created_by_user"] == vis.user_id)
            want = [(rev, id) for rev, id, k in expected if seen(k)]
            for limit in (1, 7, 50, 1000):
                since, got = 0, []
                while True:
                    page = pull_page(store, since, limit, vis)
                    assert len(page) <= limit
                    got += [(r.rev, r.id) for r in page]
                    if len(page) < limit:
                        break
                    since = page[-1].rev
                assert got == want, (vis, limit)

    def test_a_scope_of_many_villages_pulls_like_a_small_one(self, scoped: SyncStore) -> None:
        many = tuple(f"village-x{n:03d}" for n in range(600)) + (V1,)
        vis = Visibility(all=False, village_ids=many, user_id="u7")
        assert visible_ids(scoped, vis) == self.REFERENCE + ["s-v1", "i-v1"]

    def test_pull_page_returns_tombstones(self, scoped: SyncStore) -> None:
        (i,) = pull_page(scoped, 9, 10, Visibility(all=True))
        assert (i.id, i.deleted) == ("i-v1", True)

    def test_a_changed_record_moves_to_the_end(self, scoped: SyncStore) -> None:
        with scoped.transaction() as tx:
            r = tx.get_record("site", "s-v1")
            r.rev = tx.next_rev()
            tx.put_record(r)
        ids = visible_ids(scoped, Visibility(all=True))
        assert ids[-1] == "s-v1" and ids.count("s-v1") == 1
        assert visible_ids(scoped, Visibility(all=True), since=10) == ["s-v1"]

    def test_children_of_a_parent_are_read_by_revision(self, store: SyncStore) -> None:
        with store.transaction() as tx:
            put(tx, "case_event", "e2", parent_id="c1")
            put(tx, "photo", "p1", parent_id="c1")
            put(tx, "case_event", "e1", parent_id="c1")
            put(tx, "case_event", "e3", parent_id="c2")
            r = tx.get_record("case_event", "e2")
            r.rev = tx.next_rev()  # rewritten: now the newest
            tx.put_record(r)
        assert [r.id for r in store.children_of("c1", "case_event")] == ["e1", "e2"]
        assert [r.id for r in store.children_of("c1", "photo")] == ["p1"]
        assert store.children_of("nobody", "case_event") == []

    def test_the_review_queue_matches_a_filter_over_every_inspection(
            self, store: SyncStore) -> None:
        """``inspections_page`` against the same filters and order in Python,
        over 200 random inspections (times missing or zero included)."""
        rng = random.Random(5)
        kinds = {"s1": "construction", "s2": "factory", "s3": "construction"}
        with store.transaction() as tx:
            for sid, kind in kinds.items():
                put(tx, "site", sid, {"kind": kind}, village_id=V1)
            for n in range(200):
                times = {f: rng.choice([None, 0, rng.randrange(1000, 1100)])
                         for f in ("submitted_at", "started_at", "created_at")}
                site = rng.choice(["s1", "s2", "s3", "gone"])
                put(tx, "inspection", f"i{n:03d}", {
                    "site_id": site, "state": rng.choice(["draft", "submitted"]),
                    "review_state": rng.choice([None, "pending", "approved"]), **times},
                    deleted=rng.random() < 0.1, village_id=rng.choice([V1, V2]),
                    department_id=rng.choice([D1, D2]),
                    site_id=site if site in kinds else None)  # as scope_keys sets it
        every = [r for r in store.records("inspection") if not r.deleted]

        def oracle(state=None, review_state=None, village_id=None, department_id=None,
                   site_kind=None, since_ms=None, until_ms=None):
            out = []
            for r in every:
                d = r.data
                when = d.get("submitted_at") or d.get("started_at") or d.get("created_at") or 0
                if (state and d.get("state") != state) \
                        or (review_state and d.get("review_state") != review_state) \
                        or (village_id and r.village_id != village_id) \
                        or (department_id and r.department_id != department_id) \
                        or (site_kind and kinds.get(d.get("site_id")) != site_kind) \
                        or (since_ms is not None and when < since_ms) \
                        or (until_ms is not None and when >= until_ms):
                    continue
                out.append(r)
            out.sort(key=lambda r: (r.data.get("submitted_at") or r.data.get("started_at")
                                    or 0, r.id), reverse=True)
            return [r.id for r in out]

        for filters in ({}, {"state": "submitted", "review_state": "pending"},
                        {"village_id": V2, "site_kind": "construction"},
                        {"department_id": D1, "since_ms": 1030, "until_ms": 1070},
                        {"since_ms": 0, "until_ms": 1}, {"site_kind": "factory"}):
            want = oracle(**filters)
            for limit, offset in ((500, 0), (7, 0), (7, 14), (50, len(want))):
                total, page = store.inspections_page(**filters, limit=limit, offset=offset)
                assert total == len(want), filters
                assert [r.id for r in page] == want[offset:offset + limit], (filters, offset)

    def test_the_case_ledger_matches_a_filter_over_every_case(self, store: SyncStore) -> None:
        """``cases_page`` against the same filters and order in Python, over 200
        random cases (no status, an empty one, opening times missing or zero)."""
        rng = random.Random(7)
        with store.transaction() as tx:
            for n in range(200):
                data = {"status": rng.choice([None, "", "registered", "accepted", "closed"]),
                        "level": rng.choice([None, "village", "township"]),
                        "source": rng.choice(["hotline", "walk_in"]),
                        "opened_at": rng.choice([None, 0, rng.randrange(1000, 1060)])}
                put(tx, "case", f"c{n:03d}", {k: v for k, v in data.items() if v is not None},
                    deleted=rng.random() < 0.1, village_id=rng.choice([V1, V2]))
            put(tx, "inspection", "i1", {"status": "registered"}, village_id=V1)
        every = [r for r in store.records("case") if not r.deleted]

        def oracle(statuses=None, level=None, village_id=None, source=None):
            out = [r for r in every
                   if (statuses is None or (r.data.get("status") or "") in statuses)
                   and (not level or r.data.get("level") == level)
                   and (not source or r.data.get("source") == source)
                   and (not village_id or r.village_id == village_id)]
            out.sort(key=lambda r: (r.data.get("opened_at") or 0, r.id), reverse=True)
            return [r.id for r in out]

        for filters in ({}, {"statuses": ["registered"]}, {"statuses": ["", "accepted"]},
                        {"statuses": []}, {"level": "village", "village_id": V2},
                        {"source": "walk_in", "statuses": ["closed", "registered"]}):
            want = oracle(**filters)
            assert want or filters == {"statuses": []}, filters  # the draw covers each
            for limit, offset in ((None, 0), (500, 0), (7, 0), (7, 14), (50, len(want))):
                total, page = store.cases_page(**filters, limit=limit, offset=offset)
                assert total == len(want), filters
                end = None if limit is None else offset + limit
                assert [r.id for r in page] == want[offset:end], (filters, limit, offset)

    def test_the_case_ledger_search_matches_a_substring_filter(self, store: SyncStore) -> None:
        """``cases_page(q=…)`` against the same substring test in Python over
        the fields asked for (ASCII letters in any case; complainant only when
        named); ``%`` and ``_`` are plain characters, not patterns."""
        rng = random.Random(13)
        words = ["回龙坝物流", "ACME Build", "acme", "某装修班组", "100%", "a_b", None, ""]
        with store.transaction() as tx:
            for n in range(120):
                data = {"title": rng.choice(words), "employer": rng.choice(words),
                        "complainant_name": rng.choice(["钱某某", "Zhao Acme", None]),
                        "opened_at": rng.randrange(1000, 1060), "level": "township"}
                put(tx, "case", f"q{n:03d}", {k: v for k, v in data.items() if v is not None},
                    deleted=rng.random() < 0.1, village_id=rng.choice([V1, V2]))
        every = [r for r in store.records("case") if not r.deleted]
        ascii_lower = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

        def oracle(q: str, fields: tuple[str, ...], village_id: str | None = None) -> list[str]:
            out = [r for r in every
                   if any(q.translate(ascii_lower) in str(r.data.get(f) or "").translate(
                       ascii_lower) for f in fields)
                   and (not village_id or r.village_id == village_id)]
            out.sort(key=lambda r: (r.data.get("opened_at") or 0, r.id), reverse=True)
            return [r.id for r in out]

        for q, fields, village in (("物流", ("title", "employer"), None),
                                   ("acme", ("title", "employer"), None),
                                   ("ACME", ("title",), V1), ("%", ("title", "employer"), None),
                                   ("_", ("employer",), None),
                                   ("acme", ("title", "employer", "complainant_name"), None),
                                   ("钱某", ("title", "employer"), None),
                                   ("钱某", ("title", "employer", "complainant_name"), V2)):
            want = oracle(q, fields, village)
            for limit, offset in ((None, 0), (5, 0), (5, 5)):
                total, page = store.cases_page(q=q, q_fields=fields, village_id=village,
                                               limit=limit, offset=offset)
                assert total == len(want), (q, fields)
                end = None if limit is None else offset + limit
                assert [r.id for r in page] == want[offset:end], (q, fields, offset)
        assert store.cases_page(q="钱某", q_fields=("title", "employer"))[0] == 0
        assert store.cases_page(q="钱某", q_fields=("title", "complainant_name"))[0] > 0
        with pytest.raises(ValueError):
            store.cases_page(q="x", q_fields=("complainant_phone",))

    def test_cases_per_site_leave_out_final_and_deleted_cases(self, store: SyncStore) -> None:
        with store.transaction() as tx:
            put(tx, "case", "c1", {"site_id": "s1", "status": "accepted"})
            put(tx, "case", "c2", {"site_id": "s1"})                       # no status yet
            put(tx, "case", "c3", {"site_id": "s1", "status": "closed"})
            put(tx, "case", "c4", {"site_id": "s2", "status": "registered"})
            put(tx, "case", "c5", {"site_id": "s2", "status": "resolved"}, deleted=True)
            put(tx, "case", "c6", {"status": "registered"})                # no site
            put(tx, "inspection", "i1", {"site_id": "s3"})
        assert store.cases_per_site(("closed", "dismissed")) == {"s1": 2, "s2": 1}
        assert store.cases_per_site(()) == {"s1": 3, "s2": 1}
        assert store.cases_per_site((), ["s2", "s3", "nowhere"]) == {"s2": 1}
        assert store.cases_per_site(("closed",), [f"n{i}" for i in range(600)] + ["s1"]) \
            == {"s1": 2}
        assert store.cases_per_site((), []) == {}

    def test_the_registry_index_matches_a_filter_over_every_site(self, store: SyncStore) -> None:
        """``site_texts`` against the same filters and order in Python, over 120
        random sites (names missing, repeated, non-ASCII; fields missing)."""
        rng = random.Random(11)
        with store.transaction() as tx:
            for n in range(120):
                data = {"name": rng.choice([None, "", "甲工地", "乙厂", "Zeta", "alpha"]),
                        "kind": rng.choice(["construction", "factory", None]),
                        "address": rng.choice([None, f"回龙坝镇{n}号"])}
                put(tx, "site", f"s{n:03d}", {k: v for k, v in data.items() if v is not None},
                    deleted=rng.random() < 0.1, village_id=rng.choice([V1, V2]))
            put(tx, "inspection", "i1", {"name": "甲工地"}, village_id=V1)
        every = [r for r in store.records("site") if not r.deleted]
        for filters in ({}, {"village_id": V2}, {"kind": "factory"},
                        {"village_id": V1, "kind": "construction"}):
            want = sorted(
                ((r.id, r.data.get("name"), r.data.get("address")) for r in every
                 if (not filters.get("village_id") or r.village_id == filters["village_id"])
                 and (not filters.get("kind") or r.data.get("kind") == filters["kind"])),
                key=lambda t: (t[1] or "", t[0]))
            assert [(t.id, *t.texts) for t in store.site_texts(("name", "address"), **filters)] \
                == want, filters
        with pytest.raises(ValueError):
            store.site_texts(("name') --",))

    def test_records_and_counts(self, scoped: SyncStore) -> None:
        assert [r.id for r in scoped.records("site")] == ["s-v1", "s-v2-d1", "s-v2"]
        assert scoped.count_records("inspection") == 0
        assert scoped.count_records("inspection", include_deleted=True) == 1
        assert scoped.count_records("photo") == 0

    # --- exactly-once ledger -------------------------------------------------------

    def test_ledger_round_trip(self, store: SyncStore) -> None:
        entry = ledger("m1", 7, "merged")
        entry.result = {"id": "m1", "status": "merged",
                        "conflicts": [{"field": "name", "conflict_id": "k1"}]}
        with store.transaction() as tx:
            tx.put_mutation(entry)
        assert store.get_mutation("m1") == entry
        assert store.get_mutation("m2") is None

    def test_ledger_ids_are_unique(self, store: SyncStore) -> None:
        with store.transaction() as tx:
            tx.put_mutation(ledger("m1", 1, "applied"))
        with pytest.raises(BACKEND_ERRORS):  # a unique key taken twice
            with store.transaction() as tx:
                tx.put_mutation(ledger("m1", 2, "applied"))
        assert store.get_mutation("m1").seq == 1

    def test_device_stats(self, store: SyncStore) -> None:
        assert store.device_stats("devA") == DeviceStats(0, 0, 0, 0)
        with store.transaction() as tx:
            for id, seq, status in (("m1", 1, "applied"), ("m2", 2, "merged"),
                                    ("m3", 3, "rejected"), ("m4", 5, "applied")):
                tx.put_mutation(ledger(id, seq, status))
            tx.put_mutation(ledger("x1", 40, "applied", device_id="devB"))
        assert store.device_stats("devA") == DeviceStats(
            mutations_received=4, last_seq=5, mutations_applied=3, mutations_rejected=1)
        assert store.device_stats("devB") == DeviceStats(1, 40, 1, 0)

    # --- conflicts ---------------------------------------------------------------

    def test_conflicts_round_trip_and_filter_by_status(self, store: SyncStore) -> None:
        with store.transaction() as tx:
            tx.add_conflict(conflict("k2", created_at=2))
            tx.add_conflict(conflict("k1", created_at=1))
            resolved = conflict("k3", status="resolved", created_at=3)
            resolved.resolved_by, resolved.resolved_at, resolved.resolution = "u5", 9, "乙公司"
            tx.add_conflict(resolved)
        open_ = store.list_conflicts("open")
        assert [c.id for c in open_] == ["k1", "k2"]
        assert open_[0] == conflict("k1", created_at=1)
        assert store.list_conflicts("resolved") == [resolved]
        assert [c.id for c in store.list_conflicts()] == ["k1", "k2", "k3"]
        assert store.list_conflicts("dismissed") == []

    # --- users, tokens, devices -----------------------------------------------------

    def test_users(self, store: SyncStore) -> None:
        u = user(village_ids=[V1, V2], created_at=5)
        with store.transaction() as tx:
            tx.put_user(u)
            tx.put_user(user("u2", "admin", role="admin", display_name="管理员"))
        assert store.get_user("u1") == u
        assert store.get_user_by_username("grid1") == u
        assert store.get_user_by_username("nobody") is None
        assert [x.username for x in store.list_users()] == ["admin", "grid1"]
        u.department_ids, u.scope_version, u.active = [D1], 2, False
        with store.transaction() as tx:
            tx.put_user(u)
        assert store.get_user("u1") == u

    def test_usernames_are_unique(self, store: SyncStore) -> None:
        with store.transaction() as tx:
            tx.put_user(user("u1", "grid1"))
        with pytest.raises(BACKEND_ERRORS):  # a unique key taken twice
            with store.transaction() as tx:
                tx.put_user(user("u2", "grid1"))
        assert [x.id for x in store.list_users()] == ["u1"]

    def test_tokens_and_revocation(self, store: SyncStore) -> None:
        def token(h: str) -> TokenRow | None:
            found = store.get_token_and_user(h)
            return None if found is None else found.token

        tokens = [TokenRow("h1", "u1", "devA", 100, 1), TokenRow("h2", "u1", "devA", 100, 2),
                  TokenRow("h3", "u1", "devB", 100, 3)]
        with store.transaction() as tx:
            for t in tokens:
                tx.put_token(t)
        assert token("h1") == tokens[0]
        assert token("nope") is None
        with store.transaction() as tx:
            assert tx.revoke_tokens(device_id="devA", at_ms=50) == 2
            assert tx.revoke_tokens(device_id="devA", at_ms=60) == 0  # already revoked
        assert token("h1").revoked_at == 50
        assert token("h2").revoked_at == 50
        assert token("h3").revoked_at is None
        with store.transaction() as tx:
            assert tx.revoke_tokens(token_hash="h3", at_ms=70) == 1
        assert token("h3").revoked_at == 70
        with pytest.raises(ValueError):
            with store.transaction() as tx:
                tx.revoke_tokens(at_ms=80)

    def test_token_and_user_in_one_read(self, store: SyncStore,
                                        open_another: Callable[[], SyncStore]) -> None:
        """``get_token_and_user`` (authenticate's one read) gives the token and
        its user, and sees a revocation or a disabled user written by another
        connection (another process) at once."""
        u1 = user("u1", "grid1", village_ids=["v1", "v2"], department_ids=["d1"])
        t1, t2 = TokenRow("h1", "u1", "devA", 100, 1), TokenRow("h2", "nobody", "devB", 100, 2)
        with store.transaction() as tx:
            tx.put_user(u1)
            tx.put_token(t1)
            tx.put_token(t2)  # its user is not there
        assert store.get_token_and_user("h1") == TokenAndUser(t1, u1)
        assert store.get_token_and_user("h2") == TokenAndUser(t2, None)
        assert store.get_token_and_user("nope") is None
        other = open_another()
        with other.transaction() as tx:
            assert tx.revoke_tokens(device_id="devA", at_ms=50) == 1
            disabled = other.get_user("u1")
            disabled.active = False
            tx.put_user(disabled)
        found = store.get_token_and_user("h1")
        assert found.token.revoked_at == 50 and found.user.active is False
        assert found.user == other.get_user("u1")

    def test_devices(self, store: SyncStore) -> None:
        a = DeviceRow(device_id="devA", user_id="u1", name="红米", created_at=1,
                      last_push_ms=10, last_pull_ms=11, clock_offset_ms=-300, skewed=True,
                      last_hlc="1764140000000.0003.devA", scope_version_seen=2)
        with store.transaction() as tx:
            tx.put_device(a)
            tx.put_device(DeviceRow(device_id="devB", user_id="u2"))
        assert store.get_device("devA") == a
        assert store.get_device("devC") is None
        assert [d.device_id for d in store.list_devices()] == ["devA", "devB"]
        assert [d.device_id for d in store.list_devices("u2")] == ["devB"]
        a.skewed, a.clock_offset_ms = False, None
        with store.transaction() as tx:
            tx.put_device(a)
        assert store.get_device("devA") == a

    def test_a_device_keeps_its_secret_hash(self, store: SyncStore) -> None:
        """The hash bound at a device's first login survives every rewrite of
        its row (a push, a pull from 0, a hand-over)."""
        with store.transaction() as tx:
            tx.put_device(DeviceRow(device_id="devA", user_id="u1", secret_hash="ab" * 32))
            tx.put_device(DeviceRow(device_id="devB", user_id="u2"))
        assert store.get_device("devA").secret_hash == "ab" * 32
        assert store.get_device("devB").secret_hash is None  # from before secrets
        with store.transaction() as tx:  # a push rewrites the row
            d = tx.get_device("devA")
            d.last_push_ms = 5
            tx.put_device(d)
        store.note_pull("devA", 10, scope_version=3)
        a = store.get_device("devA")
        assert (a.secret_hash, a.last_push_ms, a.scope_version_seen) == ("ab" * 32, 5, 3)
        assert [d.secret_hash for d in store.list_devices("u1")] == ["ab" * 32]

    def test_note_pull(self, store: SyncStore, open_another: Callable[[], SyncStore]) -> None:
        with store.transaction() as tx:
            tx.put_device(DeviceRow(device_id="devA", user_id="u1", last_push_ms=5,
                                    scope_version_seen=1))
            tx.put_device(DeviceRow(device_id="devB", user_id="u2"))
        other = open_another()
        store.note_pull("devA", 100, scope_version=2)  # from 0 with a new scope: written now
        assert (other.get_device("devA").scope_version_seen,
                other.get_device("devA").last_pull_ms) == (2, 100)
        store.note_pull("devA", 200)
        store.note_pull("devA", 150)  # an older page answered later: the newest stays
        store.note_pull("devB", 300, scope_version=0)  # scope as stored: a pull time only
        assert store.get_device("devA").last_pull_ms == 200  # seen at once by this store
        assert {d.device_id: d.last_pull_ms for d in store.list_devices()} == {
            "devA": 200, "devB": 300}
        with store.transaction() as tx:  # a push: rewrites the device row
            d = tx.get_device("devA")
            d.last_push_ms = 400
            tx.put_device(d)
        for s in (store, other):  # written with that transaction
            a = s.get_device("devA")
            assert (a.last_pull_ms, a.last_push_ms, a.scope_version_seen) == (200, 400, 2)
            assert s.get_device("devB").last_pull_ms == 300
        store.note_pull("devB", 500)
        store.close()  # closing writes what is noted
        again = open_another()
        assert again.get_device("devB").last_pull_ms == 500
        assert again.get_device("devB").scope_version_seen == 0

    def test_a_noted_pull_survives_a_rolled_back_transaction(
            self, store: SyncStore, open_another: Callable[[], SyncStore]) -> None:
        with store.transaction() as tx:
            tx.put_device(DeviceRow(device_id="devA", user_id="u1"))
        store.note_pull("devA", 100)
        with pytest.raises(Boom):
            with store.transaction() as tx:
                put(tx, "site", "s1")
                raise Boom()
        assert store.get_device("devA").last_pull_ms == 100
        with store.transaction() as tx:
            pass
        assert open_another().get_device("devA").last_pull_ms == 100

    # --- blobs and uploads -----------------------------------------------------------

    def test_blobs(self, store: SyncStore) -> None:
        with store.transaction() as tx:
            tx.put_blob(SHA_A, 100, 1, "devA")
            tx.put_blob(SHA_A, 999, 2, "devB")  # stored once: the first write stays
            tx.put_blob(SHA_B, 200, 3, None)
        assert store.has_blob(SHA_A) and store.has_blob(SHA_B)
        assert not store.has_blob(SHA_C)
        assert store.blobs_in([SHA_A, SHA_C, SHA_B]) == {SHA_A, SHA_B}
        assert store.blobs_in([]) == set()
        many = [f"{i:064x}" for i in range(1200)] + [SHA_B]
        assert store.blobs_in(many) == {SHA_B}
        # nobody sent the bytes (no holder): not even the whole township reads them
        assert not store.blob_visible(SHA_A, Visibility(all=False, user_id="u2"))
        assert not store.blob_visible(SHA_A, Visibility(all=True, user_id="u2"))

    def test_blob_visibility(self, store: SyncStore) -> None:
        """Read by a holder (who sent the bytes), or through a live photo record
        the reader may see whose creator is a holder (m009_uploads_bounded)."""
        with store.transaction() as tx:
            tx.put_blob(SHA_A, 1, 1, "devA")
            tx.put_blob(SHA_B, 1, 1, "devB")
            tx.put_blob(SHA_C, 1, 1, "devB")
            tx.add_blob_holder(SHA_A, "u1", 1)
            tx.add_blob_holder(SHA_B, "u2", 1)
            tx.add_blob_holder(SHA_C, "u3", 1)
            put(tx, "photo", "p1", {"sha256": SHA_B}, village_id=V1, department_id=D1,
                created_by_user="u2")
            put(tx, "photo", "p2", {"sha256": SHA_C}, village_id=V2, created_by_user="u3",
                deleted=True)
            # u4 names SHA_A in a photo of village 2 without ever sending the bytes
            put(tx, "photo", "p3", {"sha256": SHA_A}, village_id=V2, created_by_user="u4")
        nobody = Visibility(all=False, user_id="u9")
        table = [
            (SHA_A, Visibility(all=False, user_id="u1"), True),  # the sender
            (SHA_A, Visibility(all=True, user_id="u9"), False),  # named only by a non-holder
            (SHA_A, Visibility(all=False, village_ids=(V2,), user_id="u4"), False),
            (SHA_A, nobody, False),
            (SHA_B, Visibility(all=True), True),
            (SHA_B, Visibility(all=False, village_ids=(V1,)), True),
            (SHA_B, Visibility(all=False, department_ids=(D1,)), True),
            (SHA_B, Visibility(all=False, village_ids=(V2,), department_ids=(D2,)), False),
            (SHA_B, Visibility(all=False, user_id="u2"), True),  # photo's creator
            (SHA_C, Visibility(all=False, village_ids=(V2,), user_id="u9"), False),  # deleted
            (SHA_C, Visibility(all=True, user_id="u9"), False),
            (SHA_C, Visibility(all=False, user_id="u3"), True),  # still its sender
        ]
        for sha, visibility, expected in table:
            assert store.blob_visible(sha, visibility) is expected, (sha, visibility)
        assert store.is_blob_holder(SHA_A, "u1") and not store.is_blob_holder(SHA_A, "u4")
        with store.transaction() as tx:
            tx.add_blob_holder(SHA_A, "u1", 2)  # once
            tx.add_blob_holder(SHA_A, "u0", 2)
            assert tx.is_blob_holder(SHA_A, "u0")
        assert store.blob_holders(SHA_A) == ["u0", "u1"]

    def test_photo_creators_on_a_device(self, store: SyncStore) -> None:
        with store.transaction() as tx:
            put(tx, "photo", "p1", {"sha256": SHA_A}, created_by_user="u2",
                created_by_device="devA")
            put(tx, "photo", "p2", {"sha256": SHA_A}, created_by_user="u1",
                created_by_device="devA")
            put(tx, "photo", "p3", {"sha256": SHA_A}, created_by_user="u1",
                created_by_device="devA")
            put(tx, "photo", "p4", {"sha256": SHA_A}, created_by_user="u3",
                created_by_device="devB")
            put(tx, "photo", "p5", {"sha256": SHA_A}, created_by_user="u4",
                created_by_device="devA", deleted=True)
            put(tx, "photo", "p6", {"sha256": SHA_B}, created_by_user="u5",
                created_by_device="devA")
            assert tx.photo_creators(SHA_A, "devA") == ["u1", "u2"]
        assert store.photo_creators(SHA_A, "devA") == ["u1", "u2"]
        assert store.photo_creators(SHA_A, "devZ") == []

    def test_photo_hashes_named_by_device(self, store: SyncStore) -> None:
        with store.transaction() as tx:
            put(tx, "photo", "p1", {"sha256": SHA_B}, created_by_device="devA")
            put(tx, "photo", "p2", {"sha256": SHA_A}, created_by_device="devA")
            put(tx, "photo", "p3", {"sha256": SHA_A}, created_by_device="devA")
            put(tx, "photo", "p4", {"sha256": SHA_C}, created_by_device="devA", deleted=True)
            put(tx, "photo", "p5", {"sha256": SHA_C}, created_by_device="devB")
            put(tx, "case", "c1", {"sha256": SHA_C}, created_by_device="devA")
        assert store.photo_hashes_named_by("devA") == [SHA_A, SHA_B]
        assert store.photo_hashes_named_by("devB") == [SHA_C]
        assert store.photo_hashes_named_by("devC") == []

    def test_uploads(self, store: SyncStore) -> None:
        u = UploadRow(id="up1", sha256=SHA_A, length=3_000_000, offset=0, filename="现场.jpg",
                      device_id="devA", user_id="u1", created_at=5)
        with store.transaction() as tx:
            tx.put_upload(u)
        assert store.get_upload("up1") == u
        u.offset = 262_144
        with store.transaction() as tx:
            tx.put_upload(u)
        assert store.get_upload("up1").offset == 262_144
        with store.transaction() as tx:
            tx.delete_upload("up1")
            tx.delete_upload("never-existed")
        assert store.get_upload("up1") is None

    def test_unfinished_uploads_count_per_device_and_user(self, store: SyncStore) -> None:
        def up(id: str, length: int, offset: int, device: str, user: str) -> UploadRow:
            return UploadRow(id=id, sha256=SHA_A, length=length, offset=offset, filename="",
                             device_id=device, user_id=user, created_at=1)

        with store.transaction() as tx:
            tx.put_upload(up("u-1", 100, 0, "devA", "u1"))
            tx.put_upload(up("u-2", 50, 49, "devA", "u1"))
            tx.put_upload(up("u-3", 70, 70, "devA", "u1"))  # complete: not counted
            tx.put_upload(up("u-4", 30, 0, "devB", "u1"))
            assert tx.unfinished_uploads(device_id="devA") == (2, 150)
        assert store.unfinished_uploads(device_id="devA") == (2, 150)
        assert store.unfinished_uploads(user_id="u1") == (3, 180)
        assert store.unfinished_uploads(device_id="devZ") == (0, 0)
        assert store.get_upload("u-1").updated_at == 1  # defaults to created_at
        with pytest.raises(ValueError):
            store.unfinished_uploads()

    def test_an_upload_is_claimed_by_one_request_at_a_time(
            self, store: SyncStore, open_another: Callable[[], SyncStore]) -> None:
        with store.transaction() as tx:
            tx.put_upload(UploadRow(id="up1", sha256=SHA_A, length=10, offset=0, filename="",
                                    device_id="devA", user_id="u1", created_at=1))
        other = open_another()  # another server process
        with store.transaction() as tx:
            assert not tx.claim_upload("up1", 4, "t1", 100, 0)  # wrong offset
            assert tx.claim_upload("up1", 0, "t1", 100, 0)
        with other.transaction() as tx:
            assert not tx.claim_upload("up1", 0, "t2", 101, 50)  # held, not stale
            assert not tx.release_upload("up1", "t2", 5, 101)  # not its lock
            assert not tx.renew_upload_claim("up1", "t2", 101)
        with store.transaction() as tx:
            assert tx.renew_upload_claim("up1", "t1", 200)
            assert tx.release_upload("up1", "t1", 6, 210)
            assert not tx.release_upload("up1", "t1", 7, 211)  # released already
        row = other.get_upload("up1")
        assert (row.offset, row.updated_at) == (6, 210)
        with other.transaction() as tx:
            assert tx.claim_upload("up1", 6, "t2", 300, 0)
        with store.transaction() as tx:  # a stale lock (its process died) is taken over
            assert not tx.claim_upload("up1", 6, "t3", 301, 300)
            assert tx.claim_upload("up1", 6, "t3", 400, 301)
            assert not tx.release_upload("up1", "t2", 9, 401)
        assert store.get_upload("up1").offset == 6

    def test_sweep_uploads_removes_expired_unlocked_ones(self, store: SyncStore) -> None:
        def up(id: str, at: int) -> UploadRow:
            return UploadRow(id=id, sha256=SHA_A, length=10, offset=0, filename="",
                             device_id="devA", user_id="u1", created_at=at, updated_at=at)

        with store.transaction() as tx:
            for id, at in (("old", 10), ("old-busy", 10), ("new", 500)):
                tx.put_upload(up(id, at))
            assert tx.claim_upload("old-busy", 0, "t", 450, 0)
        with store.transaction() as tx:
            gone = tx.sweep_uploads(100, 400)
        assert [u.id for u in gone] == ["old"]
        assert store.get_upload("old") is None
        assert store.get_upload("old-busy") is not None and store.get_upload("new") is not None
        with store.transaction() as tx:  # once its lock is stale, it goes too
            assert [u.id for u in tx.sweep_uploads(100, 500)] == ["old-busy"]

    def test_orphan_blobs_go_after_the_grace_period(self, store: SyncStore) -> None:
        with store.transaction() as tx:
            for sha in (SHA_A, SHA_B, SHA_C):
                tx.put_blob(sha, 1, 1, "devA")
                tx.add_blob_holder(sha, "u1", 1)
            put(tx, "photo", "p1", {"sha256": SHA_A})  # named: never collected
            put(tx, "photo", "p2", {"sha256": SHA_B}, deleted=True)  # no live record
        with store.transaction() as tx:
            assert tx.sweep_orphan_blobs(1_000, 500) == []  # orphans from now on
        with store.transaction() as tx:
            assert tx.sweep_orphan_blobs(1_400, 500) == []  # within the grace
            put(tx, "photo", "p3", {"sha256": SHA_C})  # named again in time
        with store.transaction() as tx:
            assert tx.sweep_orphan_blobs(1_500, 500) == [SHA_B]
        assert store.has_blob(SHA_A) and store.has_blob(SHA_C) and not store.has_blob(SHA_B)
        assert store.blob_holders(SHA_B) == []
        with store.transaction() as tx:
            tx.delete_upload("none")
            tx.put_record(StoredRecord(entity="photo", id="p3", rev=tx.next_rev(),
                                       data={"id": "p3", "sha256": SHA_C}, deleted=True))
            assert tx.sweep_orphan_blobs(2_000, 500) == []  # the clock starts again
            tx.touch_blob(SHA_C)  # wanted again (a dedupe): the clock stops
            assert tx.sweep_orphan_blobs(2_600, 500) == []
            assert tx.sweep_orphan_blobs(3_200, 500) == [SHA_C]

    def test_pending_migrations(self, store: SyncStore) -> None:
        assert store.pending_migrations() == []

    # --- health and connections -----------------------------------------------------

    def test_health_check(self, store: SyncStore) -> None:
        with store.transaction() as tx:
            put(tx, "site", "s1")
        health = store.health_check()
        assert isinstance(health, StoreHealth)
        assert health.ok and health.problems == ()

    def test_put_records_in_bulk_and_a_key_twice(self, store: SyncStore) -> None:
        """A large batch is stored whole; a record given twice in one batch is
        stored as its last."""
        with store.transaction() as tx:
            base = tx.max_rev()
            batch = [StoredRecord(entity="site", id=f"s{i:04d}", rev=base + 1 + i, data={"n": i},
                                  meta={}) for i in range(1203)]
            batch.append(StoredRecord(entity="site", id="s0007", rev=base + 1204, data={"n": -7},
                                      meta={}))
            tx.advance_rev(base + 1204)
            tx.put_records(batch)
        assert store.count_records("site") == 1203
        assert store.get_record("site", "s0007").data == {"n": -7}
        assert store.get_record("site", "s1202").data == {"n": 1202}
        with store.transaction() as tx:  # a small batch (PostgreSQL: one statement)
            base = tx.max_rev()
            tx.advance_rev(base + 2)
            tx.put_records([StoredRecord(entity="site", id="s0001", rev=base + n, data={"n": n},
                                         meta={}) for n in (1, 2)])
        assert store.get_record("site", "s0001").data == {"n": 2}

    def test_pool_stats_are_counts(self, store: SyncStore) -> None:
        """An engine with a connection pool tells its size and use (read by
        /metrics); one without answers an empty dict."""
        store.max_rev()
        stats = store.pool_stats()
        assert isinstance(stats, dict)
        assert all(isinstance(k, str) and isinstance(v, int) for k, v in stats.items())
        if stats:
            assert stats["pool_size"] >= 1 and stats["requests_num"] >= 1

    def test_backup_is_a_consistent_copy(self, store: SyncStore, tmp_path: Any) -> None:
        with store.transaction() as tx:
            put(tx, "site", "s1", {"name": "工地"})
        assert store.backup(tmp_path / "copy") == StoreHealth(ok=True)
        assert (tmp_path / "copy").exists()

    def test_another_connection_sees_committed_writes_only(
            self, store: SyncStore, open_another: Callable[[], SyncStore]) -> None:
        other = open_another()
        with store.transaction() as tx:
            put(tx, "site", "s1", {"name": "committed"})
        assert other.get_record("site", "s1").data["name"] == "committed"
        with store.transaction() as tx:
            put(tx, "site", "s2", {"name": "pending"})
            # a reader on another connection neither blocks nor sees the open write
            assert other.get_record("site", "s2") is None
            assert other.max_rev() == 1
        assert other.get_record("site", "s2").data["name"] == "pending"
        assert other.max_rev() == 2

    def test_writes_through_another_connection_are_seen(
            self, store: SyncStore, open_another: Callable[[], SyncStore]) -> None:
        other = open_another()
        with other.transaction() as tx:
            put(tx, "site", "s1")
        with store.transaction() as tx:
            assert tx.next_rev() == 2  # the counter is shared, not per connection
        assert store.get_record("site", "s1") is not None

    def test_data_survives_reopening(self, store: SyncStore,
                                     open_another: Callable[[], SyncStore]) -> None:
        with store.transaction() as tx:
            put(tx, "site", "s1", {"name": "持久"})
            tx.put_mutation(ledger("m1", 1, "applied"))
        store.close()
        again = open_another()
        again.migrate()
        assert again.get_record("site", "s1").data["name"] == "持久"
        assert again.get_mutation("m1") is not None
        assert again.max_rev() == 1

    # --- office: conflicts, history, audit, calendar (m002_office) -------------------

    def test_get_and_resolve_conflict(self, store: SyncStore) -> None:
        with store.transaction() as tx:
            tx.add_conflict(conflict("c1"))
            assert tx.get_conflict("c1").status == "open"
            assert tx.get_conflict("nope") is None
            tx.resolve_conflict("c1", status="resolved", resolved_by="office-1",
                                resolved_at=2000, resolution={"choice": "custom", "value": [1]})
        got = store.get_conflict("c1")
        assert (got.status, got.resolved_by, got.resolved_at) == ("resolved", "office-1", 2000)
        assert got.resolution == {"choice": "custom", "value": [1]}
        assert got.loser_value == ["甲", 1.5, None]
        assert [c.id for c in store.list_conflicts("open")] == []
        assert [c.id for c in store.list_conflicts("resolved")] == ["c1"]

    def test_field_history_of_a_record(self, store: SyncStore) -> None:
        with store.transaction() as tx:
            for rev, value in ((3, 10), (5, 12)):
                tx.add_history("site", "s1", "headcount_on_site",
                               FieldMeta(rev, f"h{rev}", "u1", "devA"), value)
            tx.add_history("site", "s1", "six_systems", FieldMeta(5, "h5", "u1", "devA"),
                           {"deposit": True, "account": None})
            tx.add_history("site", "s2", "name", FieldMeta(4, "h4", "u1", "devA"), "别处")
        rows = store.field_history("site", "s1")
        assert [(h.rev, h.field, h.value) for h in rows] == [
            (3, "headcount_on_site", 10), (5, "headcount_on_site", 12),
            (5, "six_systems", {"deposit": True, "account": None})]
        assert (rows[0].hlc, rows[0].user_id, rows[0].device_id) == ("h3", "u1", "devA")
        assert store.field_history("site", "nope") == []

    def test_audit_log_newest_first_with_filters(self, store: SyncStore) -> None:
        with store.transaction() as tx:
            for i, action in enumerate(("review", "resolve_conflict", "review")):
                tx.add_audit(AuditRow(
                    id=f"a{i}", at=1000 + i, user_id="u9", username="office1", role="office",
                    device_id="pc", action=action, entity="inspection", entity_id=f"e{i}",
                    details={"n": i, "中文": "是"}))
        assert [a.id for a in store.list_audit()] == ["a2", "a1", "a0"]
        assert [a.id for a in store.list_audit(action="review")] == ["a2", "a0"]
        assert [a.id for a in store.list_audit(entity_id="e1")] == ["a1"]
        assert [a.id for a in store.list_audit(since=1001, until=1002)] == ["a1"]
        assert [a.id for a in store.list_audit(limit=1, offset=1)] == ["a1"]
        assert store.list_audit()[0].details == {"n": 2, "中文": "是"}

    def test_audit_rolls_back_with_its_transaction(self, store: SyncStore) -> None:
        with pytest.raises(Boom):
            with store.transaction() as tx:
                tx.add_audit(AuditRow(id="a1", at=1, user_id="u", username="u", role="office",
                                        device_id="d", action="review"))
                raise Boom
        assert store.list_audit() == []

    def test_calendar_is_stored_and_replaced(self, store: SyncStore) -> None:
        assert store.get_calendar() is None
        with store.transaction() as tx:
            tx.put_calendar({"holidays": ["2025-10-01"], "workdays": []}, 1, "admin")
        with store.transaction() as tx:
            tx.put_calendar({"holidays": ["2026-10-01"], "workdays": ["2026-10-10"]}, 2, "admin")
        assert store.get_calendar() == {"holidays": ["2026-10-01"], "workdays": ["2026-10-10"]}

    # logins (migration m008_logins) ---------------------------------------------------
    def test_login_failures_count_forget_and_clear(self, store: SyncStore) -> None:
        assert store.login_failures(["user:a"]) == {}
        with store.transaction() as tx:
            assert tx.add_login_failure("user:a", 1000, 0) == 1
            assert tx.add_login_failure("user:a", 2000, 0) == 2
            assert tx.add_login_failure("client:1.2.3.4", 2000, 0) == 1
        rows = store.login_failures(["user:a", "client:1.2.3.4", "user:b"])
        assert {k: (r.failures, r.last_failure_at) for k, r in rows.items()} == {
            "user:a": (2, 2000), "client:1.2.3.4": (1, 2000)}
        with store.transaction() as tx:
            # the last failure is older than the memory: the count starts again
            assert tx.add_login_failure("user:a", 9000, 5000) == 1
            tx.clear_login_failures("client:1.2.3.4")
        assert store.login_failures(["user:a"])["user:a"].last_failure_at == 9000
        assert store.login_failures(["client:1.2.3.4"]) == {}
        with store.transaction() as tx:
            tx.add_login_failure("user:old", 100, 0)
            assert tx.forget_login_failures(5000) == 1
        assert set(store.login_failures(["user:a", "user:old"])) == {"user:a"}

    def test_concurrent_login_failures_all_count(self, store: SyncStore) -> None:
        def fail(_: int) -> int:
            return store.write_grouped(lambda tx: tx.add_login_failure("user:x", 1, 0))

        with ThreadPoolExecutor(8) as pool:
            counts = sorted(pool.map(fail, range(40)))
        assert counts == list(range(1, 41))
        assert store.login_failures(["user:x"])["user:x"].failures == 40

    def test_device_blocks_and_user_token_revocation(self, store: SyncStore) -> None:
        assert store.device_blocked("d1") is None
        with store.transaction() as tx:
            tx.block_device("d1", 10, "admin-id")
            tx.block_device("d1", 20, "other")  # the first block is kept
            assert tx.device_blocked("d1") == 10
        assert store.device_blocked("d1") == 10
        with store.transaction() as tx:
            assert tx.unblock_device("d1") is True
            assert tx.unblock_device("d1") is False
        assert store.device_blocked("d1") is None
        with store.transaction() as tx:
            for i, (user, device) in enumerate((("u1", "p1"), ("u1", "p2"), ("u2", "p3"))):
                tx.put_token(TokenRow(token_hash=f"t{i}", user_id=user, device_id=device,
                                      expires_at=10**13, created_at=1))
        with store.transaction() as tx:
            assert tx.revoke_tokens(user_id="u1", at_ms=50) == 2
            assert tx.revoke_tokens(user_id="u1", at_ms=60) == 0
        assert [store.get_token_and_user(f"t{i}").token.revoked_at for i in range(3)] == [
            50, 50, None]
