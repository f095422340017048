"""PostgreSQL for the tests: find the server on 127.0.0.1:5432 (or the URL in
``WAGE_PATROL_TEST_PG``), start Debian's cluster if it is not running, and hand
out fresh databases cloned from one migrated template.

PostgreSQL is part of what the suite proves: when it can be neither found nor
started, the tests that need it FAIL with the reason (they are never skipped).
Every database made here is named ``wp_t<pid>_…`` and dropped at the end.
"""

from __future__ import annotations

import glob
import os
import subprocess
import time
from pathlib import Path

import psycopg

ADMIN_URL = os.environ.get("WAGE_PATROL_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


class PostgresMissing(RuntimeError):
    """No PostgreSQL to test against: the message says what was tried."""


def _reachable() -> str | None:
    """None when the admin URL answers, else why not."""
    try:
        with psycopg.connect(ADMIN_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return None
    except psycopg.Error as exc:
        return str(exc).strip()


def ensure_running() -> None:
    """Connect, or start Debian's cluster (``pg_ctlcluster VERSION main start``)
    and wait up to 30 s for it; ``PostgresMissing`` if neither works."""
    why = _reachable()
    if why is None:
        return
    versions = sorted(Path(p).name for p in glob.glob("/etc/postgresql/*"))
    if not versions:
        raise PostgresMissing(f"PostgreSQL is not reachable at {ADMIN_URL} ({why}) and no "
                              "cluster is installed (apt-get install postgresql)")
    start = ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"]
    done = subprocess.run(start, capture_output=True, text=True, check=False)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if _reachable() is None:
            return
        time.sleep(0.3)
    raise PostgresMissing(f"PostgreSQL is not reachable at {ADMIN_URL} ({why}); "
                          f"`{' '.join(start)}` gave {done.returncode}: "
                          f"{(done.stderr or done.stdout).strip()}")


def url_of(dbname: str) -> str:
    base, _, _ = ADMIN_URL.rpartition("/")
    return f"{base}/{dbname}"


class Databases:
    """Fresh databases for one test session, each a copy of a migrated template."""

    def __init__(self) -> None:
        ensure_running()
        self.prefix = f"wp_t{os.getpid()}"
        self._n = 0
        self._made: list[str] = []
        self._template: str | None = None
        self._stores: set[str] = set()  # the template's copies
        self._spare: list[str] = []  # emptied copies, to hand out again

    def _admin(self, sql: str) -> None:
        with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql)

    def empty(self) -> str:
        """The URL of a new database with no tables."""
        self._n += 1
        name = f"{self.prefix}_{self._n}"
        self._admin(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8'")
        self._made.append(name)
        return url_of(name)

    def fresh(self) -> str:
        """The URL of a migrated, empty store database (a template copy, or one
        emptied by ``drop``)."""
        if self._template is None:
            from sync_server.store.postgres import PostgresStore

            url = self.empty()
            store = PostgresStore(url, pool_min=1, pool_max=1)
            try:
                store.migrate()
            finally:
                store.close()
            self._template = url.rpartition("/")[2]
        if self._spare:
            return url_of(self._spare.pop())
        self._n += 1
        name = f"{self.prefix}_{self._n}"
        self._admin(f"CREATE DATABASE {name} TEMPLATE {self._template}")
        self._made.append(name)
        self._stores.add(name)
        return url_of(name)

    def drop(self, url: str) -> None:
        """Done with this database. A store database is emptied (every table but
        ``schema_migrations``, the revision counter back to 0: as the template)
        and handed out again by ``fresh``, which is much quicker than
        ``DROP``/``CREATE DATABASE``; any other is dropped."""
        name = url.rpartition("/")[2]
        if name not in self._stores:
            self._admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            if name in self._made:
                self._made.remove(name)
            return
        self._admin(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    f"WHERE datname = '{name}' AND pid <> pg_backend_pid()")
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
            tables = [r[0] for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'schema_migrations'")]
            with conn.transaction():  # DELETE: quicker than TRUNCATE on a test's few rows
                for table in tables:
                    conn.execute(f"DELETE FROM {table}")
                conn.execute("INSERT INTO counters VALUES ('rev', 0)")
        self._spare.append(name)

    def drop_all(self) -> None:
        for name in reversed(self._made):
            self._admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self._made.clear()
        self._spare.clear()
        self._stores.clear()
