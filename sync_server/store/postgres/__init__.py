"""The PostgreSQL backend of the store contract (``sync_server/store/base.py``).

One module per concern, as the SQLite package's: ``migrations`` (the schema,
recorded in ``schema_migrations``), ``columns`` (column lists, row mapping),
``writer`` (transactions: the revision counter's lock, savepoints, pull times),
``records`` (records, history and pull pages), ``ledger`` (the exactly-once
mutation ledger and conflicts), ``auth`` (users, tokens, devices, logins),
``blobs`` (photo metadata and uploads) and ``office`` (the console's queries);
``store`` composes them into ``PostgresStore``.
"""

from sync_server.store.postgres.store import PostgresStore

__all__ = ["PostgresStore"]
