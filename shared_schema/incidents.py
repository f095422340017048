"""Collective incidents (群体性讨薪 / 突发事件) and the alerts they raise — pure rules.

The work plan: the village head goes to the scene first, keeps order,
notifies the supervising department and the labour office (劳保所) and brings
in 平安办/司法所/派出所. A grid officer records the ``incident`` on the phone,
offline (place, headcount, time, photos, what was done on scene, who was
brought in). When it reaches the server it opens a case at township level
(or attaches to the case it names), and an ``alert`` goes to every office
and leader account until each of them acknowledges it (docs/cases.md,
"Incidents (群体性讨薪)").

Here: the codes, the checks a form and the server share (``incident_errors``),
and the fields of the case and the alert the server makes from an incident.
No clock, no IO: ``now_ms`` is passed in.
"""

from __future__ import annotations

import uuid
from typing import Any, Mapping

from shared_schema import cases

#: Incident kinds, code -> (zh, en).
INCIDENT_KINDS: dict[str, tuple[str, str]] = {
    "collective_claim": ("群体性讨薪", "Collective wage claim"),
    "emergency": ("突发事件", "Emergency"),
}

#: Who may be brought in (code -> (zh, en)): the case rules' referral targets
#: (平安办, 司法所, 派出所, 法律援助, 劳动仲裁, 法院, 行业主管部门, …).
REFERRAL_TARGETS: dict[str, tuple[str, str]] = cases.REFERRAL_TARGETS


#: Who may report an incident (the phone's form and the server's rule).
REPORTER_ROLES: tuple[str, ...] = ("grid_officer", "sector_inspector", "office")

ALERT_KIND_INCIDENT = "incident"
#: The response header that carries an office or leader account's unacknowledged alerts.
ALERTS_HEADER = "X-Unacknowledged-Alerts"

#: The longest a report may lie ahead of the server's clock (a phone's clock drifts).
FUTURE_SLACK_MS = 10 * 60 * 1000
MAX_HEADCOUNT = 100_000
#: A namespace for the ids the server derives from an incident's id (its case, its alert):
#: the same incident always names the same case and alert, so a replay makes none.
_NAMESPACE = uuid.UUID("6b1f3c1e-1f7a-4d0e-9a57-1d2c3e4f5a17")


def derived_id(incident_id: str, what: str) -> str:
    """The id of the ``what`` ("case", "alert") made from ``incident_id``."""
    return str(uuid.uuid5(_NAMESPACE, f"{what}:{incident_id.lower()}"))


def incident_errors(fields: Mapping[str, Any], now_ms: int | None = None) -> dict[str, str]:
    """The field -> error code of an incident report before it is recorded
    (empty: fine). Codes: ``required`` (a site or a place; the headcount;
    the time; what was done on scene), ``invalid_value`` (an unknown kind or
    party, a headcount out of 1..100000), ``in_future`` (later than now)."""
    errors: dict[str, str] = {}
    if fields.get("kind") not in INCIDENT_KINDS:
        errors["kind"] = "invalid_value" if fields.get("kind") else "required"
    if not fields.get("site_id") and not str(fields.get("place") or "").strip():
        errors["place"] = "required"
    headcount = fields.get("headcount")
    if headcount is None:
        errors["headcount"] = "required"
    elif type(headcount) is not int or not 1 <= headcount <= MAX_HEADCOUNT:
        errors["headcount"] = "invalid_value"
    occurred = fields.get("occurred_at")
    if occurred is None:
        errors["occurred_at"] = "required"
    elif type(occurred) is not int or occurred < 0:
        errors["occurred_at"] = "invalid_value"
    elif now_ms is not None and occurred > now_ms + FUTURE_SLACK_MS:
        errors["occurred_at"] = "in_future"
    if not str(fields.get("on_scene") or "").strip():
        errors["on_scene"] = "required"
    brought = fields.get("brought_in") or []
    if any(code not in REFERRAL_TARGETS for code in brought):
        errors["brought_in"] = "invalid_value"
    return errors


def case_fields(incident_id: str, incident: Mapping[str, Any],
                site: Mapping[str, Any] | None) -> dict[str, Any]:
    """The fields of the case the server opens for a new incident: at township
    level (``collective_risk``), marked ``collective_incident`` with its
    ``incident_id`` (A's rules give such a case a same-day response deadline)."""
    place = (site or {}).get("name") or incident.get("place") or ""
    kind_zh = INCIDENT_KINDS.get(incident.get("kind") or "", ("群体性讨薪", ""))[0]
    employer = (site or {}).get("contractor") or (site or {}).get("builder")
    return {
        "title": f"{kind_zh}：{place}"[:200],
        **({"employer": employer} if employer else {}),
        "sector": "construction" if (site or {}).get("kind") == "construction"
        else "non_construction",
        "workers_owed": incident.get("headcount"),
        **({"site_id": incident["site_id"]} if incident.get("site_id") else {}),
        **({"village_id": incident["village_id"]} if incident.get("village_id") else {}),
        "source": "patrol",
        "collective_risk": True,
        "collective_incident": True,
        "incident_id": incident_id,
    }


def alert_fields(incident_id: str, incident: Mapping[str, Any], case_id: str,
                 site: Mapping[str, Any] | None, now_ms: int) -> dict[str, Any]:
    """The fields of the alert a new incident raises (server time ``now_ms``).
    It names no complainant: only the place, the headcount and the time."""
    return {
        "kind": ALERT_KIND_INCIDENT,
        "incident_id": incident_id,
        "case_id": case_id,
        "site_id": incident.get("site_id"),
        "village_id": incident.get("village_id") or (site or {}).get("village_id"),
        "place": (site or {}).get("name") or incident.get("place"),
        "headcount": incident.get("headcount"),
        "occurred_at": incident.get("occurred_at"),
        "raised_at": now_ms,
        "acknowledged_by": {},
    }


def unacknowledged(alerts: Any, user_id: str) -> int:
    """How many of ``alerts`` (each a record's data) ``user_id`` has not acknowledged."""
    return sum(1 for a in alerts if user_id not in (a.get("acknowledged_by") or {}))
