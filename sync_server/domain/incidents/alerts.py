"""Alerts for office and leader accounts: the list, the count, the acknowledgement.

An alert is a server-made record (``report.py``); each office and leader
account acknowledges it for itself (``acknowledged_by``: user id -> server
time), once: a second acknowledgement writes nothing. Every acknowledgement
is audited (``alert_ack``). Field roles never reach these: the office API's
guard refuses them (403 ``forbidden``) and they pull no alert.

``AlertCounts`` is what the response header ``X-Unacknowledged-Alerts``
reads on every office or leader request: the alerts' acknowledgers, read
again only when the store's revision moved.
"""

from __future__ import annotations

import threading
from typing import Any

from shared_schema.incidents import unacknowledged
from shared_schema.merge import Author
from shared_schema.office import AlertAck, AlertList, AlertView, Page
from sync_server.domain.errors import DomainError
from sync_server.domain.office import access
from sync_server.domain.office.writes import bump_device_hlc, fresh_hlc
from sync_server.domain.principal import Principal
from sync_server.domain.sync.records import set_derived
from sync_server.settings import Settings
from sync_server.store.base import StoredRecord, SyncStore

READERS = access.OFFICE_LEADER


def _live_alerts(store: SyncStore) -> list[StoredRecord]:
    return [a for a in store.records("alert") if not a.deleted]


def count_for(store: SyncStore, user_id: str) -> int:
    return unacknowledged((a.data for a in _live_alerts(store)), user_id)


def _view(store: SyncStore, alert: StoredRecord, p: Principal,
          villages: dict[str, str], names: dict[str, str]) -> AlertView:
    d = alert.data
    acked = d.get("acknowledged_by") or {}
    case = store.get_record("case", d["case_id"]) if d.get("case_id") else None
    incident = store.get_record("incident", d["incident_id"]) if d.get("incident_id") else None
    inc = incident.data if incident is not None else {}
    cd = case.data if case is not None else {}
    return AlertView(
        id=alert.id, kind=d.get("kind") or "incident", incident_id=d.get("incident_id"),
        incident_kind=inc.get("kind"), case_id=d.get("case_id"), case_title=cd.get("title"),
        case_level=cd.get("level"), case_status=cd.get("status"), site_id=d.get("site_id"),
        village_id=d.get("village_id"), village_name=villages.get(d.get("village_id") or ""),
        place=d.get("place"), headcount=d.get("headcount"), occurred_at=d.get("occurred_at"),
        raised_at=d.get("raised_at"), on_scene=inc.get("on_scene"),
        brought_in=list(inc.get("brought_in") or []),
        reporter_name=names.get(inc.get("reporter_id") or ""),
        acknowledged=p.user_id in acked, acknowledged_at=acked.get(p.user_id),
        acknowledged_count=len(acked))


def _names(store: SyncStore) -> tuple[dict[str, str], dict[str, str]]:
    villages = {v.id: v.data.get("name") or "" for v in store.records("village") if not v.deleted}
    users = {u.id: u.display_name or u.username for u in store.list_users()}
    return villages, users


def list_alerts(store: SyncStore, p: Principal, *, unacknowledged_only: bool = False,
                limit: int = 50, offset: int = 0) -> AlertList:
    """The caller's alerts, newest first (by the server's ``raised_at``)."""
    access.require(p, READERS, "read alerts")
    alerts = sorted(_live_alerts(store), key=lambda a: (a.data.get("raised_at") or 0, a.id),
                    reverse=True)
    open_ = [a for a in alerts if p.user_id not in (a.data.get("acknowledged_by") or {})]
    chosen = open_ if unacknowledged_only else alerts
    villages, names = _names(store)
    items = [_view(store, a, p, villages, names) for a in chosen[offset:offset + limit]]
    return AlertList(items=items, unacknowledged=len(open_),
                     page=Page(total=len(chosen), limit=limit, offset=offset))


def acknowledge(store: SyncStore, settings: Settings, p: Principal, alert_id: str) -> AlertAck:
    """The caller acknowledges the alert (audited); again: nothing is written."""
    access.require(p, READERS, "acknowledge alerts")
    now = settings.now_ms()

    def work(tx: Any) -> bool:
        alert = tx.get_record("alert", alert_id)
        if alert is None or alert.deleted:
            raise DomainError("not_found", "no such alert", alert_id=alert_id)
        acked = dict(alert.data.get("acknowledged_by") or {})
        if p.user_id in acked:
            return True
        acked[p.user_id] = now
        hlc = fresh_hlc(p.device_id, now, [m.hlc for m in alert.meta.values()])
        set_derived(tx, alert, {"acknowledged_by": acked}, str(hlc),
                    Author(p.user_id, p.device_id), now)
        bump_device_hlc(tx, p, hlc)
        access.audit(tx, p, now, "alert_ack", "alert", alert_id,
                     incident_id=alert.data.get("incident_id"), case_id=alert.data.get("case_id"))
        return False

    already = store.write_grouped(work)
    alert = store.get_record("alert", alert_id)
    assert alert is not None
    villages, names = _names(store)
    return AlertAck(alert=_view(store, alert, p, villages, names), already=already,
                    unacknowledged=count_for(store, p.user_id))


class AlertCounts:
    """Unacknowledged alerts per account, for the response header: the
    acknowledgers of every live alert, read again when the store's revision
    moved (one counter read per request otherwise)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rev = -1
        self._acked: list[frozenset[str]] = []

    def count(self, store: SyncStore, user_id: str) -> int:
        rev = store.max_rev()
        with self._lock:
            if rev != self._rev:
                self._acked = [frozenset(a.data.get("acknowledged_by") or {})
                               for a in _live_alerts(store)]
                self._rev = rev
            acked = self._acked
        return sum(1 for who in acked if user_id not in who)
