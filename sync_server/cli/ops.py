"""``sync-server`` commands that run and keep the server: ``serve`` (one or
several worker processes), ``backup`` and ``restore`` (the database and the
photos, both engines). docs/deploy.md says how they are used in production."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

from sync_server.cli.commands import tune_gc
from sync_server.cli.common import EXIT_OK, CliError, UsageError, _human, _out, db_settings, store_at
from sync_server.settings import Settings
from sync_server.store import BACKEND_ERRORS, is_database_url

#: What ``backup`` writes and ``restore`` reads (``manifest.json``'s ``format``).
BACKUP_FORMAT = "wage-patrol-backup/1"
MANIFEST = "manifest.json"


def _settings(args: argparse.Namespace, **more: Any) -> Settings:

    blobs = getattr(args, "blobs", None)
    overrides: dict[str, Any] = db_settings(args.db)
    if blobs:
        overrides["blobs_url" if "://" in blobs else "blobs_dir"] = blobs if "://" in blobs else Path(blobs)
    try:
        return Settings.from_env(**overrides, **more)
    except ValueError as exc:  # an environment variable that does not read
        raise CliError(str(exc)) from None


# --- serve ---------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from sync_server.observability import logging_config

    if args.workers < 1:
        raise UsageError(f"--workers must be 1 or more, got {args.workers}")
    on_postgres = is_database_url(args.db)
    if not on_postgres and Path(args.db).is_dir():
        raise CliError(f"{args.db} is a directory, not a database file")
    if args.workers > 1 and not on_postgres:
        raise UsageError(f"--workers {args.workers} needs a PostgreSQL database (--db "
                         "postgresql://…): a SQLite database takes one server process; "
                         "run it with --workers 1")
    settings = _settings(args, host=args.host, port=args.port,
                         access_log=True if args.access_log else None,
                         log_format=args.log_format)
    log_config = logging_config(settings.log_format)
    if args.workers == 1:
        from sync_server.app import create_app

        tune_gc(settings.gc_gen0)
        uvicorn.run(create_app(settings), host=settings.host, port=settings.port,
                    access_log=settings.access_log, log_config=log_config)
        return EXIT_OK
    # Each worker builds its app from the environment (app_from_env): hand the
    # options over there. Their metrics meet in one directory, emptied first.
    os.environ["WAGE_PATROL_DATABASE_URL"] = args.db
    if getattr(args, "blobs", None):
        os.environ["WAGE_PATROL_BLOBS"] = args.blobs
    os.environ["WAGE_PATROL_ACCESS_LOG"] = "1" if settings.access_log else "0"
    os.environ["WAGE_PATROL_LOG_FORMAT"] = settings.log_format
    metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(
        prefix="wage-patrol-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    for stale in Path(metrics_dir).glob("*.db"):
        stale.unlink()
    uvicorn.run("sync_server.app:app_from_env", factory=True, workers=args.workers,
                host=settings.host, port=settings.port, access_log=settings.access_log,
                log_config=log_config)
    return EXIT_OK


# --- backup ----------------------------------------------------------------------------


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cmd_backup(args: argparse.Namespace) -> int:
    """The database (SQLite's online backup, or ``pg_dump``) and then every
    photo into a new directory, with a manifest of sizes and sha256s."""
    from sync_server.blobs import open_blobs

    target = Path(args.path)
    if target.exists():
        raise CliError(f"{args.path} already exists; choose a new name")
    if not is_database_url(args.db) and target.resolve() == Path(args.db).resolve():
        raise CliError("the backup must go to another place than the database")
    settings = _settings(args)
    engine = "postgresql" if is_database_url(args.db) else "sqlite"
    db_file = "database.pgdump" if engine == "postgresql" else "database.sqlite3"
    work = target.with_name(f".{target.name}.partial")
    shutil.rmtree(work, ignore_errors=True)
    (work / "photos").mkdir(parents=True)
    started = time.time()
    try:
        with store_at(args.db) as store:
            try:
                health = store.backup(work / db_file)
            except BACKEND_ERRORS as exc:
                raise CliError(f"backup failed: {exc}") from None
            if not health.ok:
                raise CliError("the database copy failed its check: " + "; ".join(health.problems))
        # after the database: every photo its rows name is already stored
        blobs = open_blobs(settings.blob_location)
        photos, photo_bytes = 0, 0
        try:
            for sha in blobs.hashes():
                path = work / "photos" / sha[:2] / sha
                path.parent.mkdir(exist_ok=True)
                with blobs.open(sha) as src, open(path, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
                if _sha256_of(path) != sha:
                    raise CliError(f"photo {sha} does not match its sha256 in the photo store")
                photos += 1
                photo_bytes += path.stat().st_size
        finally:
            blobs.close()
        manifest: dict[str, Any] = {
            "format": BACKUP_FORMAT, "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "engine": engine, "database": {"file": db_file, "size": (work / db_file).stat().st_size,
                                           "sha256": _sha256_of(work / db_file)},
            "blob_store": blobs.kind, "photos": photos, "photo_bytes": photo_bytes,
        }
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(work, target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    _out(f"backed up the {engine} database ({_human(manifest['database']['size'])}, integrity ok) "
         f"and {photos} photo(s) ({_human(photo_bytes)}) to {args.path} in "
         f"{time.time() - started:.1f} s")
    return EXIT_OK


# --- restore ---------------------------------------------------------------------------


def _read_manifest(source: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((source / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise CliError(f"{source} is not a backup ({MANIFEST}: {exc})") from None
    if manifest.get("format") != BACKUP_FORMAT:
        raise CliError(f"{source}: unknown backup format {manifest.get('format')!r}")
    return manifest


def _photos(source: Path) -> Iterator[Path]:
    yield from sorted(p for p in (source / "photos").glob("*/*") if p.is_file())


def _check(source: Path, manifest: dict[str, Any]) -> None:
    """Every file is what the manifest says, before anything is touched."""
    db = manifest["database"]
    if _sha256_of(source / db["file"]) != db["sha256"]:
        raise CliError(f"{source / db['file']} does not match the manifest's sha256; nothing restored")
    photos = list(_photos(source))
    if len(photos) != manifest["photos"]:
        raise CliError(f"{source} holds {len(photos)} photo(s), the manifest says "
                       f"{manifest['photos']}; nothing restored")
    for path in photos:
        if _sha256_of(path) != path.name:
            raise CliError(f"photo {path.name} does not match its sha256; nothing restored")


def _postgres_has_tables(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=10) as conn:
            row = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' "
                               "AND tablename NOT LIKE 'blobstore\\_%'").fetchone()
    except psycopg.Error as exc:
        raise CliError(f"cannot reach {url.split('@')[-1]}: {exc}") from None
    return bool(row and row[0])


def _restore_sqlite(file: Path, db: Path) -> None:
    tmp = db.with_name(f".{db.name}.restoring")
    shutil.copyfile(file, tmp)
    with sqlite3.connect(tmp) as conn:
        if conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            tmp.unlink()
            raise CliError(f"{file} fails SQLite's integrity check; nothing restored")
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    os.replace(tmp, db)


def _restore_postgres(file: Path, url: str) -> None:
    if shutil.which("pg_restore") is None:
        raise CliError("restoring a PostgreSQL backup needs pg_restore (Debian: postgresql-client)")
    done = subprocess.run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges",
                           "--single-transaction", f"--dbname={url}", str(file)],
                          capture_output=True, text=True, check=False,
                          env={**os.environ, "PGCONNECT_TIMEOUT": "10"})
    if done.returncode != 0:
        raise CliError(f"pg_restore failed: {done.stderr.strip()}")


def cmd_restore(args: argparse.Namespace) -> int:
    """A backup into the database and photo store named: checked first; an
    existing database or photos are replaced only with ``--force``. The server
    must be stopped."""
    from sync_server.blobs import open_blobs

    source = Path(args.path)
    manifest = _read_manifest(source)
    engine = "postgresql" if is_database_url(args.db) else "sqlite"
    if manifest["engine"] != engine:
        raise CliError(f"{args.path} is a {manifest['engine']} backup; --db names a {engine} "
                       "database")
    _check(source, manifest)
    settings = _settings(args)
    occupied = (_postgres_has_tables(args.db) if engine == "postgresql"
                else Path(args.db).exists() and Path(args.db).stat().st_size > 0)
    blobs = open_blobs(settings.blob_location)
    try:
        has_photos = next(iter(blobs.hashes()), None) is not None
        if (occupied or has_photos) and not args.force:
            what = " and ".join(w for w, there in (("a database", occupied),
                                                   ("photos", has_photos)) if there)
            raise CliError(f"the target already holds {what}; stop the server and add --force to "
                           "replace them with the backup")
        db_file = source / manifest["database"]["file"]
        if engine == "postgresql":
            _restore_postgres(db_file, args.db)
        else:
            Path(args.db).parent.mkdir(parents=True, exist_ok=True)
            _restore_sqlite(db_file, Path(args.db))
    finally:
        blobs.close()
    # the blob tables may have been dropped and made again by pg_restore: open anew
    blobs = open_blobs(settings.blob_location)
    try:
        for sha in list(blobs.hashes()):  # --force: the photos are the backup's, no others
            blobs.trash(sha)
            blobs.purge(sha)
        for path in _photos(source):
            blobs.put(path.name, path.read_bytes())
    finally:
        blobs.close()
    with store_at(args.db) as store:  # migrates an older backup to this version
        health = store.health_check()
    if not health.ok:
        raise CliError("the restored database failed its check: " + "; ".join(health.problems))
    _out(f"restored {args.path} ({manifest['created_at']}): the {engine} database and "
         f"{manifest['photos']} photo(s) ({_human(manifest['photo_bytes'])})")
    return EXIT_OK


def add_commands(commands: Any, command: Any) -> None:
    """``serve``, ``backup``, ``restore`` on the parser (``command`` adds ``--db``)."""
    from sync_server.cli.main import _port

    p = command(commands, "serve", "run the sync server", cmd_serve)
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=_port, default=8000, help="port (default 8000)")
    p.add_argument("--blobs", metavar="DIR_OR_URL",
                   help="photo store: a directory (default: <db dir>/blobs) or a postgresql:// URL")
    p.add_argument("--access-log", action="store_true",
                   help="log a line per request (default off; $WAGE_PATROL_ACCESS_LOG)")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="worker processes (default 1; more than 1 needs PostgreSQL)")
    p.add_argument("--log-format", choices=("text", "json"), default=None,
                   help="log lines as text or JSON (default text; $WAGE_PATROL_LOG_FORMAT)")

    p = command(commands, "backup", "copy the database and the photos while in use", cmd_backup,
                "path")
    p.add_argument("--blobs", metavar="DIR_OR_URL", help="photo store (default: <db dir>/blobs)")

    p = command(commands, "restore", "restore a backup (the server stopped)", cmd_restore, "path")
    p.add_argument("--blobs", metavar="DIR_OR_URL", help="photo store (default: <db dir>/blobs)")
    p.add_argument("--force", action="store_true",
                   help="replace a database or photos already there")
