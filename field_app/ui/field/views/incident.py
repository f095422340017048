"""上报突发事件: the incident report form (offline) and a stored incident.

The form keeps what was typed on the app (``viewmodels.incident.form_for``);
a refused report shows each error under its field and loses nothing. The
report is saved on the phone at once and sent with the next sync; the
server then opens the township case and alerts the office."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import flet as ft

from ...kit.rules import UiError, text_limit
from ...kit.widgets import BIG, SECONDARY, badge, fmt_time, hook, kv, section
from ..viewmodels.incident import (
    INCIDENT_TEXT_FIELDS,
    KINDS,
    TARGETS,
    case_choices,
    forget_form,
    form_for,
    incident_ids,
    incident_summary,
    submit,
    village_choices,
)
from .common import page_view
from .inspection.photos import camera_dialog, pick_photo

if TYPE_CHECKING:
    from ..shell import FieldApp


def incident_form_view(app: "FieldApp", site_id: str | None) -> ft.View:
    """The report form, from a site (``/site/{id}/incident``) or without one
    (``/incident/new``: the place in words and the village)."""
    t = app.t
    form = form_for(app, site_id)
    site = app.device.get("site", site_id) if site_id else None
    if site_id and site is None:
        raise UiError("unknown_site", f"no site {site_id}")
    texts: dict[str, ft.TextField] = {}

    def text(name: str, label: str, value: str, **kw: Any) -> ft.Control:
        if name in INCIDENT_TEXT_FIELDS:
            kw.setdefault("max_length", text_limit("incident", name))

        def changed(e: Any) -> None:
            setattr(form, name, e.control.value or "")

        texts[name] = ft.TextField(label=label, value=value, on_change=changed, **kw)
        return hook(f"incident-{name}", texts[name])

    def kind_picked(e: Any) -> None:
        form.kind = (e.control.selected or [form.kind])[0]

    kind = hook("incident-kind", ft.SegmentedButton(
        selected=[form.kind], on_change=kind_picked,
        segments=[ft.Segment(value=k, label=ft.Text(t(f"incident.kind.{k}"))) for k in KINDS]))
    errors_of: dict[str, ft.Text] = {}

    def error_line(name: str) -> ft.Text:
        errors_of[name] = ft.Text("", size=12, color=ft.Colors.RED_700, visible=False)
        return errors_of[name]

    place: list[ft.Control]
    if site is not None:
        place = [kv(t("incident.site"), site.get("name"))]
    else:
        villages = village_choices(app.device)
        if form.village_id is None and villages:
            form.village_id = villages[0][0]

        def village_picked(e: Any) -> None:
            form.village_id = e.control.value or None

        place = [text("place", t("incident.place"), form.place),
                 hook("incident-village", ft.Dropdown(
                     label=t("incident.village"), value=form.village_id, dense=True,
                     options=[ft.DropdownOption(key=i, text=n) for i, n in villages],
                     on_select=village_picked))]
    number = ft.KeyboardType.NUMBER

    def toggle(code: str) -> Any:
        def changed(e: Any) -> None:
            chosen = [c for c in form.brought_in if c != code]
            if e.control.value:
                chosen.append(code)
            form.brought_in = [c for c in TARGETS if c in chosen]
        return changed

    targets = ft.Row([hook(f"incident-brought-{c}", ft.Checkbox(
        label=t(f"incident.target.{c}"), value=c in form.brought_in, on_change=toggle(c)))
        for c in TARGETS], wrap=True, spacing=4)
    cases = case_choices(app.device, site_id)

    def case_picked(e: Any) -> None:
        form.attach_case_id = e.control.value or None

    attach = hook("incident-attach", ft.Dropdown(
        label=t("incident.attach"), value=form.attach_case_id or "", dense=True,
        options=[ft.DropdownOption(key="", text=t("incident.attach_none"))]
        + [ft.DropdownOption(key=i, text=title) for i, title in cases],
        on_select=case_picked))

    async def save(e: Any) -> None:
        incident_id, errors = submit(app.device, form, site_id)
        for name, control in texts.items():
            key = errors.get("occurred_at" if name == "occurred" else name)
            control.error = t(key) if key else None
        for name, line in errors_of.items():
            line.value = t(errors[name]) if name in errors else ""
            line.visible = name in errors
        if errors:
            app.toast(t("incident.fix_errors"), error=True)
            app.page.update()
            return
        forget_form(app, site_id)
        app.toast(t("incident.saved"))
        app.refresh_chip()
        await app.go(f"/incident/{incident_id}")

    body: list[ft.Control] = [
        ft.Text(t("incident.hint"), size=12, color=ft.Colors.GREY_800),
        ft.Text(t("incident.kind"), size=13), kind, error_line("kind"),
        *place, error_line("place"),
        text("headcount", t("incident.headcount") + " *", form.headcount, keyboard_type=number),
        text("occurred", t("incident.occurred"), form.occurred,
             hint_text=t("incident.occurred_hint")),
        text("on_scene", t("incident.on_scene") + " *", form.on_scene, multiline=True,
             min_lines=3),
        ft.Text(t("incident.brought_in"), size=13), targets, error_line("brought_in"),
        attach, error_line("_form"),
        hook("incident-submit", ft.FilledButton(
            t("incident.submit"), icon=ft.Icons.CAMPAIGN, on_click=app.safe(save), height=BIG,
            style=ft.ButtonStyle(bgcolor=ft.Colors.RED_700))),
    ]
    back = f"/site/{site_id}" if site_id else "/cases"
    route = f"/site/{site_id}/incident" if site_id else "/incident/new"
    return page_view(app, route, t("incident.new_title"), body, back=back)


def incident_view(app: "FieldApp", incident_id: str) -> ft.View:
    """A stored incident: what was reported, whether it was sent, its case and photos."""
    t = app.t
    s = incident_summary(app.device, incident_id)
    if s is None:
        raise UiError("unknown_incident", f"no incident {incident_id}")

    async def add(data: Any) -> None:
        app.device.attach_photo(incident_id, data)
        app.toast(t("incident.photo_added"))
        app.refresh_chip()
        await app.rerender()

    async def from_camera(e: Any) -> None:
        def taken(data: bytes) -> None:
            app.device.attach_photo(incident_id, data)
            app.refresh_chip()
            app.page.run_task(app.rerender)
        await camera_dialog(app, taken)

    async def from_gallery(e: Any) -> None:
        data = await pick_photo(app)
        if data is not None:
            await add(data)

    state = badge(t("incident.waiting") if s.waiting else t("incident.sent"),
                  ft.Colors.ORANGE_800 if s.waiting else ft.Colors.GREEN_700)
    case: ft.Control = ft.Text(t("incident.case_pending"), size=13)
    if s.case_id:
        case = hook("incident-case", ft.TextButton(
            s.case_title or t("incident.case"), icon=ft.Icons.GAVEL,
            on_click=app.nav(f"/case/{s.case_id}")))
    who = "、".join(t(f"incident.target.{c}") for c in s.brought_in) or t("none")
    body = [
        ft.Row([ft.Text(t(f"incident.kind.{s.kind}"), size=18, weight=ft.FontWeight.BOLD),
                hook("incident-state", state)], wrap=True),
        section(t("incident.title"),
                kv(t("incident.place"), s.place), kv(t("incident.headcount"), s.headcount),
                kv(t("incident.occurred_at"), fmt_time(s.occurred_at)),
                kv(t("incident.on_scene"), s.on_scene), kv(t("incident.brought_in"), who)),
        section(t("incident.case"), case),
        section(t("incident.photos", n=s.photos), ft.Row([
            hook("incident-photo-camera", ft.OutlinedButton(
                t("incident.add_photo"), icon=ft.Icons.PHOTO_CAMERA, height=SECONDARY,
                on_click=app.safe(from_camera))),
            hook("incident-photo-file", ft.OutlinedButton(
                t("incident.add_gallery"), icon=ft.Icons.PHOTO_LIBRARY, height=SECONDARY,
                on_click=app.safe(from_gallery)))], wrap=True)),
    ]
    return page_view(app, f"/incident/{incident_id}", t("incident.title"), body, back="/cases")


def incidents_section(app: "FieldApp") -> list[ft.Control]:
    """突发事件 on this phone, newest first (the cases screen shows them): each
    row opens the stored report; nothing when there is none."""
    t = app.t
    rows: list[ft.Control] = []
    for n, incident_id in enumerate(incident_ids(app.device)):
        s = incident_summary(app.device, incident_id)
        if s is None:
            continue
        state = t("incident.waiting") if s.waiting else t("incident.sent")
        rows.append(hook(f"incident-row-{n}", ft.Container(ft.Column([
            ft.Text(f"{t(f'incident.kind.{s.kind}')}：{s.place}", size=14,
                    weight=ft.FontWeight.W_600),
            ft.Text(f"{fmt_time(s.occurred_at)} · {t('incident.headcount')} {s.headcount} · "
                    f"{state}", size=12, color=ft.Colors.GREY_700)], spacing=2),
            padding=ft.Padding.all(10), bgcolor=ft.Colors.RED_50, border_radius=8,
            on_click=app.nav(f"/incident/{incident_id}"), ink=True)))
    return [section(t("incident.list"), *rows)] if rows else []
