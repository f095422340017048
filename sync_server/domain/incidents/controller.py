"""The office API of alerts: the list (with the caller's unacknowledged count)
and the acknowledgement, office and leader accounts only (403 ``forbidden``);
and ``alerts_header``, the hook that tells an office or leader account its
unacknowledged alerts on every authenticated response
(``X-Unacknowledged-Alerts``)."""

from __future__ import annotations

from functools import partial
import logging
from typing import Any

from anyio import to_thread
from litestar import Controller, Response, get, post
from litestar.datastructures import MutableScopeHeaders
from litestar.params import FromPath, FromQuery
from litestar.types import Message, Scope

from shared_schema.incidents import ALERTS_HEADER
from shared_schema.office import AlertAck, AlertList
from shared_schema.roles import OFFICE_ROLES
from sync_server.dependencies import AppSettings, CurrentPrincipal, Store
from sync_server.domain.incidents import alerts
from sync_server.domain.office import access
from sync_server.domain.office.controller import Limit, Offset
from sync_server.guards import role_in
from sync_server.http import json_response

log = logging.getLogger("sync_server")
READERS = [role_in(access.OFFICE_LEADER)]


async def _run(fn: Any, *args: Any, **kwargs: Any) -> Response:
    return json_response(await to_thread.run_sync(partial(fn, *args, **kwargs)))


class AlertController(Controller):
    path = "/api/v1/office/alerts"
    tags = ["office"]
    security = [{"bearer": []}]

    @get("/", summary="Alerts (collective incidents), newest first, with the unacknowledged count",
         operation_id="office_list_alerts", guards=READERS)
    async def list_(self, principal: CurrentPrincipal, store: Store,
                    unacknowledged: FromQuery[bool] = False, limit: Limit = 50,
                    offset: Offset = 0) -> Response[AlertList]:
        return await _run(alerts.list_alerts, store, principal,
                          unacknowledged_only=unacknowledged, limit=limit, offset=offset)

    @post("/{alert_id:str}/ack", summary="Acknowledge an alert (audited, once per account)",
          operation_id="office_ack_alert", guards=READERS, status_code=200)
    async def ack(self, principal: CurrentPrincipal, store: Store, settings: AppSettings,
                  alert_id: FromPath[str]) -> Response[AlertAck]:
        return await _run(alerts.acknowledge, store, settings, principal, alert_id)


async def alerts_header(message: Message, scope: Scope) -> None:
    """``before_send``: on the response of a request an office or leader
    account signed in to, the number of alerts it has not acknowledged."""
    if message["type"] != "http.response.start":
        return
    p = (scope.get("state") or {}).get("principal")
    if p is None or p.role not in OFFICE_ROLES:
        return
    app_state = scope["litestar_app"].state
    counts = app_state.get("alert_counts")
    if counts is None:
        counts = app_state.alert_counts = alerts.AlertCounts()
    try:
        n = counts.count(app_state.store, p.user_id)
    except Exception:  # the answer goes out without the count rather than failing
        log.exception("the unacknowledged alerts could not be counted")
        return
    MutableScopeHeaders.from_message(message)[ALERTS_HEADER] = str(n)
