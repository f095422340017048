"""风险预警: the office's risk list (农民工工资支付监控预警) and the 复查 tasks,
overdue ones in red; 标记已处理 and 延期 for the office (#17 warnings)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import flet as ft

from shared_schema.office import ReinspectionView, RiskWarningView

from ...kit.rules import UiError
from ...kit.widgets import PAD, fmt_time, hook, section
from ..viewmodels.risk import reason_words
from .frame import (busy, dropdown, error_words, later, loading, office_page, refill,
                    refilterer, result_banner, safe, with_client)

if TYPE_CHECKING:
    from ..shell import OfficeApp

LEVEL_COLORS = {"high": ft.Colors.RED_700, "medium": ft.Colors.ORANGE_700}


def risk_view(app: "OfficeApp") -> ft.View:
    t = app.t
    state = app.state.risk
    can = app.role == "office"
    names = app.session.villages
    box = ft.Column([loading(app)], spacing=10, horizontal_alignment=ft.CrossAxisAlignment.STRETCH)

    def warning_card(n: int, w: RiskWarningView) -> ft.Control:
        reasons = "；".join(reason_words(t, r) for r in w.reasons) or "—"
        lines: list[ft.Control] = [
            ft.Row([ft.Text(w.site_name or "—", size=15, weight=ft.FontWeight.BOLD),
                    ft.Text(t(f"risk.level.{w.level}") if w.level else "—",
                            color=LEVEL_COLORS.get(w.level or ""), weight=ft.FontWeight.BOLD),
                    ft.Text(names.get(w.village_id or "", ""), size=12,
                            color=ft.Colors.GREY_700)], wrap=True, spacing=10),
            ft.Text(reasons, size=13),
            ft.Text(t("office.risk.raised", when=fmt_time(w.raised_at),
                      who=w.inspector_name or "—"), size=12, color=ft.Colors.GREY_700)]
        if w.state == "handled":
            lines.append(ft.Text(t("office.risk.handled", when=fmt_time(w.handled_at),
                                   note=w.handled_note or "—"), size=12,
                                 color=ft.Colors.GREEN_800))
        elif can:
            note_text, case_text = state.notes.get(w.id, ("", ""))
            note = ft.TextField(label=t("office.risk.note"), value=note_text, dense=True,
                                width=420, max_length=500)
            case = ft.TextField(label=t("office.risk.case_id"), value=case_text, dense=True,
                                width=260)

            def keep(e: Any, wid: str = w.id, a: ft.TextField = note, b: ft.TextField = case
                     ) -> None:
                state.notes[wid] = (a.value or "", b.value or "")
            note.on_change = keep
            case.on_change = keep
            button = ft.FilledButton(t("office.risk.handle"), icon=ft.Icons.TASK_ALT)

            async def handle(e: Any, wid: str = w.id) -> None:
                note_v, case_v = state.notes.get(wid, ("", ""))
                try:
                    await busy(app, [button, note, case], with_client(
                        app, lambda api: state.handle(api, wid, note_v, case_v)))
                    state.result, state.error = t("office.risk.done"), False
                except Exception as exc:  # shown on the screen, typed text kept
                    state.result, state.error = error_words(t, exc), True
                await refill(app, box, build)
            button.on_click = safe(app, handle)
            lines.append(ft.Row([hook(f"office-risk-note-{n}", note),
                                 hook(f"office-risk-case-{n}", case),
                                 hook(f"office-risk-handle-{n}", button)], wrap=True))
        return hook(f"office-risk-{n}", ft.Container(
            ft.Column(lines, spacing=4), padding=PAD, border_radius=8,
            bgcolor=ft.Colors.ORANGE_50 if w.state == "open" else ft.Colors.WHITE))

    def task_row(n: int, task: ReinspectionView) -> ft.Control:
        color = ft.Colors.RED_800 if task.overdue else None
        lines: list[ft.Control] = [
            ft.Row([ft.Text(task.site_name or "—", size=14, weight=ft.FontWeight.BOLD),
                    ft.Text(t(f"task_state.{task.state}") if task.state else "—", size=12),
                    ft.Text(t("office.risk.overdue") if task.overdue else "", size=12,
                            color=ft.Colors.RED_700, weight=ft.FontWeight.BOLD)],
                   wrap=True, spacing=10),
            ft.Text(t("office.risk.task", items="、".join(task.items) or "—",
                      due=task.due_date or "—", who=task.responsible_name or "—"),
                    size=13, color=color)]
        if task.rectification:
            lines.append(ft.Text(task.rectification, size=12, color=ft.Colors.GREY_800))
        if can and task.state != "closed":
            due_text, note_text = state.notes.get(task.id, ("", ""))
            due = ft.TextField(label=t("office.risk.new_due"), value=due_text, dense=True,
                               width=180, hint_text="2026-12-31")
            note = ft.TextField(label=t("office.risk.note"), value=note_text, dense=True,
                                width=360, max_length=500)

            def keep(e: Any, tid: str = task.id, a: ft.TextField = due, b: ft.TextField = note
                     ) -> None:
                state.notes[tid] = (a.value or "", b.value or "")
            due.on_change = keep
            note.on_change = keep
            button = ft.OutlinedButton(t("office.risk.extend"), icon=ft.Icons.EVENT)

            async def extend(e: Any, tid: str = task.id, field: ft.TextField = due) -> None:
                due_v, note_v = state.notes.get(tid, ("", ""))
                try:
                    await busy(app, [button, due, note], with_client(
                        app, lambda api: state.extend(api, tid, due_v, note_v)))
                    state.result, state.error = t("office.risk.extended"), False
                except UiError:
                    field.error = t("err.date_format")
                    app.page.update()
                    return
                except Exception as exc:
                    state.result, state.error = error_words(t, exc), True
                await refill(app, box, build)
            button.on_click = safe(app, extend)
            lines.append(ft.Row([hook(f"office-task-due-{n}", due), note,
                                 hook(f"office-task-extend-{n}", button)], wrap=True))
        return hook(f"office-task-{n}", ft.Container(
            ft.Column(lines, spacing=4), padding=PAD, border_radius=8,
            bgcolor=ft.Colors.RED_50 if task.overdue else ft.Colors.WHITE))

    async def build() -> list[ft.Control]:
        await with_client(app, state.load)
        warnings = [warning_card(n, w) for n, w in enumerate(state.warnings)]
        tasks = [task_row(n, x) for n, x in enumerate(state.tasks)]
        return [
            result_banner(state.result, state.error),
            hook("office-risk-list", section(
                t("office.risk.warnings", n=state.open_count),
                *(warnings or [ft.Text(t("none"), size=13)]))),
            hook("office-reinspections", section(
                t("office.risk.tasks", n=state.overdue_count),
                *(tasks or [ft.Text(t("none"), size=13)]))),
        ]

    refilter = refilterer(app, box, build, state.filters)
    bar = ft.Row([
        dropdown(t("office.risk.state"), state.filters.state,
                 [("open", t("office.risk.state_open")),
                  ("handled", t("office.risk.state_handled"))], app, refilter("state")),
        dropdown(t("office.review.village"), state.filters.village,
                 sorted(names.items(), key=lambda kv_: kv_[1]), app, refilter("village")),
        dropdown(t("office.risk.level"), state.filters.level,
                 [("high", t("risk.level.high")), ("medium", t("risk.level.medium"))], app,
                 refilter("level")),
        dropdown(t("office.risk.overdue_only"), state.filters.overdue,
                 [("true", t("yes")), ("false", t("no"))], app, refilter("overdue")),
    ], wrap=True)
    return later(app, office_page(app, "/office/risk", t("office.risk.title"), [bar, box]),
                 box, build)
