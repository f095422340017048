"""Server settings: loaded once at the entry point and passed to ``create_app``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from shared_schema.hlc import system_now_ms
from shared_schema.servertime import DEFAULT_MAX_BACKDATE_MS

MiB = 1024 * 1024


def _flag(text: str) -> bool:
    """An on/off environment variable: 1/true/yes/on or 0/false/no/off."""
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"expected 1/0, true/false, yes/no or on/off, got {text!r}")


def _scrypt_n(text: str) -> int:
    """scrypt's N: a power of two from 2^10 to 2^20."""
    n = int(text)
    if not (2**10 <= n <= 2**20 and n & (n - 1) == 0):
        raise ValueError(f"expected a power of two from 1024 to 1048576, got {n}")
    return n


def _addresses(text: str) -> tuple[str, ...]:
    """A comma-separated list of addresses."""
    return tuple(a.strip() for a in text.split(",") if a.strip())


def _log_format(text: str) -> str:
    if text not in ("text", "json"):
        raise ValueError(f"expected text or json, got {text!r}")
    return text


@dataclass(frozen=True)
class Settings:
    db_path: Path = Path("data/server.db")
    blobs_dir: Path | None = None  # default: <db dir>/blobs
    host: str = "127.0.0.1"
    port: int = 8000
    max_push_bytes: int = 8 * MiB
    max_mutations: int = 5_000
    max_clock_skew_ms: int = 5 * 60 * 1000
    pull_default_limit: int = 1_000
    pull_max_limit: int = 10_000
    max_upload_bytes: int = 20 * MiB  # one photo
    token_ttl_ms: int = 30 * 24 * 3600 * 1000
    #: Requests run at most this many at a time on worker threads (0: four per
    #: core). Fewer threads than anyio's 40 keep a burst of pushes and pulls from
    #: contending for one interpreter lock (docs/performance.md "Settings").
    worker_threads: int = 0
    #: The interpreter's collector runs its youngest generation after this many
    #: new container objects (0: Python's 700). A push makes thousands of
    #: short-lived dicts per batch, and at Python's default the collector runs
    #: many times in each; ``serve`` sets it for the whole process
    #: (docs/performance.md "Settings").
    gc_gen0: int = 10_000
    #: uvicorn's line per request. Off by default: the ledger, the devices'
    #: last push and pull, the audit log and the error log already say what
    #: happened, and under a burst of devices the lines cost server CPU
    #: (docs/performance.md "Settings").
    access_log: bool = False
    #: Deadlines, on-time rates and monthly figures count a device's time only
    #: this far before the server received the record (default 72 hours: a
    #: weekend offline); earlier counts as receipt minus this, later as the
    #: receipt (shared_schema.servertime, docs/security.md "Server time").
    max_backdate_ms: int = DEFAULT_MAX_BACKDATE_MS
    #: scrypt's cost N for new password hashes (r=8, p=1): OWASP's 2^17, which
    #: needs 128 MiB per hash (docs/security.md). A stored hash below it is
    #: re-hashed at the next successful login (domain/auth/passwords.py).
    scrypt_n: int = 2**17
    #: Failed logins allowed per username, and per client address, before each
    #: further attempt waits: 429 ``too_many_attempts`` with ``Retry-After``,
    #: the password not even checked (domain/auth/throttle.py).
    login_free_failures: int = 5
    login_free_failures_per_client: int = 20
    #: The first wait, doubled with each further failure up to the cap.
    login_backoff_ms: int = 1000
    login_backoff_max_ms: int = 15 * 60 * 1000
    #: A username's or address's failures are forgotten after this long
    #: without one (a success forgets the username's at once).
    login_failure_memory_ms: int = 24 * 3600 * 1000
    #: Proxies whose ``X-Forwarded-For`` names the client (exact addresses);
    #: empty: the connection's address is the client, the header is ignored.
    trusted_proxies: tuple[str, ...] = ()
    #: An upload no byte reached for this long expires: its row and partial
    #: file are removed (tus Expiration, ``Upload-Expires``).
    upload_expiry_ms: int = 24 * 3600 * 1000
    #: Declared bytes of one device's unfinished uploads at most; a POST past
    #: it: 429 ``upload_quota``.
    max_unfinished_bytes: int = 200 * MiB
    #: Unfinished uploads of one user at most; a POST past it: 429 ``upload_quota``.
    max_unfinished_uploads: int = 50
    #: A verified blob no live photo record names is deleted this long after a
    #: collection first saw it so.
    orphan_grace_ms: int = 7 * 24 * 3600 * 1000
    #: The server's collection (expired uploads, orphan blobs) runs this often
    #: (0: only ``sync-server gc``).
    gc_interval_ms: int = 3600 * 1000
    #: A PATCH holds its upload's lock; a lock not renewed for this long (the
    #: process died) may be taken by the next PATCH.
    upload_lock_ms: int = 120_000
    #: Free bytes the blob disk keeps: an upload that would go below it is
    #: refused (507 ``storage_full``), and ``/readyz`` answers 503.
    min_free_bytes: int = 256 * MiB
    # --- #18 ops ---
    #: Log lines as ``text`` or ``json`` (one object per line, with the request id).
    log_format: str = "text"
    #: ``/metrics`` (Prometheus) served; keep it off the public side (docs/deploy.md).
    metrics: bool = True
    #: Photos in PostgreSQL instead of ``blobs_dir`` (``WAGE_PATROL_BLOBS`` as a URL).
    blobs_url: str | None = None
    now_ms: Callable[[], int] = field(default=system_now_ms, compare=False)
    # --- #18 PostgreSQL store ---
    #: A PostgreSQL database (``postgresql://user@host:5432/dbname``): when set
    #: (``--db URL``, ``$WAGE_PATROL_DATABASE_URL``) it is the store, not ``db_path``.
    database_url: str | None = None
    #: Its connection pool per server process: connections kept open, at most
    #: open, and how long to wait for one (or to connect) before the database
    #: counts as unavailable.
    db_pool_min: int = 1
    db_pool_max: int = 10
    db_connect_timeout_s: float = 10.0

    @property
    def database(self) -> str | Path:
        """What ``open_store`` opens: the URL if there is one, else the file."""
        return self.database_url or self.db_path

    @property
    def store_options(self) -> dict[str, int | float]:
        """``open_store``'s pool options (PostgreSQL's; SQLite has none)."""
        if not self.database_url:
            return {}
        return {"pool_min": self.db_pool_min, "pool_max": self.db_pool_max,
                "connect_timeout": self.db_connect_timeout_s}

    @property
    def blob_path(self) -> Path:
        return self.blobs_dir or Path(self.db_path).parent / "blobs"

    @property
    def blob_location(self) -> Path | str:
        """Where photos live: a ``postgresql://`` URL or a directory."""
        return self.blobs_url or self.blob_path

    @property
    def worker_thread_limit(self) -> int:
        return self.worker_threads or 4 * max(1, os.cpu_count() or 1)

    @classmethod
    def from_env(cls, **overrides: object) -> "Settings":
        """Settings from ``WAGE_PATROL_*`` environment variables, then overrides.
        A value that does not read raises ``ValueError`` naming its variable."""
        env = os.environ
        s = cls()
        mapping = {
            "db_path": ("WAGE_PATROL_DB", Path),
            "blobs_dir": ("WAGE_PATROL_BLOBS", Path),
            "max_push_bytes": ("WAGE_PATROL_MAX_PUSH_BYTES", int),
            "max_mutations": ("WAGE_PATROL_MAX_MUTATIONS", int),
            "max_clock_skew_ms": ("WAGE_PATROL_MAX_CLOCK_SKEW_MS", int),
            "max_upload_bytes": ("WAGE_PATROL_MAX_UPLOAD_BYTES", int),
            "token_ttl_ms": ("WAGE_PATROL_TOKEN_TTL_MS", int),
            "worker_threads": ("WAGE_PATROL_WORKER_THREADS", int),
            "gc_gen0": ("WAGE_PATROL_GC_GEN0", int),
            "access_log": ("WAGE_PATROL_ACCESS_LOG", _flag),
            "max_backdate_ms": ("WAGE_PATROL_MAX_BACKDATE_MS", int),
            "scrypt_n": ("WAGE_PATROL_SCRYPT_N", _scrypt_n),
            "login_free_failures": ("WAGE_PATROL_LOGIN_FREE_FAILURES", int),
            "login_free_failures_per_client": ("WAGE_PATROL_LOGIN_FREE_FAILURES_PER_CLIENT",
                                               int),
            "login_backoff_ms": ("WAGE_PATROL_LOGIN_BACKOFF_MS", int),
            "login_backoff_max_ms": ("WAGE_PATROL_LOGIN_BACKOFF_MAX_MS", int),
            "login_failure_memory_ms": ("WAGE_PATROL_LOGIN_FAILURE_MEMORY_MS", int),
            "trusted_proxies": ("WAGE_PATROL_TRUSTED_PROXIES", _addresses),
            "upload_expiry_ms": ("WAGE_PATROL_UPLOAD_EXPIRY_MS", int),
            "max_unfinished_bytes": ("WAGE_PATROL_MAX_UNFINISHED_BYTES", int),
            "max_unfinished_uploads": ("WAGE_PATROL_MAX_UNFINISHED_UPLOADS", int),
            "orphan_grace_ms": ("WAGE_PATROL_ORPHAN_GRACE_MS", int),
            "gc_interval_ms": ("WAGE_PATROL_GC_INTERVAL_MS", int),
            "upload_lock_ms": ("WAGE_PATROL_UPLOAD_LOCK_MS", int),
            "min_free_bytes": ("WAGE_PATROL_MIN_FREE_BYTES", int),
            # --- #18 PostgreSQL store ---
            "database_url": ("WAGE_PATROL_DATABASE_URL", str),
            "db_pool_min": ("WAGE_PATROL_DB_POOL_MIN", int),
            "db_pool_max": ("WAGE_PATROL_DB_POOL_MAX", int),
            "db_connect_timeout_s": ("WAGE_PATROL_DB_CONNECT_TIMEOUT_S", float),
            # --- #18 ops ---
            "log_format": ("WAGE_PATROL_LOG_FORMAT", _log_format),
            "metrics": ("WAGE_PATROL_METRICS", _flag),
        }
        values = {}
        for key, (name, conv) in mapping.items():
            if name in env:
                try:
                    values[key] = conv(env[name])
                except ValueError as exc:
                    raise ValueError(f"${name}: {exc}") from None
        if "://" in env.get("WAGE_PATROL_BLOBS", ""):  # --- #18 ops: photos in PostgreSQL
            values["blobs_url"], values["blobs_dir"] = env["WAGE_PATROL_BLOBS"], None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return replace(s, **values)
