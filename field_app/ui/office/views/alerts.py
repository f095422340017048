"""预警提醒: the alerts of collective incidents, open ones first, each with its
case and a 确认收到 button (office and leader; audited on the server)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import flet as ft

from ...kit.widgets import fmt_time, hook, section
from ..viewmodels.alerts import AlertRow, alert_rows
from .frame import (busy, kv, later, loading, office_page, refill, result_banner, safe,
                    show_alert_count, with_client)

if TYPE_CHECKING:
    from ..shell import OfficeApp


def alerts_view(app: "OfficeApp") -> ft.View:
    t = app.t
    box = ft.Column([loading(app)], spacing=10, horizontal_alignment=ft.CrossAxisAlignment.STRETCH)
    done: dict[str, str] = {}  # the last acknowledgement's outcome, shown once by the refill

    def card(n: int, r: AlertRow) -> ft.Control:
        a = r.alert
        ack = ft.FilledButton(t("office.alerts.ack"), icon=ft.Icons.DONE)

        async def acknowledge(e: Any) -> None:
            res = await busy(app, [ack], with_client(app, lambda api: api.ack_alert(a.id)))
            done["note"] = t("office.alerts.acked", title=r.title,
                             n=res.unacknowledged)
            show_alert_count(app, res.unacknowledged)
            await refill(app, box, build)  # the list again, in place (no route change)

        ack.on_click = safe(app, acknowledge)
        state = ft.Container(
            ft.Text(t("office.alerts.open") if r.open
                    else t("office.alerts.done", at=fmt_time(a.acknowledged_at)),
                    size=12, color=ft.Colors.WHITE, weight=ft.FontWeight.BOLD),
            bgcolor=ft.Colors.RED_700 if r.open else ft.Colors.GREEN_700, border_radius=10,
            padding=ft.Padding.symmetric(horizontal=8, vertical=2))
        who = "、".join(t(f"incident.target.{c}") if t.has(f"incident.target.{c}") else c
                       for c in a.brought_in) or "—"
        kind = (t(f"incident.kind.{a.incident_kind}")
                if t.has(f"incident.kind.{a.incident_kind}") else t("incident.title"))
        buttons: list[ft.Control] = []
        if r.open:  # a hidden control inside a hook would break Flutter's semantics
            buttons.append(hook(f"office-alert-ack-{n}", ack))
        if a.case_id:
            buttons.append(hook(f"office-alert-case-{n}", ft.OutlinedButton(
                t("office.alerts.case"), icon=ft.Icons.GAVEL,
                on_click=app.nav(f"/office/case/{a.case_id}"))))
        return hook(f"office-alert-{n}", section(
            r.title,
            ft.Row([state, ft.Text(kind, size=13, weight=ft.FontWeight.W_600),
                    ft.Text(t("office.alerts.counted", n=a.acknowledged_count), size=12,
                            color=ft.Colors.GREY_700)], wrap=True, spacing=8),
            kv(t("office.alerts.place"), r.place),
            kv(t("office.alerts.headcount"), a.headcount),
            kv(t("office.alerts.occurred"), fmt_time(a.occurred_at)),
            kv(t("office.alerts.raised"), fmt_time(a.raised_at)),
            kv(t("office.alerts.on_scene"), a.on_scene),
            kv(t("office.alerts.brought_in"), who),
            kv(t("office.alerts.reporter"), a.reporter_name),
            ft.Row(buttons, spacing=8)), container=True)

    async def build() -> list[ft.Control]:
        page = await with_client(app, lambda api: api.alerts())
        rows = alert_rows(page)
        head: list[ft.Control] = [result_banner(done.pop("note", None)),
                                  hook("office-alerts-count", ft.Text(
                                      t("office.alerts.count", n=page.unacknowledged), size=14,
                                      weight=ft.FontWeight.BOLD,
                                      color=ft.Colors.RED_800 if page.unacknowledged
                                      else ft.Colors.GREEN_800))]
        if not rows:
            return head + [hook("office-alerts-none", ft.Text(t("office.alerts.none")))]
        return head + [card(n, r) for n, r in enumerate(rows)]

    return later(app, office_page(app, "/office/alerts", t("office.alerts.title"),
                                  [hook("office-alerts", box, container=True)]), box, build)
