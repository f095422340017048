"""``sync-server``: run the sync server and look after its database.

Every command is documented in docs/cli.md (a test checks that each command
and option appears there). Exit codes: 0 ok, 1 a user error (one clear line
on stderr, no traceback), 2 wrong usage (argparse). The store a command works
on is opened by ``sync_server.store.open_store``, like the server's.
"""

from sync_server.cli.common import tune_gc
from sync_server.cli.common import EXIT_OK, EXIT_USAGE, EXIT_USER_ERROR, CliError, UsageError
from sync_server.cli.main import build_parser, main

__all__ = ["EXIT_OK", "EXIT_USAGE", "EXIT_USER_ERROR", "CliError", "UsageError", "build_parser",
           "main", "tune_gc"]
