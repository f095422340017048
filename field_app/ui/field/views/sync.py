"""The sync screen: what waits, what was refused, a sync by hand."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import flet as ft


from ...kit.widgets import BIG, fmt_time, hook, section
from ..viewmodels import (
    forms_text,
    queue_forms,
    sync_problem,
    quarantine_changes,
)
from .common import page_view

if TYPE_CHECKING:
    from ..shell import FieldApp

# --------------------------------------------------------------------------------------
# Sync


def sync_view(app: "FieldApp") -> ft.View:
    t = app.t
    st = app.device.status()
    records_bar = ft.ProgressBar(value=0, height=10)
    photos_bar = ft.ProgressBar(value=0, height=10)
    records_label = ft.Text("", size=12)
    photos_label = ft.Text("", size=12)
    summary = ft.Text("", size=14)
    counts = ft.Text("", size=14)
    problem = ft.Text("", size=14, weight=ft.FontWeight.BOLD, color=ft.Colors.RED_700)
    last_good = ft.Text("", size=13)
    problem_box = hook("sync-problem", problem)

    def queue_text() -> str:
        now = app.device.status()
        forms = queue_forms(app.device)
        text = t("sync.queue", forms=forms_text(t, forms)) if forms else t("sync.queue_empty")
        if now.quarantined:
            text += " · " + t("sync.refused", n=now.quarantined)
        return text
    receipt_box = ft.Column(spacing=4)

    def show_progress() -> None:
        s = app.sync.state
        records_bar.value = s.records_fraction
        photos_bar.value = s.bytes_fraction
        if not s.running:  # never an endless "working" bar once it is over
            done = 1.0 if s.report is not None and s.report.ok else 0.0
            records_bar.value = done if records_bar.value is None else records_bar.value
            photos_bar.value = done if photos_bar.value is None else photos_bar.value
            if s.report is not None and not s.report.ok:
                records_bar.value = photos_bar.value = 0.0
        if s.running and s.records_total:
            records_label.value = t("sync.records", done=s.records_done,
                                    total=s.records_total,
                                    phase=t(f"phase.{s.phase}") if s.phase else "")
        elif s.running:
            records_label.value = t(f"phase.{s.phase}") if s.phase else ""
        else:  # never "记录 0/?" once it is over
            records_label.value = t("sync.records_done") if s.report and s.report.ok else ""
        photos_label.value = t("sync.photos", done=_kb(s.bytes_done),
                               total=_kb(s.bytes_total)) if s.bytes_total else ""
        if s.report is not None:
            r = s.report
            text = t("sync.summary", pushed=r.pushed, pulled=r.pulled,
                     photos=r.photos_uploaded, rejected=r.rejected, conflicts=r.conflicts)
            summary.value = text
            summary.color = ft.Colors.GREEN_800 if r.ok else ft.Colors.GREY_800
        now = app.device.status()
        key = sync_problem(s.report) if s.report is not None else (
            "sync.offline" if now.last_sync_ok is False else None)
        problem.value = t(key) if key else ""
        problem_box.visible = bool(key)  # the hook, not its content (Semantics needs one)
        last_good.value = t("sync.last_good", when=fmt_time(now.last_good_sync_ms)
                            if now.last_good_sync_ms else t("sync.never"))
        counts.value = queue_text()
        try:
            app.page.update()
        except Exception:  # page may be gone
            pass

    async def sync_now(e: Any) -> None:
        report = await app.run_sync(show_progress)
        if report.login_required:
            app.toast(t("sync.login_required"), error=True)
            await app.go("/login")
            return
        app.toast(t("sync.done") if report.ok else t(sync_problem(report) or "sync.offline"),
                  error=not report.ok)
        await app.rerender()

    async def receipt(e: Any) -> None:
        r = await asyncio.to_thread(app.device.receipt)
        receipt_box.controls = [
            ft.Text(t("receipt.safe") if r.safe_to_wipe else t("receipt.not_safe"),
                    size=15, weight=ft.FontWeight.BOLD,
                    color=ft.Colors.GREEN_800 if r.safe_to_wipe else ft.Colors.RED_700),
            ft.Text(t("receipt.counts", acked=r.local_acknowledged, rejected=r.local_rejected,
                      pending=r.pending_mutations, photos=r.photos_uploaded,
                      missing=len(r.photos_not_on_server)), size=13),
            *[ft.Text(p, size=12, color=ft.Colors.RED_700) for p in r.problems]]
        app.page.update()

    def q_tile(q: Any) -> ft.Control:
        def retry(e: Any) -> None:
            inputs = {k: ft.TextField(label=k, value="" if v is None else str(v), dense=True)
                      for k, v in q.fields.items() if not isinstance(v, (dict, list))}

            async def go(ev: Any) -> None:
                changes = quarantine_changes(q.fields, {k: c.value or "" for k, c in
                                                        inputs.items()})
                app.device.retry_quarantined(q.id, **changes)
                app.page.pop_dialog()
                app.toast(t("quarantine.retried"))
                await app.rerender()

            app.page.show_dialog(ft.AlertDialog(
                title=ft.Text(t("quarantine.fix")),
                content=ft.Column([ft.Text(f"{q.code}: {t.error(q.code, q.message)}", size=13),
                                   *inputs.values()], tight=True, scroll=ft.ScrollMode.AUTO),
                actions=[ft.TextButton(t("cancel"), on_click=lambda ev: app.page.pop_dialog()),
                         ft.FilledButton(t("quarantine.retry"), on_click=app.safe(go))]))

        def discard(e: Any) -> None:
            async def go(ev: Any) -> None:
                app.device.discard_quarantined(q.id, confirm=True)
                app.page.pop_dialog()
                await app.rerender()

            app.page.show_dialog(ft.AlertDialog(
                title=ft.Text(t("quarantine.discard_title")),
                content=ft.Text(t("quarantine.discard_warning")),
                actions=[ft.TextButton(t("cancel"), on_click=lambda ev: app.page.pop_dialog()),
                         ft.FilledButton(t("quarantine.discard"), on_click=app.safe(go))]))

        what = t(f"entity.{q.entity}") if q.entity else t("entity.photo")
        return ft.Container(ft.Column([
            ft.Text(f"{what} · {q.code}", size=14, weight=ft.FontWeight.W_600),
            ft.Text(t.error(q.code, q.message), size=12),
            ft.Row([ft.TextButton(t("quarantine.fix"), on_click=app.safe(retry)),
                    ft.TextButton(t("quarantine.discard"), on_click=app.safe(discard))])],
            spacing=2), padding=ft.Padding.all(8), bgcolor=ft.Colors.ORANGE_50, border_radius=6)

    quarantine = app.device.quarantine()
    body = [
        section(t("sync.title"), hook("sync-queue", counts), problem_box,
                hook("sync-last-good", last_good),
                ft.Text(t("sync.server", url=st.server_url or "—"), size=12,
                        color=ft.Colors.GREY_700),
                hook("sync-now", ft.FilledButton(t("sync.now"), icon=ft.Icons.SYNC,
                                                 on_click=app.safe(sync_now), height=BIG)),
                records_label, records_bar, photos_label, photos_bar,
                hook("sync-summary", summary)),
        section(t("quarantine.title", n=len(quarantine)),
                *([q_tile(q) for q in quarantine] or [ft.Text(t("quarantine.empty"), size=13)])),
        section(t("receipt.title"), ft.OutlinedButton(t("receipt.check"),
                                                      on_click=app.safe(receipt)), receipt_box),
    ]
    view = page_view(app, "/sync", t("nav.sync"), body)
    show_progress()  # fills labels (the update inside is harmless before mounting)
    return view


def _kb(n: int) -> str:
    return f"{n / 1024:.0f} KB"
