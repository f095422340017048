"""``serve --workers N``: several processes on PostgreSQL serving push, pull
and tus uploads whose PATCHes land on any process; SQLite refuses N > 1."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from ops.conftest import photo, sha, tus_metadata
from ops.servers import ServeProcess
from server.support import ManualClock, World
from sync_server.cli import main as cli_main
from sync_server.store import open_store


def test_sqlite_refuses_several_workers(tmp_path: Path, capsys) -> None:
    code = cli_main(["serve", "--workers", "2", "--db", str(tmp_path / "s.db")])
    err = capsys.readouterr().err
    assert code == 2 and "needs a PostgreSQL database" in err and "--workers 1" in err
    assert not (tmp_path / "s.db").exists()  # nothing was started or made
    assert cli_main(["serve", "--workers", "0", "--db", str(tmp_path / "s.db")]) == 2


def seed(url: str) -> World:
    """The test township and its users, written straight into the store."""
    store = open_store(url)
    store.migrate()
    try:
        return World(httpx.Client(), store, ManualClock(int(time.time() * 1000))).seed()
    finally:
        store.close()


def upload_across(servers: list[str], headers: dict[str, str], data: bytes, parts: int) -> None:
    """POST on the first server, then one PATCH per part, each on a new
    connection to the next server in turn; the last server says complete."""
    r = httpx.post(servers[0] + "/api/v1/uploads", headers={
        **headers, "Tus-Resumable": "1.0.0", "Upload-Length": str(len(data)),
        "Upload-Metadata": tus_metadata(data)})
    assert r.status_code == 201, r.text
    path = r.headers["Location"]
    step = -(-len(data) // parts)
    for i, start in enumerate(range(0, len(data), step)):
        base = servers[(i + 1) % len(servers)]
        head = httpx.head(base + path, headers={**headers, "Tus-Resumable": "1.0.0"})
        assert head.headers["Upload-Offset"] == str(start)  # every process sees the offset
        r = httpx.patch(base + path, content=data[start:start + step], headers={
            **headers, "Tus-Resumable": "1.0.0", "Upload-Offset": str(start),
            "Content-Type": "application/offset+octet-stream"})
        assert r.status_code == 204, r.text


@pytest.fixture
def pg_pair(pg_store_db: str, pg_db: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    yield pg_store_db, pg_db


def test_a_tus_upload_resumes_on_another_server_process(pg_pair, tmp_path: Path) -> None:
    """Two ``serve`` processes on one PostgreSQL database and photo store: a
    PATCH after the POST goes to the other process, and so on alternately."""
    db, blobs = pg_pair
    world = seed(db)
    a = ServeProcess("--db", db, "--blobs", blobs, log=tmp_path / "a.log").start()
    with a:
        b = ServeProcess("--db", db, "--blobs", blobs, log=tmp_path / "b.log").start()
        with b:
            world.http = httpx.Client(base_url=a.url)
            dev = world.device("grid1", "cam-1", pull=False)
            data = photo(1_500_000, seed=4)
            upload_across([a.url, b.url], dev.headers, data, parts=3)
            for server in (a, b):
                r = httpx.get(f"{server.url}/api/v1/blobs/{sha(data)}", headers=dev.headers)
                assert r.status_code == 200 and r.content == data


def test_two_workers_on_postgresql_serve_push_pull_and_metrics(pg_pair, tmp_path: Path) -> None:
    db, blobs = pg_pair
    world = seed(db)
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    server = ServeProcess("--db", db, "--blobs", blobs, "--workers", "2",
                          env={"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)},
                          log=tmp_path / "serve.log").start()
    with server:
        world.http = httpx.Client(base_url=server.url, headers={"Connection": "close"})
        one = world.device("grid1", "w-1", pull=False)
        two = world.device("office1", "w-2", pull=False)
        pushes = 0
        for i in range(12):  # a new connection each: the kernel hands them to either worker
            one.push(one.upsert("site", world.site1, {"contact_phone": f"1350000{i:04d}"}))
            two.push(two.upsert("site", world.site1, {"address": f"一村{i}号"}))
            pushes += 2
        one.pull(0)  # each sees the other's writes, whichever worker took them
        two.pull(0)
        assert two.record("site", world.site1)["contact_phone"] == "13500000011"
        assert one.record("site", world.site1)["address"] == "一村11号"
        data = photo(600_000, seed=5)
        upload_across([server.url], one.headers, data, parts=4)
        assert httpx.get(f"{server.url}/api/v1/blobs/{sha(data)}",
                         headers=one.headers).content == data

        # both processes served (each writes its own metrics file), and a
        # scrape of either reports the sum of both
        pids = {p.stem.rsplit("_", 1)[1] for p in metrics_dir.glob("counter_*.db")}
        assert len(pids) >= 2, pids
        text = httpx.get(server.url + "/metrics").text
        pushed = sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                     if line.startswith("wage_patrol_requests_total{")
                     and 'path="/api/v1/sync/push"' in line)
        assert pushed == pushes
