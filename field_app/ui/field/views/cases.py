"""Cases on the phone: intake at a site, my cases, one case and its events."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import flet as ft

from shared_schema.case_sources import source_label

from ...kit.rules import UiError, text_limit
from ...kit.widgets import BIG, PAD, badge, fmt_time, hook, kv, section
from ..viewmodels import (
    EVENT_NUMBERS,
    event_choices,
    route_preview,
    status_key,
    CASE_SOURCES,
    CASE_TEXT_FIELDS,
    EVENT_TEXT_FIELDS,
    CaseVM,
    case_rows,
    strip_emoji,
    employer_for,
    money,
    open_case,
    required_fields,
)
from ..viewmodels.followup import take_case_draft
from .common import page_view, replaced_banner
from .incident import incidents_section  # --- #17 incidents

if TYPE_CHECKING:
    from ..shell import FieldApp

# --------------------------------------------------------------------------------------
# Cases


def case_intake_view(app: "FieldApp", site_id: str) -> ft.View:
    t = app.t
    site = app.device.get("site", site_id) or {}
    sector = "construction" if site.get("kind") == "construction" else "non_construction"
    fields: dict[str, ft.TextField] = {}
    # #17 warnings: a case opened on the spot from an inspection comes prefilled
    draft = take_case_draft(getattr(app, "typed", {}), site_id)

    def tf(name: str, **kw: Any) -> ft.Control:
        key = "case.title_field" if name == "title" else f"case.{name}"
        if name in CASE_TEXT_FIELDS:  # a counter with the server's limit (shared_schema.fields)
            kw.setdefault("max_length", text_limit("case", name))
        kw.setdefault("value", draft.get(name) or None)
        fields[name] = ft.TextField(label=t(key), **kw)
        return hook(f"case-{name}", fields[name])

    sector_btn = ft.SegmentedButton(
        selected=[sector], segments=[ft.Segment(value=s, label=ft.Text(t(f"sector.{s}")))
                                     for s in ("construction", "non_construction")])
    source = ft.Dropdown(label=t("case.source"), value="patrol", options=[
        ft.DropdownOption(key=s, text=t(f"source.{s}")) for s in CASE_SOURCES], dense=True)
    route_text = ft.Text("", size=12, color=ft.Colors.TEAL_800)

    def show_route(e: Any = None) -> None:
        """Where the case will go, as the server will route it (offline, with the
        office's thresholds this phone pulled)."""
        raw = {n: fields[n].value for n in ("workers_owed", "amount_owed") if n in fields}
        try:
            r = route_preview(app.device, site, {**raw, "collective_risk": collective.value})
        except (TypeError, ValueError):
            return
        route_text.value = t("case.route_preview", level=t(f"level.{r.level}"),
                             reason=t(f"route_reason.{r.reason}"))
        if e is not None:
            app.page.update()

    collective = ft.Switch(label=t("case.collective_risk"), value=draft.get("collective_risk") == "True",
                           on_change=show_route)
    number = ft.KeyboardType.NUMBER
    form = [
        tf("title"), tf("employer", value=employer_for(site)),
        tf("employer_address", value=site.get("address") or ""),
        ft.Text(t("case.sector"), size=13), sector_btn,
        ft.Row([ft.Container(tf("workers_owed", keyboard_type=number, on_blur=show_route),
                             expand=True),
                ft.Container(tf("amount_owed", keyboard_type=number, on_blur=show_route),
                             expand=True)]),
        ft.Row([ft.Container(tf("period_from", hint_text="2025-01"), expand=True),
                ft.Container(tf("period_to", hint_text="2025-03"), expand=True)]),
        tf("work_done", multiline=True), source, collective,
        tf("complainant_name"), tf("complainant_phone", keyboard_type=ft.KeyboardType.PHONE),
    ]

    async def submit(e: Any) -> None:
        removed = False
        for control in fields.values():
            control.value, gone = strip_emoji(control.value or "")
            removed = removed or gone
        if removed:
            app.toast(t("emoji.removed"))
        raw = {k: c.value for k, c in fields.items()}
        raw["sector"] = (sector_btn.selected or [None])[0]
        raw["source"] = source.value
        raw["collective_risk"] = bool(collective.value) or None
        if site.get("village_id"):
            raw["village_id"] = site["village_id"]
        case_id, errors = open_case(app.device, site_id, raw)
        for name, control in fields.items():
            control.error = t(errors[name]) if name in errors else None
        if errors:
            app.toast(t("case.fix_errors"), error=True)
            app.page.update()
            return
        app.toast(t("case.saved"))
        await app.go(f"/case/{case_id}")

    show_route()
    body = [ft.Text(site.get("name") or "", size=17, weight=ft.FontWeight.BOLD),
            ft.Text(t("case.intake_hint"), size=12, color=ft.Colors.GREY_700),
            hook("case-route", route_text),
            *form,
            hook("case-submit", ft.FilledButton(t("case.submit"), icon=ft.Icons.SAVE,
                                                on_click=app.safe(submit), height=BIG))]
    return page_view(app, f"/site/{site_id}/case", t("case.new_title"), body,
                     back=f"/site/{site_id}")


EVENT_FIELDS = ("investigation_kind", "investigation_outcome", "advance_source", "referral_target",
                "transfer_to", "amount_advanced", "workers_advanced", "amount_recovered",
                "workers_paid", "reply_date", "note", "callback_note")
#: Coded event fields and the i18n family naming their codes.
CODE_FAMILY = {"referral_target": "referral", "investigation_kind": "inv_kind",
               "investigation_outcome": "inv_outcome", "advance_source": "advance"}


def event_value(t: Any, name: str, value: Any) -> str:
    """An event field's value for people: a code by its name (an old free-text
    referral as typed), an amount in yuan."""
    family = CODE_FAMILY.get(name)
    if family and t.has(f"{family}.{value}"):
        return t(f"{family}.{value}")
    if name in ("amount_recovered", "amount_advanced"):
        return money(value)
    return str(value)


#: Fields an event kind offers beside what it needs.
OPTIONAL = {"advance_payment": ("workers_advanced",), "reply": ("reply_date",)}


def cases_view(app: "FieldApp") -> ft.View:
    """案件: every case on this phone, open ones first, with the next deadline."""
    t = app.t
    tiles: list[ft.Control] = []
    for r in case_rows(app.device):
        sub = " · ".join(x for x in (r.site, money(r.amount) if r.amount is not None else "",
                                     fmt_time(r.opened_at)[:10]) if x)
        lines: list[ft.Control] = [
            ft.Text(r.title, size=15, weight=ft.FontWeight.W_600),
            ft.Text(sub, size=12, color=ft.Colors.GREY_700),
            ft.Row([badge(t(f"status.{r.status}"), ft.Colors.BLUE_700),
                    badge(t(f"level.{r.level}"), ft.Colors.TEAL_700)], spacing=6)]
        if r.deadline:
            lines.append(ft.Text(
                t(f"case.deadline_{r.deadline.kind}", due=r.deadline.due.isoformat()) + " · "
                + (t("case.overdue", days=-r.deadline.days_left) if r.deadline.overdue
                   else t("case.days_left", days=r.deadline.days_left)), size=12,
                color=ft.Colors.RED_700 if r.deadline.overdue else ft.Colors.GREEN_800))
        tiles.append(hook(f"case-row-{r.id}", ft.Container(
            ft.Column(lines, spacing=4), padding=PAD, bgcolor=ft.Colors.WHITE, border_radius=8,
            on_click=app.nav(f"/case/{r.id}"), ink=True)))
    body: list[ft.Control] = [hook("new-incident", ft.OutlinedButton(  # --- #17 incidents
        t("incident.new"), icon=ft.Icons.CAMPAIGN, on_click=app.nav("/incident/new"), height=BIG,
        style=ft.ButtonStyle(color=ft.Colors.RED_700))), *incidents_section(app),
        hook("case-list", ft.Column(
        tiles or [ft.Text(t("cases.empty"), color=ft.Colors.GREY_700)], spacing=8,
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH))]
    return page_view(app, "/cases", t("cases.title"), body)


def case_view(app: "FieldApp", case_id: str) -> ft.View:
    t = app.t
    vm = CaseVM(app.device, case_id)
    c = vm.case
    if not c:
        raise UiError("unknown_case", f"no case {case_id}")
    dl = vm.deadline()
    deadline: ft.Control = ft.Text(t("case.no_deadline"), size=13)
    if dl:
        deadline = ft.Text(
            t(f"case.deadline_{dl.kind}", due=dl.due.isoformat())
            + " · " + (t("case.overdue", days=-dl.days_left) if dl.overdue
                       else t("case.days_left", days=dl.days_left)),
            size=14, weight=ft.FontWeight.BOLD,
            color=ft.Colors.RED_700 if dl.overdue else ft.Colors.GREEN_800)
    info = [kv(t(f"case.{f}"), money(c.get(f)) if f == "amount_owed" and c.get(f) is not None
               else c.get(f)) for f in
            ("employer", "employer_address", "workers_owed", "amount_owed", "period_from",
             "period_to", "work_done")]
    info.append(kv(t("case.sector"), t(f"sector.{c['sector']}") if c.get("sector") else None))
    info.append(kv(t("case.source"), source_label(c.get("source"), t.lang)))
    # #17: who handles it, 首问负责, advances, the reply
    receiver = app.device.get("user", c.get("first_receiver_id") or "") or {}
    info += [
        kv(t("case.handled_by"), t(f"handler.{c['handled_by']}") if c.get("handled_by") else None),
        kv(t("case.first_receiver"), receiver.get("display_name")),
        kv(t("case.transfer_to"), c.get("transfer_to")),
        kv(t("case.referral_target"), event_value(t, "referral_target", c["referral_target"])
           if c.get("referral_target") else None),
        kv(t("case.amount_recovered"), money(c["amount_recovered"])
           if c.get("amount_recovered") else None),
        kv(t("case.amount_advanced"), money(c["amount_advanced"])
           if c.get("amount_advanced") else None),
        kv(t("case.complainant_reply"), " · ".join(
            x for x in (c.get("reply_date") or "", c.get("complainant_reply") or "") if x) or None),
    ]
    timeline = [ft.Row([ft.Icon(ft.Icons.CIRCLE, size=10, color=ft.Colors.BLUE_700),
                        ft.Column([ft.Text(f"{fmt_time(c.get('opened_at') or c.get('created_at'))}"
                                           f" · {t('case.registered')}", size=13)],
                                  spacing=0, expand=True)])]
    for ev in vm.events:
        extra = " · ".join(event_value(t, f, ev[f]) for f in EVENT_FIELDS
                           if ev.get(f) not in (None, ""))
        timeline.append(ft.Row([ft.Icon(ft.Icons.CIRCLE, size=10, color=ft.Colors.BLUE_700),
                                ft.Column([ft.Text(f"{fmt_time(ev.get('created_at'))} · "
                                                   f"{t('event.' + (ev.get('kind') or 'note'))}",
                                                   size=13),
                                           ft.Text(extra, size=12, color=ft.Colors.GREY_700,
                                                   visible=bool(extra))],
                                          spacing=0, expand=True)]))

    def action(kind: str) -> Callable[[Any], None]:
        def handler(e: Any) -> None:
            needs = {n for r in required_fields(kind) for n in r.split("|")}
            names = [f for f in EVENT_FIELDS if f in needs or f in OPTIONAL.get(kind, ())] \
                or ["note"]
            inputs: dict[str, Any] = {}
            for n in names:
                label = t(f"event_field.{n}") + (" *" if n in needs else "")
                codes = event_choices(kind, n)
                if codes:
                    inputs[n] = ft.Dropdown(label=label, dense=True, options=[
                        ft.DropdownOption(key=code, text=t(f"{CODE_FAMILY[n]}.{code}"))
                        for code in codes])
                else:
                    inputs[n] = ft.TextField(
                        label=label, multiline=n in ("note", "callback_note"),
                        keyboard_type=ft.KeyboardType.NUMBER if n in EVENT_NUMBERS else None,
                        hint_text="2026-01-31" if n == "reply_date" else None,
                        max_length=text_limit("case_event", n) if n in EVENT_TEXT_FIELDS else None)

            async def save(ev: Any) -> None:
                vm.add_event(kind, {n: c.value for n, c in inputs.items()})
                app.page.pop_dialog()
                app.toast(t("saved"))
                await app.rerender()

            app.page.show_dialog(ft.AlertDialog(
                title=ft.Text(t(f"event.{kind}")),
                content=ft.Column(list(inputs.values()), tight=True),
                actions=[ft.TextButton(t("cancel"), on_click=lambda ev: app.page.pop_dialog()),
                         hook("case-event-save", ft.FilledButton(t("save"),
                                                                 on_click=app.safe(save)))]))
        return handler

    allowed = vm.allowed()
    buttons = [hook(f"case-action-{k}", ft.OutlinedButton(t(f"event.{k}"),
                                                         on_click=app.safe(action(k))))
               for k in allowed]
    body = [
        ft.Text(c.get("title") or c.get("employer") or "", size=18, weight=ft.FontWeight.BOLD),
        ft.Row([badge(t("status." + status_key(c)), ft.Colors.BLUE_700),
                badge(t("level." + (c.get("level") or "village")), ft.Colors.TEAL_700)]),
        deadline,
        *replaced_banner(app, "case", case_id,
                         lambda f: t(f"case.{f}") if t.has(f"case.{f}") else f),
        section(t("case.actions"), ft.Row(buttons, wrap=True, spacing=6) if buttons
                else ft.Text(t("case.no_actions"), size=13)),
        section(t("case.timeline"), *timeline),
        section(t("case.details"), *info),
    ]
    back = f"/site/{c['site_id']}" if c.get("site_id") else "/sites"
    return page_view(app, f"/case/{case_id}", t("case.title"), body, back=back)
