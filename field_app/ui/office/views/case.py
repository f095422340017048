"""One case: its facts, the events a role may take (with the closure form and
its payment proofs), the timeline."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import flet as ft

from field_app.core.errors import DeviceError
from shared_schema.cases import TRANSITIONS
from shared_schema.field_labels import field_label
from shared_schema.office import TimelineEvent

from ...adapters import PickedPhoto
from ...kit.widgets import badge, fmt_time, hook, section
from .. import viewmodels as vm
from .cases import case_chips, due_text, source_text
from .frame import (busy,
                    error_words, kv, later, loading, office_page, refill, result_banner, safe,
                    with_client)
from .reports import case_documents, documents_button  # --- #17 documents ---

if TYPE_CHECKING:
    from ..shell import OfficeApp

class EvidencePicker:
    """Payment proofs from the file picker: photos or PDF receipts (web: bytes;
    desktop and phone: a path). Tests replace ``app.evidence``."""

    EXTENSIONS = ["jpg", "jpeg", "png", "webp", "heic", "pdf"]

    def __init__(self, picker: Any) -> None:
        self.picker = picker

    async def pick(self) -> list[PickedPhoto]:
        files = await self.picker.pick_files(
            with_data=True, allow_multiple=True, file_type=ft.FilePickerFileType.CUSTOM,
            allowed_extensions=self.EXTENSIONS)
        return [PickedPhoto(name=f.name, data=f.bytes, path=f.path) for f in files or []]


def evidence_source(app: "OfficeApp") -> Any:
    """The console's source of payment proofs (tests set ``app.evidence``)."""
    if app.evidence is None:
        if app.files is None:
            raise vm.UiError("no_file_picker", "no file picker on this device")
        app.evidence = EvidencePicker(app.files.picker)
    return app.evidence


def read_picked(f: PickedPhoto) -> bytes:
    content = f.content()
    return content if isinstance(content, bytes) else Path(content).read_bytes()


def case_view(app: "OfficeApp", case_id: str) -> ft.View:
    t = app.t
    box = ft.Column([loading(app)], spacing=10, horizontal_alignment=ft.CrossAxisAlignment.STRETCH)
    done: dict[str, str] = {}
    blobs: dict[str, bytes] = {}
    buttons: list[ft.Control] = []

    async def after(kind: str) -> None:
        app.page.pop_dialog()
        done["note"] = t("office.cases.done", event=t(f"event.{kind}"))
        await refill(app, box, build)  # the new status, here: no navigation

    def event_form(kind: str) -> Callable[[Any], None]:
        def open_form(e: Any) -> None:
            fields: dict[str, Any] = {}
            for name in vm.event_fields(kind):
                codes = vm.event_choices(kind, name)
                fields[name] = hook(f"office-field-{name}", ft.Dropdown(
                    label=t(f"office.field.{name}"), dense=True, options=[
                        ft.DropdownOption(key=code, text=vm.code_text(t, name, code))
                        for code in codes])) if codes else ft.TextField(
                    label=t(f"office.field.{name}"), dense=True,
                    hint_text="2026-01-31" if name == "reply_date" else None)
            send_btn = ft.FilledButton(t("save"))
            files = vm.Attachments()
            extra: list[ft.Control] = []
            if kind in vm.ATTACHING_EVENTS:  # 询问笔录 and the like: photos or PDFs of the pages
                pick_btn = ft.OutlinedButton(t("office.event.attach"), icon=ft.Icons.ATTACH_FILE)
                extra = [hook("office-event-pick", pick_btn), hook(
                    "office-event-files", attachments(files, pick_btn, send_btn, "office-event"),
                    container=True)]

            async def send(ev: Any) -> None:
                values = {k: f.value or "" for k, f in fields.items()}
                if files.evidence:
                    values["evidence"] = " ".join(files.hashes())
                body = vm.event_body(kind, values)
                await busy(app, [send_btn], with_client(app, lambda api: api.case_event(case_id, body)))
                await after(kind)

            send_btn.on_click = safe(app, send)
            app.page.show_dialog(ft.AlertDialog(
                title=ft.Text(t(f"event.{kind}")),
                content=ft.Column([*fields.values(), *extra], tight=True, width=420),
                actions=[ft.TextButton(t("cancel"), on_click=lambda ev: app.page.pop_dialog()),
                         hook("office-event-send", send_btn)]))
        return open_form

    def attachments(form: vm.Attachments, pick_btn: ft.Control, send_btn: ft.Control,
                    prefix: str) -> ft.Column:
        """The picked files of ``form``, each uploaded at once (tus); the send only names them."""
        files = ft.Column([ft.Text(t("office.close.none"), size=12, color=ft.Colors.GREY_700)],
                          spacing=4)

        def list_files() -> None:
            files.controls = [hook(f"{prefix}-file-{n}", ft.Row([
                ft.Icon(ft.Icons.PICTURE_AS_PDF if ev.kind == "pdf" else ft.Icons.IMAGE, size=18),
                ft.Text(f"{ev.name} · {ev.size / 1024:.0f} KB", size=12, expand=True),
                ft.Text(t("office.close.uploaded") if ev.uploaded else t("office.close.waiting"),
                        size=12, color=ft.Colors.GREEN_700 if ev.uploaded else ft.Colors.ORANGE_800),
                ft.IconButton(ft.Icons.DELETE_OUTLINE, tooltip=t("office.close.remove"),
                              on_click=lambda _e, sha=ev.sha256: (form.remove(sha), list_files(),
                                                                  app.page.update()))]))
                for n, ev in enumerate(form.evidence)] or [
                ft.Text(t("office.close.none"), size=12, color=ft.Colors.GREY_700)]

        async def pick(ev: Any) -> None:
            picked = await evidence_source(app).pick()
            if not picked:
                return

            async def add() -> None:
                max_px = int(app.prefs.photo_max_px)
                for f in picked:
                    item = await asyncio.to_thread(
                        lambda f=f: vm.prepare_evidence(f.name, read_picked(f), max_px))
                    form.add(item)
                list_files()
                app.page.update()
                await with_client(app, form.upload)
                list_files()

            await busy(app, [pick_btn, send_btn], add())

        pick_btn.on_click = safe(app, pick)
        return files

    def close_form(e: Any) -> None:
        """销号: pick payment proofs (uploaded at once, by tus), the workers'
        call-back note, then the ``close`` event with the evidence hashes."""
        form = vm.ClosureForm()
        pick_btn = ft.OutlinedButton(t("office.close.pick"), icon=ft.Icons.ATTACH_FILE)
        send_btn = ft.FilledButton(t("event.close"), icon=ft.Icons.TASK_ALT)
        files = attachments(form, pick_btn, send_btn, "office-close")
        callback = ft.TextField(label=t("office.field.callback_note"), multiline=True,
                                min_lines=2, on_change=lambda ev: setattr(
                                    form, "callback_note", ev.control.value or ""))
        note = ft.TextField(label=t("office.field.note"), dense=True,
                            on_change=lambda ev: setattr(form, "note", ev.control.value or ""))

        async def send(ev: Any) -> None:
            form.callback_note, form.note = callback.value or "", note.value or ""
            await busy(app, [pick_btn, send_btn],
                       with_client(app, lambda client: form.send(client, case_id)))
            await after("close")

        send_btn.on_click = safe(app, send)
        app.page.show_dialog(ft.AlertDialog(
            title=ft.Text(t("office.close.title")),
            content=ft.Column([ft.Text(t("office.close.hint"), size=12, color=ft.Colors.GREY_700),
                               hook("office-close-pick", pick_btn),
                               hook("office-close-files", files, container=True),
                               hook("office-close-callback", callback), note],
                              tight=True, width=520, spacing=8),
            actions=[ft.TextButton(t("cancel"), on_click=lambda ev: app.page.pop_dialog()),
                     hook("office-close-send", send_btn)]))

    async def thumb(sha256: str) -> ft.Control:
        if sha256 not in blobs:
            try:
                blobs[sha256] = await with_client(app, lambda api: api.blob(sha256))
            except DeviceError as exc:  # one missing proof must not hide the case
                return ft.Text(error_words(t, exc), size=11,
                               color=ft.Colors.RED_700)
        data = blobs[sha256]
        if data[:5] == b"%PDF-":
            return ft.Container(ft.Row([ft.Icon(ft.Icons.PICTURE_AS_PDF), ft.Text(
                f"PDF {sha256[:8]}", size=11)], tight=True), padding=6,
                bgcolor=ft.Colors.GREY_200, border_radius=6)
        return ft.Image(src=data, width=96, height=72, fit=ft.BoxFit.COVER)

    def when(times: tuple[int | None, int | None]) -> str:
        main, reported = times  # server time first, the device's when it differs
        return fmt_time(main) + (f" ({t('office.time.reported', at=fmt_time(reported))})"
                                 if reported is not None else "")

    async def timeline_row(ev: TimelineEvent) -> ft.Control:
        f = ev.fields
        lines: list[ft.Control] = [
            ft.Text(f"{when(vm.event_times(ev))} · "
                    f"{t('event.' + ev.kind) if ev.kind in TRANSITIONS else ev.label_zh}",
                    weight=ft.FontWeight.BOLD, size=13),
            ft.Text(t("office.cases.by", name=ev.author_name or "—",
                      role=t(f"role.{ev.author_role}") if t.has(
                          f"role.{ev.author_role}") else "—")
                    + (f" · {f['note']}" if f.get("note") else ""),
                    size=12, color=ft.Colors.GREY_700)]
        done_ = [f"{field_label('case_event', k, t.lang)}：{vm.with_unit(t, f[k], unit)}"
                 for k, unit in (("amount_recovered", "unit.yuan"),
                                 ("workers_paid", "unit.people"), ("amount_advanced", "unit.yuan"),
                                 ("workers_advanced", "unit.people"), ("transfer_to", ""),
                                 ("reply_date", ""))
                 if f.get(k) not in (None, "")]
        done_ += [f"{field_label('case_event', k, t.lang)}：{vm.code_text(t, k, f[k])}"
                  for k in ("referral_target", "investigation_kind", "investigation_outcome",
                            "advance_source") if f.get(k) not in (None, "")]
        if done_:
            lines.append(ft.Text(" · ".join(done_), size=12))
        if f.get("callback_note"):
            lines.append(ft.Text(f"{t('office.field.callback_note')}：{f['callback_note']}",
                                 size=12))
        if f.get("evidence"):
            lines.append(ft.Row([await thumb(h) for h in f["evidence"]], wrap=True, spacing=6))
        return ft.Row([ft.Icon(ft.Icons.CIRCLE, size=10, color=ft.Colors.BLUE_700),
                       ft.Column(lines, spacing=1, expand=True)],
                      vertical_alignment=ft.CrossAxisAlignment.START)

    async def build() -> list[ft.Control]:
        d = await with_client(app, lambda api: api.case(case_id))
        c, dl = d.case, d.deadlines
        head = section(c.get("title") or c.get("employer") or "—",
                       ft.Row(case_chips(t, c) + ([badge(t("office.cases.overdue"),
                                                         ft.Colors.RED_700)]
                                                  if dl.overdue else [])),
                       kv(t("office.cases.village"), d.village_name),
                       kv(t("office.cases.employer"), c.get("employer")),
                       *([ft.Row([ft.Text(t("office.cases.site"), size=13,
                                          color=ft.Colors.GREY_700, width=110),
                                  hook("office-case-site", ft.TextButton(
                                      d.site_name or t("office.value.other_record"),
                                      icon=ft.Icons.APARTMENT,
                                      on_click=app.nav(f"/office/site/{c['site_id']}")))])]
                         if c.get("site_id") else []),
                       kv(t("office.cases.period"), vm.period_text(t, c)),
                       kv(t("office.cases.work_done"), c.get("work_done")),
                       kv(t("office.cases.source"), source_text(t, c.get("source"))),
                       kv(t("office.cases.received"), when(vm.case_times(c))),
                       kv(t("office.cases.workers"), c.get("workers_owed")),
                       kv(t("office.cases.amount"), f"{c.get('amount_owed') or 0:,.2f}"),
                       kv(t("office.cases.recovered"), f"{c.get('amount_recovered') or 0:,.2f}"),
                       # #17: advances apart from the employer's, who handles it, 首问负责
                       kv(t("office.cases.advanced"), f"{c['amount_advanced']:,.2f}"
                          if c.get("amount_advanced") else None),
                       kv(t("office.cases.handled_by"), t(f"handler.{c['handled_by']}")
                          if c.get("handled_by") else None),
                       kv(t("office.cases.first_receiver"), d.first_receiver_name),
                       kv(t("office.cases.passed_to"), c.get("transfer_to")),
                       kv(t("office.cases.reply"), " · ".join(
                           x for x in (c.get("reply_date") or "", c.get("complainant_reply") or "")
                           if x) or None),
                       kv(t("office.cases.complainant"),
                          " ".join(str(c.get(k) or "") for k in (
                              "complainant_name", "complainant_phone",
                              "complainant_id_number")).strip()),
                       kv(t("office.cases.due"), due_text(t, d)),
                       *([documents_button(app, case_documents(  # --- #17 documents ---
                           case_id, c.get("title") or c.get("employer") or ""))]
                         if c.get("status") in ("resolved", "closed") else []))
        allowed = d.allowed_events
        buttons[:] = [ft.OutlinedButton(
            t(f"event.{k}"), on_click=safe(app, close_form if k == "close" else event_form(k)))
            for k in allowed]
        actions = section(t("office.cases.actions"),
                          ft.Row([hook(f"office-event-{k}", b) for k, b in zip(allowed, buttons, strict=True)],
                                 wrap=True) if buttons
                          else ft.Text(t("office.cases.no_actions")))
        rows = [await timeline_row(ev) for ev in d.events]
        timeline = section(t("office.cases.timeline"), *rows or [ft.Text(t("office.empty"))])
        return [result_banner(done.get("note")), head, actions, timeline]

    return later(app, office_page(app, f"/office/case/{case_id}", t("office.cases.title"), [box],
                                  back="/office/cases"), box, build)
