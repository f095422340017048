"""Reporting a collective incident (群体性讨薪/突发事件) offline.

``report_incident`` checks the report against the shared rules
(``shared_schema.incidents``, the field table) and writes the ``incident``
record and its insert mutation in one local transaction, like every
``Device`` action; the server opens (or joins) the case and raises the
alert when the report arrives. Photos attach to it as to any record
(``Device.attach_photo(incident_id, …)``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from field_app.core.checks import check_owners, clean, typed
from field_app.core.errors import DeviceError, InvalidInput
from shared_schema.ids import uuid7
from shared_schema.incidents import REPORTER_ROLES, incident_errors

if TYPE_CHECKING:
    from field_app.core.device import Device


def report_incident(device: "Device", **fields: Any) -> str:
    """Record an incident on this phone and queue it; returns its id. A bad
    report is ``InvalidInput`` ``invalid_incident`` with ``errors`` (field ->
    code of ``incident_errors``) and ``field`` (the first)."""
    fields = typed("incident", clean(fields))
    now = device.settings.now_ms()
    errors = incident_errors(fields, now)
    if errors:
        first = next(iter(errors))
        raise InvalidInput("invalid_incident", f"incident.{first}: {errors[first]}",
                           errors=errors, field=first)
    incident_id = uuid7(device.settings.now_ms)
    with device.store.write() as tx:
        user = device._user(tx)
        if user.get("role") not in REPORTER_ROLES:
            raise DeviceError("role_not_allowed", f"a {user.get('role')} may not report an incident",
                              role=user.get("role"))
        check_owners(user, "incident", fields, recorder=True)
        if fields.get("site_id"):
            site = device._live(tx, "site", fields["site_id"])
            if site.data.get("village_id"):
                fields["village_id"] = site.data["village_id"]
        device._known(tx, "village", fields.get("village_id"))
        if fields.get("attach_case_id"):
            device._live(tx, "case", fields["attach_case_id"])
        device.outbox.insert(tx, "incident", incident_id, fields)
    return incident_id
