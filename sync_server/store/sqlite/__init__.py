"""The SQLite backend of the store contract (``sync_server/store/base.py``).

One module per concern: ``migrations`` (the schema, m001..m010), ``columns``
(column lists and row mapping), ``writer`` (the one writer: lock, transactions,
group commit), ``records`` (records, history and pull pages), ``ledger`` (the
exactly-once mutation ledger and conflicts), ``auth`` (users, tokens, devices,
logins), ``blobs`` (photos and uploads) and ``office`` (the console's queries);
``store`` composes them into ``SqliteStore``.
"""

from sync_server.store.sqlite.columns import _record_row
from sync_server.store.sqlite.migrations import migrations
from sync_server.store.sqlite.store import SqliteStore

__all__ = ["SqliteStore", "migrations", "_record_row"]
