"""``sync-server`` commands on the server and its database as a whole:
seed-demo, demo-info, import-sites, gc (serve, backup, restore: ``ops``)."""

from __future__ import annotations

import argparse
import gc
import sys
from pathlib import Path

from shared_schema.hlc import system_now_ms
from sync_server.cli.common import (
    EXIT_OK,
    PROG,
    CliError,
    _human,
    _out,
    _settings,
    _warn,
    db_settings,
    scope_words,
    store_at,
    table,
)
from sync_server.domain.auth.passwords import verify_password
from sync_server.domain.registry.importer import ImportFileError, import_sites
from sync_server.store.base import UserRow


def tune_gc(gen0: int) -> None:
    """The collector's youngest-generation threshold for this process (0:
    Python's default); the older generations keep Python's ratios."""
    if gen0 > 0:
        _, gen1, gen2 = gc.get_threshold()
        gc.set_threshold(gen0, gen1, gen2)


def cmd_seed_demo(args: argparse.Namespace) -> int:
    from sync_server.demo import DEMO_PASSWORD, seed_demo
    from sync_server.settings import Settings

    blobs = Path(args.blobs) if args.blobs else Settings(**db_settings(args.db)).blob_path
    with store_at(args.db, must_exist=False) as store:
        summary = seed_demo(store, system_now_ms(), blobs=blobs, scrypt_n=_settings().scrypt_n)
    if not summary.seeded:
        _out(f"already seeded: {args.db} has {summary.users} user(s); nothing changed")
        return EXIT_OK
    _out(f"seeded the demo township 回龙坝镇 into {args.db}:")
    _out(f"  {summary.villages} villages/communities, {summary.departments} departments, "
         f"{summary.sites} sites, {summary.cases} wage cases, "
         f"{summary.templates} checklist templates")
    _out(f"  {summary.users} users, password {DEMO_PASSWORD} "
         f"(see: {PROG} demo-info --db {args.db})")
    return EXIT_OK


def cmd_demo_info(args: argparse.Namespace) -> int:
    from sync_server.demo import DEMO_PASSWORD, demo_id

    def password(u: UserRow) -> str:
        # Only demo users are checked: a scrypt verify per user is not free.
        demo = u.id == demo_id("user", u.username)
        return DEMO_PASSWORD if demo and verify_password(DEMO_PASSWORD, u.password_hash) \
            else "(own)"

    with store_at(args.db) as store:
        users = store.list_users()
        if not users:
            raise CliError(f"{args.db} has no users: run {PROG} seed-demo --db {args.db}")
        rows = [[u.username, u.role, u.display_name, scope_words(store, u), password(u)]
                for u in users]
    url = f"http://127.0.0.1:{args.port}"
    _out("Wage Patrol 治欠巡查 — demo sync server")
    _out(f"  server URL : {url}")
    _out(f"  API schema : {url}/schema")
    _out(f"  database   : {args.db}")
    _out()
    _out(f"Demo logins (password {DEMO_PASSWORD}):")
    _out(table(["username", "role", "display name", "scope", "password"], rows))
    return EXIT_OK


def cmd_import_sites(args: argparse.Namespace) -> int:
    with store_at(args.db) as store:
        try:
            result = import_sites(store, args.file, system_now_ms(), dry_run=args.dry_run)
        except ImportFileError as exc:
            raise CliError(str(exc)) from None
    if result.ignored_columns:
        _warn("ignored columns: " + ", ".join(result.ignored_columns))
    if result.errors:
        for error in result.errors:
            print(error, file=sys.stderr)
        rows = len({e.row for e in result.errors})
        raise CliError(f"nothing imported: {len(result.errors)} error(s) in {rows} row(s) "
                       f"of {args.file}")
    counts = (f"created {result.created}, updated {result.updated}, "
              f"unchanged {result.unchanged}")
    rows = f"{len(result.rows)} row{'' if len(result.rows) == 1 else 's'}"
    if args.dry_run:
        _out(f"dry run, nothing written: would have {counts} ({rows})")
    else:
        _out(f"imported {args.file}: {counts} ({rows})")
    return EXIT_OK


def cmd_gc(args: argparse.Namespace) -> int:
    from sync_server.blobs import open_blobs
    from sync_server.cli.ops import _settings as ops_settings
    from sync_server.domain.uploads.service import collect

    settings = ops_settings(args)  # --- #18: the photo store may be PostgreSQL ---
    blobs = open_blobs(settings.blob_location)
    try:
        with store_at(args.db) as store:
            done = collect(store, blobs, settings)
    finally:
        blobs.close()
    _out(f"removed {done.expired_uploads} expired upload(s), {done.stray_partials} stray "
         f"partial file(s) and {done.orphan_blobs} orphan blob(s): {_human(done.bytes_freed)} "
         "freed")
    return EXIT_OK
