"""PostgreSQL with several writers, each on a store (a connection pool) of its
own, as separate server processes are: the pull cursor never skips a
revision, and a mutation id pushed twice at once is applied once, in the
store and through two apps on one database."""

from __future__ import annotations

import random
import threading
from typing import Any, Callable, Iterator

import pytest

from .conformance import Boom, in_threads, ledger, put
from server.support import AppClient, World
from sync_server.store.base import StoredRecord, Visibility
from sync_server.store.postgres import PostgresStore


@pytest.fixture
def pg_url(pg_databases: Any) -> Iterator[str]:
    url = pg_databases.fresh()
    yield url
    pg_databases.drop(url)


@pytest.fixture
def open_store_at(pg_url: str) -> Iterator[Callable[[], PostgresStore]]:
    opened: list[PostgresStore] = []

    def open_() -> PostgresStore:
        opened.append(PostgresStore(pg_url, pool_min=1, pool_max=3))
        return opened[-1]

    yield open_
    for s in opened:
        s.close()


def test_a_puller_never_skips_a_revision_of_writers_on_separate_connections(
        open_store_at: Callable[[], PostgresStore]) -> None:
    """Four writer stores insert new records and move existing ones to new
    revisions, a fifth of their transactions rolled back; a puller on a store
    of its own pages up to ``stable_rev`` meanwhile. Put together, its pages
    hold every committed record at its final revision and nothing rolled back."""
    writers, rounds = 4, 30
    stores = [open_store_at() for _ in range(writers)]
    puller = open_store_at()
    committed: dict[str, int] = {}
    lock = threading.Lock()
    started = threading.Barrier(writers + 1)
    done = threading.Event()

    def write(w: int) -> None:
        rng = random.Random(w)
        started.wait()
        for n in range(rounds):
            fresh = [f"w{w}-{n}-{k}" for k in range(rng.randint(1, 3))]
            with lock:
                again = rng.sample(sorted(committed), min(2, len(committed)))

            def fn(tx: Any, n: int = n, ids: list[str] = fresh + again) -> list[StoredRecord]:
                recs = [put(tx, "site", i, {"n": n}) for i in ids]
                if rng.random() < 0.2:
                    raise Boom
                return recs

            try:
                recs = stores[w].write_grouped(fn)
            except Boom:
                continue
            with lock:
                for r in recs:
                    committed[r.id] = max(r.rev, committed.get(r.id, 0))

    seen: dict[str, int] = {}
    cursor = 0

    def pull_all() -> None:
        nonlocal cursor
        while True:
            top = puller.stable_rev()
            page = puller.change_rows_since(cursor, 5, Visibility(all=True), upto=top)
            assert all(cursor < r.rev <= top for r in page)
            for r in page:
                seen[r.id] = r.rev
            if len(page) < 5:
                cursor = max(cursor, top)
                return
            cursor = page[-1].rev

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    started.wait()
    pulls = 0
    while any(t.is_alive() for t in threads) or not done.is_set():
        if not any(t.is_alive() for t in threads):
            done.set()
        pull_all()
        pulls += 1
    for t in threads:
        t.join()
    pull_all()
    final = {r.id: r.rev for r in puller.records("site")}
    assert seen == final == committed
    assert pulls > 1


def test_the_same_mutation_id_in_two_transactions_at_once_is_applied_once(
        open_store_at: Callable[[], PostgresStore]) -> None:
    """Two stores (two processes) take the same mutation ids at the same moment:
    each id is applied by exactly one, the other reads it in the ledger."""
    a, b = open_store_at(), open_store_at()
    rounds = 25
    outcome: dict[tuple[int, int], str] = {}
    barriers = [threading.Barrier(2) for _ in range(rounds)]

    def push(side: int) -> None:
        store = (a, b)[side]
        for n in range(rounds):
            mid = f"m{n}"

            def fn(tx: Any, n: int = n, mid: str = mid) -> str:
                if tx.get_mutations([mid]):
                    return "duplicate"
                put(tx, "case", f"c{n}", {"by": side})
                tx.put_mutation(ledger(mid, n + 1, "applied"))
                return "applied"

            barriers[n].wait()
            outcome[(n, side)] = store.write_grouped(fn)

    assert in_threads(push, 2) == []
    for n in range(rounds):
        assert sorted([outcome[(n, 0)], outcome[(n, 1)]]) == ["applied", "duplicate"]
        assert a.get_mutation(f"m{n}") is not None
    assert a.count_records("case") == rounds
    assert a.max_rev() == rounds  # one revision per id: no second write
    assert a.device_stats("devA").mutations_received == rounds


@pytest.mark.parametrize("store_engine", ["postgres"], indirect=True)
def test_one_push_sent_to_two_apps_at_once_is_applied_once(
        make_app_client: Callable[..., AppClient], clock: Any) -> None:
    """Two apps on one PostgreSQL database (two server processes), the same
    push sent to both at once: one applies it, the other answers duplicate."""
    from shared_schema.ids import uuid7

    first, second = make_app_client(), make_app_client()
    world = World(first.client, first.store, clock).seed()
    dev = world.device("grid1", "devA")
    for n in range(5):
        case_id = uuid7()
        batch = [dev.upsert("case", case_id, {"site_id": world.site1, "title": f"欠薪{n}",
                                              "sector": "construction", "workers_owed": 2}),
                 dev.insert("case_event", uuid7(), {"case_id": case_id, "kind": "accept"})]
        body = {"protocol": 1, "device_id": dev.device_id, "client_time_ms": clock(),
                "mutations": batch}
        answers: dict[int, Any] = {}
        start = threading.Barrier(2)

        def send(side: int, body: dict[str, Any] = body, start: threading.Barrier = start,
                 answers: dict[int, Any] = answers) -> None:
            start.wait()
            answers[side] = (first, second)[side].client.post(
                "/api/v1/sync/push", json=body, headers=dev.headers)

        assert in_threads(send, 2) == []
        assert [answers[s].status_code for s in (0, 1)] == [200, 200]
        statuses = sorted(tuple(r["status"] for r in answers[s].json()["results"]) for s in (0, 1))
        assert statuses == [("applied", "applied"), ("duplicate", "duplicate")]
        assert first.store.get_record("case", case_id).data["status"] == "accepted"
        assert len(first.store.children_of(case_id, "case_event")) == 1
    assert first.store.device_stats("devA").mutations_received == 10
