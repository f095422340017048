"""Several server processes on one PostgreSQL database (issue 18):

* exactly once across workers: the same push sent at the same moment over two
  connections that are held by two different worker processes is applied
  once; one answer says ``applied``, the other ``duplicate``;
* concurrent writers and pullers over HTTP: devices push new records through
  both workers while others pull page after page; every puller ends with every
  change (a revision that became visible after a larger one is not skipped).

Which worker holds a connection is read from /proc: the server side of the
TCP connection is a socket inode, and exactly one worker process has it open.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from pathlib import Path
from typing import Any, Callable

import httpx
import pytest

from device.support import PASSWORD
from server.support import device_secret
from shared_schema.hlc import HybridClock
from shared_schema.ids import uuid7

from .conftest import size
from .engines import PG_2W, SQLITE, LaunchedServer, opened


def login(url: str, username: str, device_id: str) -> str:
    r = httpx.post(url + "/api/v1/auth/login", json={
        "username": username, "password": PASSWORD, "device_id": device_id,
        "device_secret": device_secret(device_id)}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["token"]


def _server_inode(server_port: int, client_port: int) -> int | None:
    """The inode of the server's end of the loopback connection from ``client_port``."""
    want_local = f"0100007F:{server_port:04X}"
    want_remote = f"0100007F:{client_port:04X}"
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        f = line.split()
        if f[1] == want_local and f[2] == want_remote:
            return int(f[9])
    return None


def worker_of(srv: LaunchedServer, conn: http.client.HTTPConnection) -> int | None:
    """The pid of the server process holding this (open, used) connection."""
    assert conn.sock is not None
    inode = _server_inode(srv.port, conn.sock.getsockname()[1])
    if inode is None:
        return None
    target = f"socket:[{inode}]"
    for pid in srv.pids():
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if fd.readlink().as_posix() == target:
                    return pid
            except OSError:
                continue
    return None


def connections_on_two_workers(srv: LaunchedServer) -> tuple[http.client.HTTPConnection, ...]:
    """Two keep-alive connections accepted by two different worker processes."""
    by_worker: dict[int, http.client.HTTPConnection] = {}
    spare: list[http.client.HTTPConnection] = []
    for _ in range(200):
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
        conn.request("GET", "/healthz")
        conn.getresponse().read()
        pid = worker_of(srv, conn)
        if pid is not None and pid not in by_worker:
            by_worker[pid] = conn
        else:
            spare.append(conn)
        if len(by_worker) == 2:
            break
    for conn in spare:
        conn.close()
    assert len(by_worker) == 2, f"every connection went to one process: {by_worker}"
    return tuple(by_worker.values())


def push(conn: http.client.HTTPConnection, token: str, body: bytes) -> tuple[int, dict[str, Any]]:
    conn.request("POST", "/api/v1/sync/push", body=body, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    return r.status, json.loads(data)


def new_sites(clock: HybridClock, seq: int, village: str, n: int, tag: str) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        fields = {"name": f"{tag}工地{i}", "kind": "construction", "village_id": village}
        out.append({"op": "upsert", "id": uuid7(), "seq": seq + i, "hlc": str(clock.tick()),
                    "entity": "site", "entity_id": uuid7(), "fields": fields,
                    "base": {k: 0 for k in fields}})
    return out


def at_once(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads released together; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = calls[i]()
        except BaseException as exc:  # noqa: BLE001 - reported to the caller
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for r in results:
        if isinstance(r, BaseException):
            raise r
    return results


def test_the_same_push_to_two_workers_at_once_is_applied_once(launch, figures) -> None:
    srv = launch(PG_2W)
    srv.start()
    device_id = uuid7()
    token = login(srv.url, "grid1", device_id)
    a, b = connections_on_two_workers(srv)
    workers = {worker_of(srv, a), worker_of(srv, b)}
    clock = HybridClock(device_id)
    rounds, per_push = size(60, 600), 5
    seq = 1
    sent: list[dict[str, Any]] = []
    answers = {"applied": 0, "duplicate": 0}
    for r in range(rounds):
        mutations = new_sites(clock, seq, srv.town.v1, per_push, f"{r}-")
        seq += per_push
        body = json.dumps({"protocol": 1, "device_id": device_id,
                           "client_time_ms": int(time.time() * 1000),
                           "mutations": mutations}).encode()
        (sa, ra), (sb, rb) = at_once(lambda body=body: push(a, token, body),
                                     lambda body=body: push(b, token, body))
        assert (sa, sb) == (200, 200), (ra, rb)
        for m, x, y in zip(mutations, ra["results"], rb["results"], strict=True):
            assert x["id"] == y["id"] == m["id"]
            # one of the two answers applied it, the other says it was a duplicate
            assert sorted([x["status"], y["status"]]) == ["applied", "duplicate"], (x, y)
            answers[x["status"]] += 1
            answers[y["status"]] += 1
        sent += mutations
        # the connections stay with their workers (keep-alive): still two processes
        assert {worker_of(srv, a), worker_of(srv, b)} == workers

    total = rounds * per_push
    with opened(srv.location) as store:
        stats = store.device_stats(device_id)
        assert (stats.mutations_received, stats.last_seq, stats.mutations_applied) == (
            total, total, total), stats
        for m in sent:
            entry = store.get_mutation(m["id"])
            assert entry is not None and entry.status == "applied" and entry.seq == m["seq"]
            rec = store.get_record("site", m["entity_id"])
            assert rec is not None and rec.data["name"] == m["fields"]["name"]
            # applied once: one write of each field, one revision
            names = [h for h in store.field_history("site", m["entity_id"]) if h.field == "name"]
            assert len(names) == 1, names
    assert answers == {"applied": total, "duplicate": total}
    figures.record("exactly once across 2 workers (PostgreSQL)", pushes_raced=rounds,
                   mutations=total, applied=answers["applied"],
                   duplicate_answers=answers["duplicate"], applied_twice=0)


@pytest.mark.parametrize("spec", [SQLITE, PG_2W], ids=lambda s: s.id)
def test_concurrent_writers_and_pullers_every_device_ends_with_every_change(
        spec: Any, launch, figures) -> None:
    srv = launch(spec)
    srv.start()
    t = srv.town
    writers, pullers = 6, 4
    pushes, per_push = size(30, 300), size(4, 10)
    done = threading.Event()
    created: list[set[str]] = [set() for _ in range(writers)]
    seen: list[dict[str, int]] = [dict() for _ in range(pullers)]
    pages = [0] * pullers
    errors: list[BaseException] = []

    def writer(i: int) -> None:
        device_id = uuid7()
        user, village = (("grid1", t.v1), ("grid2", t.v2))[i % 2]
        token = login(srv.url, user, device_id)
        clock = HybridClock(device_id)
        seq = 1
        with httpx.Client(base_url=srv.url, timeout=60,
                          headers={"Authorization": f"Bearer {token}"}) as c:
            for p in range(pushes):
                mutations = new_sites(clock, seq, village, per_push, f"w{i}-{p}-")
                seq += per_push
                r = c.post("/api/v1/sync/push", json={
                    "protocol": 1, "device_id": device_id,
                    "client_time_ms": int(time.time() * 1000), "mutations": mutations})
                assert r.status_code == 200, r.text
                results = r.json()["results"]
                assert [x["status"] for x in results] == ["applied"] * per_push, results
                created[i].update(m["entity_id"] for m in mutations)

    def puller(i: int) -> None:
        device_id = uuid7()
        token = login(srv.url, "office1", device_id)
        cursor = 0
        with httpx.Client(base_url=srv.url, timeout=60,
                          headers={"Authorization": f"Bearer {token}"}) as c:
            def pull_to_end() -> None:
                nonlocal cursor
                while True:
                    r = c.get("/api/v1/sync/pull", params={"since": cursor, "limit": 7})
                    assert r.status_code == 200, r.text
                    page = r.json()
                    pages[i] += 1
                    for ch in page["changes"]:
                        assert ch["rev"] > cursor, (ch["rev"], cursor)
                        seen[i][ch["id"]] = ch["rev"]
                    assert page["cursor"] >= cursor
                    cursor = page["cursor"]
                    if not page["has_more"]:
                        return

            while not done.is_set():
                pull_to_end()
            pull_to_end()  # once more after the last write was answered

    def guarded(fn: Callable[[int], None], i: int) -> Callable[[], None]:
        def run() -> None:
            try:
                fn(i)
            except BaseException as exc:  # noqa: BLE001 - failed at the end
                errors.append(exc)
        return run

    pull_threads = [threading.Thread(target=guarded(puller, i)) for i in range(pullers)]
    write_threads = [threading.Thread(target=guarded(writer, i)) for i in range(writers)]
    for th in pull_threads + write_threads:
        th.start()
    for th in write_threads:
        th.join(600)
    done.set()
    for th in pull_threads:
        th.join(600)
    assert not errors, errors[0]

    everything = set().union(*created)
    assert len(everything) == writers * pushes * per_push
    with opened(srv.location) as store:
        revs = {r.id: r.rev for r in store.records("site")}
    for i in range(pullers):
        missing = everything - set(seen[i])
        assert not missing, f"puller {i} skipped {len(missing)} changes, e.g. {sorted(missing)[:3]}"
        assert {k: seen[i][k] for k in everything} == {k: revs[k] for k in everything}
    figures.record(f"concurrent writers and pullers ({spec.id})", writers=writers,
                   pullers=pullers, records_written=len(everything), pages_pulled=sum(pages),
                   skipped=0)
