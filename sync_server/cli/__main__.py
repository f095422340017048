"""``python -m sync_server.cli``: the ``sync-server`` command."""

import sys

from sync_server.cli.main import main

sys.exit(main())
