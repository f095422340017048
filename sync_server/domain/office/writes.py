"""Office actions as writes: the same push path as a device, with a fresh HLC.

An office action that a device could also send (a review, a case intake, a
case event) is built as a mutation of the office principal and applied by the
one write path of records, ``sync.apply.write`` (rules, case fold, per-field merge,
history), inside the caller's transaction. It is not put in the device ledger: it came
from no device outbox. The HLC is fresh: later than the server clock, the
device's last HLC and any HLC named in ``after`` (e.g. both sides of a
conflict), so every device that pulls it converges to it.
"""

from __future__ import annotations

from typing import Any, Iterable

from shared_schema.hlc import Hlc
from shared_schema.ids import uuid7
from shared_schema.wire import Insert, MutationResult, Upsert
from sync_server.domain.errors import Rejection
from sync_server.domain.principal import Principal
from sync_server.domain.sync import apply as write_path
from sync_server.settings import Settings
from sync_server.store.base import StoreTx


def fresh_hlc(node: str, now_ms: int, after: Iterable[str | None] = ()) -> Hlc:
    """An HLC of ``node`` strictly later (by wall time and counter) than ``after``."""
    latest = max((Hlc.parse(h) for h in after if h), default=None,
                 key=lambda h: (h.wall_ms, h.counter))
    if latest is None or now_ms > latest.wall_ms:
        return Hlc(now_ms, 0, node)
    if latest.counter >= 9999:
        return Hlc(latest.wall_ms + 1, 0, node)
    return Hlc(latest.wall_ms, latest.counter + 1, node)


def bump_device_hlc(tx: StoreTx, p: Principal, hlc: Hlc) -> None:
    device = tx.get_device(p.device_id)
    if device is not None and (not device.last_hlc or str(hlc) > device.last_hlc):
        device.last_hlc = str(hlc)
        tx.put_device(device)


def apply(tx: StoreTx, settings: Settings, p: Principal, now_ms: int, op: str, entity: str,
          entity_id: str, fields: dict[str, Any], base: dict[str, int] | None = None,
          after: Iterable[str | None] = ()) -> MutationResult:
    """Apply one office mutation through the push rules; a broken rule is a
    ``DomainError`` with the rule's code."""
    # console: the office console may write what only approval writes
    batch = write_path.Batch(tx, p, settings, now_ms, console=True)
    hlc = fresh_hlc(p.device_id, now_ms,
                    [str(batch.last_hlc) if batch.last_hlc else None, *after])
    common = dict(id=uuid7(), seq=0, hlc=str(hlc), entity=entity, entity_id=entity_id,
                  fields=fields)
    m = Upsert(**common, base=base or {}) if op == "upsert" else Insert(**common)
    try:
        result = write_path.write(batch, m)
    except Rejection as r:
        raise r.as_error() from None
    bump_device_hlc(tx, p, hlc)
    return result
