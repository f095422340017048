"""The device's local SQLite store: schema, migrations and every query.

One data folder is one device: ``<data_dir>/device.db`` (sqlite-utils, WAL,
``synchronous=FULL``) and ``<data_dir>/photos/``. One connection, guarded by
a lock, does all the work; every write is one ``BEGIN IMMEDIATE``
transaction, so a user action's record rows and its outbox mutation commit
together or not at all, whatever kills the process.

Tables (see docs/device-api.md, "Local store"):

* ``state`` — key → JSON: device id, HLC, next seq, cursor, login, sync state.
* ``records`` — one row per record the device knows: ``server`` (the values
  the server last sent, NULL for records only this device has), per-field
  server revisions, and ``data``, the view the user sees (server values with
  unacknowledged local edits on top, ``rebase.view``).
* ``outbox`` — mutations waiting for the server, as msgspec wire JSON, in seq order.
* ``quarantine`` — mutations (and photo uploads) the server refused for good.
* ``photos`` — the photo upload queue (tus upload URL persisted for resuming).
"""


from field_app.core.store.local import LocalStore
from field_app.core.store.rows import (
    OutboxEntry,
    PhotoRow,
    QuarantineRow,
    RecordRow,
    ServerPart,
    dumps,
    loads,
    mutation_decoder,
)
from field_app.core.store.schema import (
    KEY_COLUMNS,
    LINK_INDEXES,
    PAGE_SIZE,
    connect,
    m001_initial,
    m002_record_keys,
    migrations,
)
from field_app.core.store.tx import RAW_CASE_ID, Tx, raw_row

__all__ = [
    "KEY_COLUMNS", "LINK_INDEXES", "PAGE_SIZE", "RAW_CASE_ID", "LocalStore", "OutboxEntry",
    "PhotoRow", "QuarantineRow", "RecordRow", "ServerPart", "Tx", "connect", "dumps", "loads",
    "m001_initial", "m002_record_keys", "migrations", "mutation_decoder", "raw_row",
]
