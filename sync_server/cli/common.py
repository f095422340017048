"""What the ``sync-server`` commands share: exit codes, errors, the store a
command works on, and plain-text output."""

from __future__ import annotations

import argparse
import getpass
import sys
import unicodedata
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

from shared_schema.roles import FIELD_ROLES
from sync_server.domain.auth import lifecycle
from sync_server.domain.auth.service import WHOLE_TOWNSHIP
from sync_server.domain.registry.reference import NameIndex, ReferenceLookupError
from sync_server.settings import Settings
from sync_server.store import (
    BACKEND_ERRORS,
    StoreMissing,
    StoreUnavailable,
    SyncStore,
    is_database_url,
    open_store,
)
from sync_server.store.base import UserRow

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


@contextmanager
def store_at(db: str, *, must_exist: bool = True) -> Iterator[SyncStore]:
    """The store at ``db``, migrated; refuses a missing database unless ``must_exist`` is off."""
    try:
        store = open_store(db, create=not must_exist)
    except StoreMissing:
        raise CliError(f"no database at {db} (create one with seed-demo or user add)") from None
    except StoreUnavailable as exc:
        raise CliError(str(exc)) from None
    try:
        try:
            store.migrate()
        except BACKEND_ERRORS as exc:
            raise CliError(f"cannot use database {db}: {exc}") from None
        yield store
    finally:
        store.close()


# --- #18 PostgreSQL store ---
def db_settings(db: str) -> dict[str, object]:
    """The ``Settings`` fields naming the database ``--db`` gives: a PostgreSQL
    URL, or a SQLite file (then an URL in the environment does not apply)."""
    if is_database_url(db):
        return {"database_url": db}
    return {"db_path": Path(db), "database_url": ""}


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain text table, aligned for Chinese (double-width) characters."""
    widths = [max([_width(h)] + [_width(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c + " " * (w - _width(c)) for c, w in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows])


def scope_words(store: SyncStore, user: UserRow) -> str:
    """A user's scope in words: "全镇 (whole township)" or village and department names."""
    if user.role in WHOLE_TOWNSHIP:
        return "全镇 (whole township)"
    villages = NameIndex.of(store, "village")
    departments = NameIndex.of(store, "department")
    names = ([villages.name_of(v) for v in user.village_ids]
             + [departments.name_of(d) for d in user.department_ids])
    return ", ".join(names) if names else "— (none: sees only what it creates)"


def _resolve(store: SyncStore, entity: str, texts: list[str] | None) -> list[str] | None:
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


def _settings() -> Settings:
    """The server settings from the environment (the password hashing cost)."""
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


def _check_scope(role: str, villages: list[str], departments: list[str]) -> None:
    if role in FIELD_ROLES and not villages and not departments:
        raise CliError(f"a {role} needs --village or --department "
                       "(without one they would see nothing)")


def _known(store: SyncStore, username: str) -> UserRow:
    user = store.get_user_by_username(username)
    if user is None:
        raise CliError(f"no user {username!r} (see: {PROG} user list)")
    return user
