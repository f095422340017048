"""``sync-server``: the parser and ``main``; the commands are in ``commands``
(server and database) and ``users`` (``user …``)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Callable, Sequence

from sync_server.cli import commands as server_commands
from sync_server.cli import ops
from sync_server.cli import users
from sync_server.cli.common import EXIT_USAGE, EXIT_USER_ERROR, PROG, CliError
from sync_server.domain.auth.service import ROLES
from sync_server.domain.errors import DomainError
from sync_server.store import BACKEND_ERRORS


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 1-65535, got {port}")
    return port


def _add_db(parser: argparse.ArgumentParser) -> None:
    default = os.environ.get("WAGE_PATROL_DB") or os.environ.get("WAGE_PATROL_DATABASE_URL")
    parser.add_argument("--db", metavar="PATH|URL", default=default, required=default is None,
                        help="the server's SQLite database file, or a PostgreSQL URL "
                             "(postgresql://user@host:5432/dbname)"
                             + (" (default: $WAGE_PATROL_DB or $WAGE_PATROL_DATABASE_URL)"
                                if default else ""))


def _command(commands: Any, name: str, help_: str, func: Callable[[argparse.Namespace], int],
             *positionals: str) -> argparse.ArgumentParser:
    """A (sub)command: its positional arguments, ``--db``, its function; the
    caller adds any further options."""
    p = commands.add_parser(name, help=help_)
    for positional in positionals:
        p.add_argument(positional)
    _add_db(p)
    p.set_defaults(func=func)
    return p


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Wage Patrol (治欠巡查) sync server: run it and look after "
                               "its database. Exit codes: 0 ok, 1 error, 2 usage.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    ops.add_commands(commands, _command)  # --- #18 ops: serve, backup, restore ---

    p = _command(commands, "seed-demo", "seed the 回龙坝镇 demo database",
                 server_commands.cmd_seed_demo)
    p.add_argument("--blobs", metavar="DIR",
                   help="photo store for the demo photos (default: <db dir>/blobs)")

    p = _command(commands, "demo-info", "print the demo URL and logins",
                 server_commands.cmd_demo_info)
    p.add_argument("--port", type=_port, default=8000, help="port the server runs on")

    user = commands.add_parser("user", help="add, list, scope, disable users; revoke devices")
    user_commands = user.add_subparsers(dest="user_command", metavar="USER_COMMAND")

    p = _command(user_commands, "add", "add a user", users.cmd_user_add, "username")
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--password", help="the password (prompted for when left out)")
    p.add_argument("--password-stdin", action="store_true",
                   help="read the password from the first line of stdin")
    p.add_argument("--display-name", help="name shown on devices (default: the username)")
    p.add_argument("--village", nargs="+", action="extend", metavar="NAME_OR_ID",
                   help="village(s)/community(ies) the user covers")
    p.add_argument("--department", nargs="+", action="extend", metavar="NAME_OR_ID",
                   help="department(s) whose sites the user covers")

    _command(user_commands, "list", "list users with scope and devices", users.cmd_user_list)

    _command(user_commands, "revoke-device", "revoke every login token of a device",
             users.cmd_user_revoke_device, "device_id")

    _command(user_commands, "enable-device", "let a revoked device log in again",
             users.cmd_user_enable_device, "device_id")

    _command(user_commands, "disable", "disable a user; their logins end at once",
             users.cmd_user_disable, "username")

    _command(user_commands, "enable", "enable a disabled user", users.cmd_user_enable, "username")

    p = _command(user_commands, "set-password", "set a user's password; their logins end",
                 users.cmd_user_set_password, "username")
    p.add_argument("--password", help="the new password (prompted for when left out)")
    p.add_argument("--password-stdin", action="store_true",
                   help="read the new password from the first line of stdin")

    p = _command(user_commands, "set-role", "change a user's role; their devices resync",
                 users.cmd_user_set_role, "username")
    p.add_argument("--role", required=True, choices=ROLES)

    p = _command(user_commands, "set-scope", "change a user's villages or departments",
                 users.cmd_user_set_scope, "username")
    p.add_argument("--village", nargs="+", action="extend", metavar="NAME_OR_ID",
                   help="replace the user's villages/communities")
    p.add_argument("--department", nargs="+", action="extend", metavar="NAME_OR_ID",
                   help="replace the user's departments")
    p.add_argument("--no-villages", action="store_true", help="remove every village")
    p.add_argument("--no-departments", action="store_true", help="remove every department")

    p = _command(commands, "import-sites", "import a site list (.xlsx or .csv)",
                 server_commands.cmd_import_sites, "file")
    p.add_argument("--dry-run", action="store_true", help="check and count; write nothing")

    p = _command(commands, "gc", "remove expired uploads and orphan photo blobs",
                 server_commands.cmd_gc)
    p.add_argument("--blobs", metavar="DIR_OR_URL",
                   help="photo store: a directory (default: <db dir>/blobs) or a postgresql:// URL")

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
    except DomainError as exc:
        print(f"{PROG}: error: {exc.message}", file=sys.stderr)
        return EXIT_USER_ERROR
    except BACKEND_ERRORS as exc:
        print(f"{PROG}: error: database: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
