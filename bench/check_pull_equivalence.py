#!/usr/bin/env python3
"""The pull fast path (``change_rows_since`` + raw JSON pass-through) answers
byte for byte what the record path (``changes_since`` + ``Change``) answers,
for every user of a database (masking of personal case data included).

    .venv/bin/sync-server seed-demo --db /tmp/eq/s.db
    .venv/bin/python bench/check_pull_equivalence.py /tmp/eq/s.db
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402,F401  (the product tree under test on sys.path)

from shared_schema.wire import encoder  # noqa: E402
from sync_server.domain.auth.service import Principal  # noqa: E402
from sync_server.domain.sync import service  # noqa: E402
from sync_server.settings import Settings  # noqa: E402
from sync_server.store.sqlite import SqliteStore  # noqa: E402


class RecordPathOnly:
    """The store without ``change_rows_since``: the service falls back to records."""

    def __init__(self, store: SqliteStore) -> None:
        self.store = store

    def __getattr__(self, name: str):
        if name == "change_rows_since":
            raise AttributeError(name)
        return getattr(self.store, name)


def main() -> None:
    store = SqliteStore(sys.argv[1])
    settings = Settings(db_path=Path(sys.argv[1]), now_ms=lambda: 1)
    compared = 0
    try:
        for u in store.list_users():
            for device in ("some-other-device", None):
                p = Principal(user_id=u.id, username=u.username, role=u.role,
                              village_ids=frozenset(u.village_ids),
                              department_ids=frozenset(u.department_ids),
                              device_id=device or f"d-{u.id}", scope_version=u.scope_version)
                for limit in (10000, 7, 1):
                    a = encoder.encode(service.pull(RecordPathOnly(store), settings, p, 0, limit))
                    b = encoder.encode(service.pull(store, settings, p, 0, limit))
                    assert a == b, f"{u.username} limit {limit}: the two paths differ"
                    compared += len(b)
    finally:
        store.close()
    print(f"pull fast path: byte-identical for all users "
          f"({compared:,} response bytes compared)")


if __name__ == "__main__":
    main()
