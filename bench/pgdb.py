"""PostgreSQL for the benchmark: a fresh database per phase on the local
cluster (``--pg``, default ``postgresql://postgres@127.0.0.1:5432/postgres``),
dropped afterwards, and the CPU its server backends spend.

The database's own CPU is part of a push's cost on PostgreSQL (on SQLite it is
inside the server process), so the figures add the backends' CPU: the
processes ``pg_stat_activity`` lists for the bench database, read from /proc
(only those, not the other databases on the same cluster).
"""

from __future__ import annotations

import itertools
import os
from contextlib import contextmanager
from typing import Any, Iterator

from common import cpu_s

ADMIN_URL = os.environ.get("WAGE_PATROL_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
_names = itertools.count(1)


def _connect(url: str) -> Any:
    import psycopg

    return psycopg.connect(url, autocommit=True, connect_timeout=5)


def url_of(name: str, admin_url: str = ADMIN_URL) -> str:
    return admin_url.rpartition("/")[0] + "/" + name


@contextmanager
def database(admin_url: str = ADMIN_URL, keep: bool = False) -> Iterator[str]:
    """A new, empty database ``wp_bench_<pid>_<n>``; its URL; dropped on exit."""
    name = f"wp_bench_{os.getpid()}_{next(_names)}"
    with _connect(admin_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\'')
    try:
        yield url_of(name, admin_url)
    finally:
        if not keep:
            with _connect(admin_url) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def backend_pids(db_url: str, admin_url: str = ADMIN_URL) -> list[int]:
    name = db_url.rpartition("/")[2].split("?")[0]
    with _connect(admin_url) as conn:
        return [r[0] for r in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,))]


class BackendCpu:
    """CPU seconds the database's backends spend between ``start()`` and ``stop()``
    (a backend that ends in between is missed: the server's pool keeps them)."""

    def __init__(self, db_url: str | None, admin_url: str = ADMIN_URL) -> None:
        self.db_url = db_url
        self.admin_url = admin_url
        self.before: dict[int, float] = {}

    def start(self) -> None:
        if self.db_url:
            self.before = {pid: cpu_s(pid) for pid in backend_pids(self.db_url, self.admin_url)}

    def stop(self) -> float:
        if not self.db_url:
            return 0.0
        pids = backend_pids(self.db_url, self.admin_url)
        return round(sum(cpu_s(pid) - self.before.get(pid, 0.0) for pid in pids), 2)
