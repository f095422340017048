"""Servers under test, launched from a spec: the engine (SQLite file or a
PostgreSQL database) and the number of worker processes.

    spec = ServerSpec("postgresql", workers=2)
    with fresh_database(spec, tmp_path) as db:      # a new, migrated, empty database
        srv = LaunchedServer(db, tmp_path / "server", workers=spec.workers)
        srv.start()                                  # sync-server serve --db … --workers 2
        ...
        srv.kill()                                   # SIGKILL, every process of the server

A PostgreSQL database is made per test on the cluster at ``$WAGE_PATROL_TEST_PG``
(default ``postgresql://postgres@127.0.0.1:5432/postgres``), named
``wp_g_<pid>_<n>``, cloned from a template migrated once per session, and
dropped at the end. Without the cluster, or without the PostgreSQL store,
the PostgreSQL tests fail and say which; they never skip.

What a proof reads back from the server (ledger, records, history, conflicts)
it reads through the store contract (``open_store``), the same on both engines.
"""

from __future__ import annotations

import itertools
import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import httpx

from device.support import PASSWORD, ROOT, Township
from server.support import SCRYPT_N, field_users, free_port, upsert_township
from sync_server.domain.auth.service import create_user
from sync_server.domain.registry.service import ServerWriter

PG_ADMIN_URL = os.environ.get("WAGE_PATROL_TEST_PG",
                              "postgresql://postgres@127.0.0.1:5432/postgres")
#: The console script of the venv running the tests.
SYNC_SERVER = str(Path(sys.executable).parent / "sync-server")


@dataclass(frozen=True)
class ServerSpec:
    engine: str = "sqlite"  # sqlite | postgresql
    workers: int = 1

    @property
    def id(self) -> str:
        return self.engine if self.workers == 1 else f"{self.engine}-{self.workers}w"


#: The specs the proofs run on: the embedded default and a district's setup.
SQLITE = ServerSpec("sqlite", 1)
PG_2W = ServerSpec("postgresql", 2)


# --- PostgreSQL databases --------------------------------------------------------------


class PgUnavailable(AssertionError):
    """The PostgreSQL proofs cannot run here: the message says what is missing."""


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise PgUnavailable("psycopg is not installed: the PostgreSQL store (#18, h/pg-store) "
                            "is missing from this tree") from None
    return psycopg


def _admin() -> Any:
    psycopg = _psycopg()
    try:
        return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.Error as exc:
        raise PgUnavailable(f"no PostgreSQL at {PG_ADMIN_URL} (make test starts one): {exc}") \
            from None


def _url_of(name: str) -> str:
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{name}"


_names = itertools.count(1)
_template: dict[str, str] = {}


def _migrated_template() -> str:
    """A database migrated once per session, cloned for each test (cheap)."""
    if "name" in _template:
        return _template["name"]
    from sync_server.store import open_store

    name = f"wp_g_{os.getpid()}_template"
    with _admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\'')
    _template["name"] = name  # dropped at the end of the session, even if it fails below
    try:
        store = open_store(_url_of(name))
    except Exception as exc:
        raise PgUnavailable(f"the store cannot open {_url_of(name)}: {exc} "
                            "(is the PostgreSQL store of #18 in this tree?)") from None
    try:
        store.migrate()
    finally:
        store.close()
    return name


def drop_template() -> None:
    name = _template.pop("name", None)
    if name:
        with _admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def pg_database() -> Iterator[str]:
    """The URL of a new, migrated, empty PostgreSQL database; dropped afterwards."""
    template = _migrated_template()
    name = f"wp_g_{os.getpid()}_{next(_names)}"
    with _admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield _url_of(name)
    finally:
        with _admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_database(spec: ServerSpec, folder: Path) -> Iterator[str]:
    """Where the server's database is: a new SQLite file, or a new PostgreSQL database."""
    if spec.engine == "sqlite":
        folder.mkdir(parents=True, exist_ok=True)
        yield str(folder / "server.db")
    elif spec.engine == "postgresql":
        with pg_database() as url:
            yield url
    else:
        raise ValueError(spec.engine)


# --- reading the server's truth -----------------------------------------------------------


@contextmanager
def opened(location: str) -> Iterator[Any]:
    """The server's store at ``location`` through the contract (migrated, as the server leaves it)."""
    from sync_server.store import open_store

    store = open_store(location)
    try:
        yield store
    finally:
        store.close()


def integrity(location: str) -> str:
    """SQLite's ``PRAGMA integrity_check``; PostgreSQL: the store's health check."""
    if "://" not in location:
        conn = sqlite3.connect(location, timeout=10)
        try:
            return conn.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            conn.close()
    with opened(location) as store:
        health = store.health_check()
        return "ok" if health.ok else "; ".join(health.problems)


def seed_township(location: str, town: Township) -> None:
    """``Township.seed`` through the contract, on either engine."""
    from sync_server.store import open_store

    store = open_store(location)
    try:
        store.migrate()
        with store.transaction() as tx:
            w = ServerWriter(tx, int(time.time() * 1000))
            upsert_township(w, town, sectors=False)
            w.upsert("site", town.site3, {
                "name": "一村物流园", "kind": "logistics", "village_id": town.v1,
                "status": "active"})
        for username, role, scope in field_users(town):
            town.users[username] = create_user(store, username, PASSWORD, role,
                                               scrypt_n=SCRYPT_N, **scope).id
    finally:
        store.close()


# --- the server as processes --------------------------------------------------------------


def _group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of a process group."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            out.append(int(entry.name))
    return out


class LaunchedServer:
    """``sync-server serve --db LOCATION [--workers N]`` on a free 127.0.0.1 port,
    in its own process group so a SIGKILL takes every worker at once, as a
    machine's crash or the OOM killer would. Restartable on the same port."""

    def __init__(self, location: str, folder: Path, workers: int = 1, seed: bool = True) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.location = location
        self.db = location  # what the proofs read back (a path or a URL)
        self.folder = folder
        self.workers = workers
        self.town = Township()
        if seed:
            seed_township(location, self.town)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.log = folder / "server.log"

    def command(self) -> list[str]:
        cmd = [SYNC_SERVER, "serve", "--db", self.location, "--host", "127.0.0.1",
               "--port", str(self.port), "--blobs", str(self.folder / "blobs")]
        if self.workers != 1:
            cmd += ["--workers", str(self.workers)]
        return cmd

    def start(self) -> None:
        env = {**os.environ, "WAGE_PATROL_SCRYPT_N": str(SCRYPT_N),
               "PYTHONPATH": str(ROOT)}
        env.pop("WAGE_PATROL_DB", None)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(self.command(), env=env, cwd=ROOT, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{' '.join(self.command())} exited {self.proc.returncode}: "
                                   + self.log.read_text(errors="replace")[-3000:])
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError("the server did not start: " + self.log.read_text(errors="replace")[-3000:])

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def pids(self) -> list[int]:
        """The server's processes (the supervisor and its workers)."""
        return _group_members(self.proc.pid) if self.proc else []

    def _signal_group(self, sig: int, wait_s: float) -> None:
        if self.proc is None:
            return
        pgid = self.proc.pid
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            os.killpg(pgid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while _group_members(pgid) and time.monotonic() < deadline:
            time.sleep(0.01)  # the workers, reparented, until they are gone (the port is free)
        assert not _group_members(pgid), f"server processes left: {_group_members(pgid)}"

    def kill(self) -> None:
        """SIGKILL to every process of the server, then wait until all are gone."""
        if self.alive or (self.proc and _group_members(self.proc.pid)):
            self._signal_group(signal.SIGKILL, 10)

    def stop(self) -> None:
        if self.alive:
            self._signal_group(signal.SIGTERM, 15)

    def connection_holders(self) -> set[int]:
        """The server processes holding an open client connection now (the
        workers busy with, or keeping alive, a device's requests)."""
        want = f"0100007F:{self.port:04X}"
        inodes = set()
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            f = line.split()
            if f[1] == want and f[3] == "01":  # ESTABLISHED, the server's end
                inodes.add(f"socket:[{f[9]}]")
        holders = set()
        for pid in self.pids():
            try:
                fds = list(Path(f"/proc/{pid}/fd").iterdir())
            except OSError:
                continue
            for fd in fds:
                try:
                    if fd.readlink().as_posix() in inodes:
                        holders.add(pid)
                        break
                except OSError:
                    continue
        return holders

    def kill_busy_worker(self) -> int | None:
        """SIGKILL one worker that holds a client connection (the supervisor
        starts a new one); the pid killed, or None if none held one."""
        assert self.proc is not None
        busy = sorted(self.connection_holders() - {self.proc.pid})
        if not busy:
            return None
        os.kill(busy[0], signal.SIGKILL)
        return busy[0]
