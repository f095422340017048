"""``sync-server``: run the sync server and look after its database.

Every command is documented in docs/cli.md (a test checks that each command
and option appears there). Exit codes: 0 ok, 1 a user error (one clear line
on stderr, no traceback), 2 wrong usage (argparse).
"""

from __future__ import annotations

import argparse
import gc
import getpass
import os
import sqlite3
import sys
import unicodedata
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

from shared_schema.hlc import system_now_ms
from shared_schema.roles import FIELD_ROLES
from sync_server.domain.auth import lifecycle
from sync_server.domain.auth.passwords import verify_password
from sync_server.domain.auth.policy import check_password
from sync_server.domain.auth.service import (
    ROLES,
    WHOLE_TOWNSHIP,
    create_user,
    set_scope,
)
from sync_server.domain.registry.importer import ImportFileError, import_sites
from sync_server.domain.registry.reference import NameIndex, ReferenceLookupError
from sync_server.errors import ApiError
from sync_server.store.base import UserRow
from sync_server.store.sqlite import SqliteStore

EXIT_OK = 0
EXIT_USER_ERROR = 1
EXIT_USAGE = 2
PROG = "sync-server"


class CliError(Exception):
    """A user error: printed as one line on stderr, exit code 1."""

    exit_code = EXIT_USER_ERROR


class UsageError(CliError):
    """Options that parse but do not make sense together: exit code 2."""

    exit_code = EXIT_USAGE


# --- helpers ---------------------------------------------------------------------


@contextmanager
def open_store(db: str, *, must_exist: bool = True) -> Iterator[SqliteStore]:
    """The store at ``db``, migrated; refuses a missing file unless ``must_exist`` is off."""
    path = Path(db)
    if must_exist and not path.is_file():
        raise CliError(f"no database at {db} (create one with seed-demo or user add)")
    if path.is_dir():
        raise CliError(f"{db} is a directory, not a database file")
    try:
        store = SqliteStore(path)
    except (sqlite3.Error, OSError) as exc:
        raise CliError(f"cannot open database {db}: {exc}") from None
    try:
        try:
            store.migrate()
        except sqlite3.Error as exc:
            raise CliError(f"cannot use database {db}: {exc}") from None
        yield store
    finally:
        store.close()


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain text table, aligned for Chinese (double-width) characters."""
    widths = [max([_width(h)] + [_width(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c + " " * (w - _width(c)) for c, w in zip(cells, widths)).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows])


def scope_words(store: SqliteStore, user: UserRow) -> str:
    """A user's scope in words: "全镇 (whole township)" or village and department names."""
    if user.role in WHOLE_TOWNSHIP:
        return "全镇 (whole township)"
    villages = NameIndex.of(store, "village")
    departments = NameIndex.of(store, "department")
    names = ([villages.name_of(v) for v in user.village_ids]
             + [departments.name_of(d) for d in user.department_ids])
    return ", ".join(names) if names else "— (none: sees only what it creates)"


def _resolve(store: SqliteStore, entity: str, texts: list[str] | None) -> list[str] | None:
    if texts is None:
        return None
    try:
        return NameIndex.of(store, entity).resolve(texts)
    except ReferenceLookupError as exc:
        raise CliError(str(exc)) from None


def _human(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{size} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} bytes"  # pragma: no cover


def _out(text: str = "") -> None:
    print(text, flush=True)


def _warn(text: str) -> None:
    print(f"{PROG}: warning: {text}", file=sys.stderr, flush=True)


def _settings():  # noqa: ANN202
    """The server settings from the environment (the password hashing cost)."""
    from sync_server.settings import Settings

    try:
        return Settings.from_env()
    except ValueError as exc:  # an environment variable that does not read
        raise CliError(str(exc)) from None


def _actor() -> lifecycle.CliActor:
    """The operator, for the audit log: ``cli:<system user>``."""
    try:
        who = getpass.getuser()
    except (OSError, KeyError):
        who = "unknown"
    return lifecycle.CliActor(username=f"cli:{who}")


def _password(args: argparse.Namespace) -> str:
    """``--password``, or one line of stdin (``--password-stdin``), or typed
    twice at a prompt."""
    if args.password is not None and args.password_stdin:
        raise UsageError("--password and --password-stdin contradict each other")
    if args.password is not None:
        return args.password
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass(f"password for {args.username}: ")
    if getpass.getpass("again: ") != password:
        raise CliError("the two passwords differ; nothing changed")
    return password


# --- commands --------------------------------------------------------------------


def tune_gc(gen0: int) -> None:
    """The collector's youngest-generation threshold for this process (0:
    Python's default); the older generations keep Python's ratios."""
    if gen0 > 0:
        _, gen1, gen2 = gc.get_threshold()
        gc.set_threshold(gen0, gen1, gen2)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from sync_server.app import create_app
    from sync_server.settings import Settings

    db = Path(args.db)
    if db.is_dir():
        raise CliError(f"{args.db} is a directory, not a database file")
    try:
        settings = Settings.from_env(
            db_path=db, blobs_dir=Path(args.blobs) if args.blobs else None, host=args.host,
            port=args.port, access_log=True if args.access_log else None)
    except ValueError as exc:  # an environment variable that does not read
        raise CliError(str(exc)) from None
    tune_gc(settings.gc_gen0)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port,
                access_log=settings.access_log)
    return EXIT_OK


def cmd_seed_demo(args: argparse.Namespace) -> int:
    from sync_server.demo import DEMO_PASSWORD, seed_demo
    from sync_server.settings import Settings

    blobs = Path(args.blobs) if args.blobs else Settings(db_path=Path(args.db)).blob_path
    with open_store(args.db, must_exist=False) as store:
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

    with open_store(args.db) as store:
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


def _check_scope(role: str, villages: list[str], departments: list[str]) -> None:
    if role in FIELD_ROLES and not villages and not departments:
        raise CliError(f"a {role} needs --village or --department "
                       "(without one they would see nothing)")


def cmd_user_add(args: argparse.Namespace) -> int:
    with open_store(args.db, must_exist=False) as store:
        if store.get_user_by_username(args.username):
            raise CliError(f"user {args.username!r} already exists")
        villages = _resolve(store, "village", args.village) or []
        departments = _resolve(store, "department", args.department) or []
        if args.role in WHOLE_TOWNSHIP and (villages or departments):
            _warn(f"a {args.role} sees the whole township; --village/--department ignored")
            villages, departments = [], []
        _check_scope(args.role, villages, departments)
        password = _password(args)
        check_password(password, args.username)
        now = system_now_ms()
        user = create_user(store, args.username, password, args.role,
                           display_name=args.display_name, village_ids=villages,
                           department_ids=departments, now_ms=now,
                           scrypt_n=_settings().scrypt_n)
        _out(f"added user {user.username} ({user.role}; {scope_words(store, user)})")
    return EXIT_OK


def cmd_user_list(args: argparse.Namespace) -> int:
    with open_store(args.db) as store:
        rows = []
        for u in store.list_users():
            devices = ", ".join(
                d.device_id + (" (revoked)" if store.device_blocked(d.device_id) else "")
                for d in store.list_devices(u.id)) or "—"
            role = u.role if u.active else f"{u.role} (disabled)"
            rows.append([u.username, role, u.display_name, scope_words(store, u), devices])
    if not rows:
        _out("no users")
    else:
        _out(table(["username", "role", "display name", "scope", "devices"], rows))
    return EXIT_OK


def cmd_user_revoke_device(args: argparse.Namespace) -> int:
    with open_store(args.db) as store:
        device = store.get_device(args.device_id)
        if device is None:
            raise CliError(f"no device {args.device_id!r} (see: {PROG} user list)")
        user = store.get_user(device.user_id)
        count = lifecycle.revoke_device(store, _actor(), args.device_id, device.user_id,
                                        system_now_ms())
    who = user.username if user else device.user_id
    _out(f"revoked {count} login token(s) of device {args.device_id} (user {who}); "
         f"it may not log in again until: {PROG} user enable-device {args.device_id}")
    return EXIT_OK


def cmd_user_enable_device(args: argparse.Namespace) -> int:
    with open_store(args.db) as store:
        if store.get_device(args.device_id) is None and \
                store.device_blocked(args.device_id) is None:
            raise CliError(f"no device {args.device_id!r} (see: {PROG} user list)")
        lifted = lifecycle.enable_device(store, _actor(), args.device_id, system_now_ms())
    if lifted:
        _out(f"device {args.device_id} may log in again")
    else:
        _out(f"device {args.device_id} was not revoked; nothing changed")
    return EXIT_OK


def _known(store: SqliteStore, username: str) -> UserRow:
    user = store.get_user_by_username(username)
    if user is None:
        raise CliError(f"no user {username!r} (see: {PROG} user list)")
    return user


def cmd_user_disable(args: argparse.Namespace) -> int:
    with open_store(args.db) as store:
        _known(store, args.username)
        done = lifecycle.disable_user(store, _actor(), args.username, system_now_ms())
    _out(f"disabled {args.username}: {done.tokens_revoked} login token(s) revoked; "
         "their devices are logged out at their next request")
    return EXIT_OK


def cmd_user_enable(args: argparse.Namespace) -> int:
    with open_store(args.db) as store:
        _known(store, args.username)
        lifecycle.enable_user(store, _actor(), args.username, system_now_ms())
    _out(f"enabled {args.username}: they may log in again")
    return EXIT_OK


def cmd_user_set_password(args: argparse.Namespace) -> int:
    with open_store(args.db) as store:
        _known(store, args.username)
        password = _password(args)
        done = lifecycle.set_password(store, _actor(), args.username, password,
                                      system_now_ms(), _settings().scrypt_n)
    _out(f"new password set for {args.username}; {done.tokens_revoked} login token(s) "
         "revoked, they log in again with it")
    return EXIT_OK


def cmd_user_set_role(args: argparse.Namespace) -> int:
    with open_store(args.db) as store:
        user = _known(store, args.username)
        if args.role in FIELD_ROLES:
            _check_scope(args.role, user.village_ids, user.department_ids)
        before = user.role
        user = lifecycle.set_role(store, _actor(), args.username, args.role,
                                  system_now_ms()).user
        _out(f"{user.username}: {before} -> {user.role} ({scope_words(store, user)})")
    if before != args.role:
        _out("their devices must pull again from the start (410 resync_required on next pull)")
    return EXIT_OK


def cmd_user_set_scope(args: argparse.Namespace) -> int:
    if (args.village is None and args.department is None
            and not args.no_villages and not args.no_departments):
        raise UsageError("give --village, --department, --no-villages or --no-departments")
    if args.village is not None and args.no_villages:
        raise UsageError("--village and --no-villages contradict each other")
    if args.department is not None and args.no_departments:
        raise UsageError("--department and --no-departments contradict each other")
    with open_store(args.db) as store:
        user = store.get_user_by_username(args.username)
        if user is None:
            raise CliError(f"no user {args.username!r}")
        if user.role in WHOLE_TOWNSHIP:
            raise CliError(f"{args.username} is a {user.role} and sees the whole township; "
                           "scope not changed")
        villages = [] if args.no_villages else _resolve(store, "village", args.village)
        departments = ([] if args.no_departments
                       else _resolve(store, "department", args.department))
        _check_scope(user.role,
                     user.village_ids if villages is None else villages,
                     user.department_ids if departments is None else departments)
        user = set_scope(store, args.username, village_ids=villages, department_ids=departments)
        _out(f"{user.username} now covers: {scope_words(store, user)}")
    _out("their devices must pull again from the start (410 resync_required on next pull)")
    return EXIT_OK


def cmd_import_sites(args: argparse.Namespace) -> int:
    with open_store(args.db) as store:
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


def cmd_backup(args: argparse.Namespace) -> int:
    target = Path(args.path)
    if target.exists():
        raise CliError(f"{args.path} already exists; choose a new file name")
    with open_store(args.db) as store:
        if target.resolve() == Path(args.db).resolve():
            raise CliError("the backup must go to another file than the database")
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            store.backup(target)
        except sqlite3.Error as exc:
            target.unlink(missing_ok=True)
            raise CliError(f"backup failed: {exc}") from None
    conn = sqlite3.connect(target)
    try:
        check = conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()
    if check != "ok":
        raise CliError(f"the backup at {args.path} failed its integrity check: {check}")
    size = target.stat().st_size
    _out(f"backed up {args.db} to {args.path}: {_human(size)}, integrity ok")
    return EXIT_OK


def cmd_gc(args: argparse.Namespace) -> int:
    from sync_server.domain.uploads.service import BlobStore, collect
    from sync_server.settings import Settings

    try:
        settings = Settings.from_env(db_path=Path(args.db),
                                     blobs_dir=Path(args.blobs) if args.blobs else None)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    with open_store(args.db) as store:
        done = collect(store, BlobStore(settings.blob_path), settings)
    _out(f"removed {done.expired_uploads} expired upload(s), {done.stray_partials} stray "
         f"partial file(s) and {done.orphan_blobs} orphan blob(s): {_human(done.bytes_freed)} "
         "freed")
    return EXIT_OK


# --- parser ----------------------------------------------------------------------


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 1-65535, got {port}")
    return port


def _add_db(parser: argparse.ArgumentParser) -> None:
    default = os.environ.get("WAGE_PATROL_DB")
    parser.add_argument("--db", metavar="PATH", default=default, required=default is None,
                        help="the server's SQLite database file"
                             + (" (default: $WAGE_PATROL_DB)" if default else ""))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Wage Patrol (治欠巡查) sync server: run it and look after "
                               "its database. Exit codes: 0 ok, 1 error, 2 usage.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = commands.add_parser("serve", help="run the sync server")
    _add_db(p)
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=_port, default=8000, help="port (default 8000)")
    p.add_argument("--blobs", metavar="DIR", help="photo store (default: <db dir>/blobs)")
    p.add_argument("--access-log", action="store_true",
                   help="log a line per request (default off; $WAGE_PATROL_ACCESS_LOG)")
    p.set_defaults(func=cmd_serve)

    p = commands.add_parser("seed-demo", help="seed the 回龙坝镇 demo database")
    _add_db(p)
    p.add_argument("--blobs", metavar="DIR",
                   help="photo store for the demo photos (default: <db dir>/blobs)")
    p.set_defaults(func=cmd_seed_demo)

    p = commands.add_parser("demo-info", help="print the demo URL and logins")
    _add_db(p)
    p.add_argument("--port", type=_port, default=8000, help="port the server runs on")
    p.set_defaults(func=cmd_demo_info)

    user = commands.add_parser("user", help="add, list, scope, disable users; revoke devices")
    user_commands = user.add_subparsers(dest="user_command", metavar="USER_COMMAND")

    p = user_commands.add_parser("add", help="add a user")
    p.add_argument("username")
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--password", help="the password (prompted for when left out)")
    p.add_argument("--password-stdin", action="store_true",
                   help="read the password from the first line of stdin")
    p.add_argument("--display-name", help="name shown on devices (default: the username)")
    p.add_argument("--village", nargs="+", action="extend", metavar="NAME_OR_ID",
                   help="village(s)/community(ies) the user covers")
    p.add_argument("--department", nargs="+", action="extend", metavar="NAME_OR_ID",
                   help="department(s) whose sites the user covers")
    _add_db(p)
    p.set_defaults(func=cmd_user_add)

    p = user_commands.add_parser("list", help="list users with scope and devices")
    _add_db(p)
    p.set_defaults(func=cmd_user_list)

    p = user_commands.add_parser("revoke-device", help="revoke every login token of a device")
    p.add_argument("device_id")
    _add_db(p)
    p.set_defaults(func=cmd_user_revoke_device)

    p = user_commands.add_parser("enable-device",
                                 help="let a revoked device log in again")
    p.add_argument("device_id")
    _add_db(p)
    p.set_defaults(func=cmd_user_enable_device)

    p = user_commands.add_parser("disable", help="disable a user; their logins end at once")
    p.add_argument("username")
    _add_db(p)
    p.set_defaults(func=cmd_user_disable)

    p = user_commands.add_parser("enable", help="enable a disabled user")
    p.add_argument("username")
    _add_db(p)
    p.set_defaults(func=cmd_user_enable)

    p = user_commands.add_parser("set-password",
                                 help="set a user's password; their logins end")
    p.add_argument("username")
    p.add_argument("--password", help="the new password (prompted for when left out)")
    p.add_argument("--password-stdin", action="store_true",
                   help="read the new password from the first line of stdin")
    _add_db(p)
    p.set_defaults(func=cmd_user_set_password)

    p = user_commands.add_parser("set-role", help="change a user's role; their devices resync")
    p.add_argument("username")
    p.add_argument("--role", required=True, choices=ROLES)
    _add_db(p)
    p.set_defaults(func=cmd_user_set_role)

    p = user_commands.add_parser("set-scope", help="change a user's villages or departments")
    p.add_argument("username")
    p.add_argument("--village", nargs="+", action="extend", metavar="NAME_OR_ID",
                   help="replace the user's villages/communities")
    p.add_argument("--department", nargs="+", action="extend", metavar="NAME_OR_ID",
                   help="replace the user's departments")
    p.add_argument("--no-villages", action="store_true", help="remove every village")
    p.add_argument("--no-departments", action="store_true", help="remove every department")
    _add_db(p)
    p.set_defaults(func=cmd_user_set_scope)

    p = commands.add_parser("import-sites", help="import a site list (.xlsx or .csv)")
    p.add_argument("file")
    _add_db(p)
    p.add_argument("--dry-run", action="store_true", help="check and count; write nothing")
    p.set_defaults(func=cmd_import_sites)

    p = commands.add_parser("backup", help="copy the database while it is in use")
    p.add_argument("path")
    _add_db(p)
    p.set_defaults(func=cmd_backup)

    p = commands.add_parser("gc", help="remove expired uploads and orphan photo blobs")
    _add_db(p)
    p.add_argument("--blobs", metavar="DIR", help="photo store (default: <db dir>/blobs)")
    p.set_defaults(func=cmd_gc)

    parser.set_defaults(func=None, parser=parser)
    user.set_defaults(func=None, parser=user)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if args.func is None:
        args.parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return args.func(args)
    except CliError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except ApiError as exc:
        print(f"{PROG}: error: {exc.message}", file=sys.stderr)
        return EXIT_USER_ERROR
    except sqlite3.Error as exc:
        print(f"{PROG}: error: database: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
