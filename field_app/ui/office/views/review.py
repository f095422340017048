"""The review queue and one inspection's page: answers as questions, photos,
the review decision (巡查审核)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import flet as ft

from shared_schema.entities import SITE_KINDS


from ...kit.widgets import PAD, badge, fmt_time, hook, section
from .. import viewmodels as vm
from ..viewmodels.risk import header_facts
from .frame import (FINAL_REVIEWS, REVIEW_COLORS, busy, refilterer,
                    dropdown, kv, later, loading, office_page, refill, result_banner, safe,
                    with_client)
from .reports import documents_button, inspection_documents  # --- #17 documents ---

if TYPE_CHECKING:
    from ..shell import OfficeApp

# --------------------------------------------------------------------------------------
# Review queue


def review_view(app: "OfficeApp") -> ft.View:
    t = app.t
    state = app.state.review
    villages = app.session.villages
    box = ft.Column([loading(app)], spacing=6)

    async def build() -> list[ft.Control]:
        await with_client(app, state.load)
        rows = [ft.Text(t("office.count", n=state.total), size=13, color=ft.Colors.GREY_700)]
        if not state.items:
            rows.append(ft.Text(t("office.empty")))
        for n, item in enumerate(state.items):
            rs = item.review_state or "pending"
            rows.append(hook(f"office-review-item-{n}", ft.Container(ft.Row([
                ft.Column([ft.Text(item.site_name or "—", size=15,
                                   weight=ft.FontWeight.BOLD),
                           ft.Text(f"{villages.get(item.village_id or '', '—')} · "
                                   f"{t('kind.' + (item.site_kind or 'other'))} · "
                                   f"{item.inspector_name or '—'} · "
                                   f"{fmt_time(item.submitted_at)}", size=12,
                                   color=ft.Colors.GREY_700)], spacing=2, expand=True),
                badge(t(f"review.{rs}"), REVIEW_COLORS.get(rs, ft.Colors.GREY_600)),
                ft.Icon(ft.Icons.CHEVRON_RIGHT)]), padding=PAD, bgcolor=ft.Colors.WHITE,
                border_radius=8, on_click=app.nav(f"/office/inspection/{item.id}")),
                button=True))
        return rows

    refilter = refilterer(app, box, build, state.filters)

    filters = ft.Row([
        dropdown(t("office.review.state"), state.filters.review_state,
                 [(s, t(f"review.{s}")) for s in vm.REVIEW_STATES], app, refilter("review_state")),
        dropdown(t("office.review.village"), state.filters.village, sorted(villages.items(),
                 key=lambda kv_: kv_[1]), app, refilter("village")),
        dropdown(t("office.review.kind"), state.filters.kind,
                 [(k, t(f"kind.{k}")) for k in SITE_KINDS], app, refilter("kind")),
        ft.IconButton(ft.Icons.REFRESH, tooltip=t("office.refresh"),
                      on_click=safe(app, lambda e: refill(app, box, build))),
    ], wrap=True)
    return later(app, office_page(app, "/office/review", t("office.review.title"),
                                  [filters, hook("office-review-list", box, container=True)]),
                 box, build)


def inspection_view(app: "OfficeApp", insp_id: str) -> ft.View:
    t = app.t
    box = ft.Column([loading(app)], spacing=10, horizontal_alignment=ft.CrossAxisAlignment.STRETCH)
    comment = ft.TextField(label=t("office.insp.comment"), multiline=True, min_lines=2)
    can_review = app.role == "office"
    blobs: dict[str, bytes] = {}  # photo bytes, fetched once per screen
    done: dict[str, str] = {}  # the outcome of the review made here
    buttons: list[ft.Control] = []

    def enlarge(data: bytes) -> Callable[[Any], None]:
        def handler(e: Any) -> None:
            app.page.show_dialog(ft.AlertDialog(
                content=ft.Image(src=data, width=900, height=640, fit=ft.BoxFit.CONTAIN),
                actions=[ft.TextButton(t("ok"), on_click=lambda ev: app.page.pop_dialog())]))
        return handler

    def decide(decision: str) -> Callable[[Any], Any]:
        async def handler(e: Any) -> None:
            body = vm.review_body(decision, comment.value or "")
            answer = await busy(app, buttons, with_client(app, lambda api: api.review(insp_id, body)))
            reg = answer.registry
            note = t("office.insp.reviewed", state=t(f"review.{decision}"))
            if reg is not None and reg.updated:
                note += " · " + t("office.insp.registry_updated")
            elif reg is not None and reg.reason == "newer_facts":
                note += " · " + t("office.insp.registry_kept")
            done["note"] = note
            comment.value = ""
            await refill(app, box, build)  # the new state, here: no navigation
        return handler

    async def photo(sha256: str) -> bytes:
        if sha256 not in blobs:
            blobs[sha256] = await with_client(app, lambda api: api.blob(sha256))
        return blobs[sha256]

    async def build() -> list[ft.Control]:
        d = await with_client(app, lambda api: api.inspection(insp_id))
        insp, site, author = d.inspection, d.site or {}, d.author
        rs = insp.get("review_state") or "pending"
        lat, lon = insp.get("lat"), insp.get("lon")
        gps = f"{lat:.6f}, {lon:.6f}" if lat is not None and lon is not None else "—"
        if insp.get("accuracy_m") is not None:
            gps += f" (±{insp['accuracy_m']:.0f} m)"
        head = section(site.get("name") or "—",
                       ft.Row([badge(t(f"review.{rs}"), REVIEW_COLORS.get(rs, ft.Colors.GREY_600))]),
                       kv(t("office.insp.author"),
                          f"{author.display_name or author.username or '—'} · "
                          f"{author.device_name or '—'} ({(author.device_id or '')[:8]})"),
                       kv(t("office.review.submitted"), fmt_time(insp.get("submitted_at"))),
                       kv(t("office.insp.gps"), gps),
                       # #17 warnings: the checklist header (v2) and the 复查 link
                       *[kv(label, value) for label, value in header_facts(insp, site, t.lang)],
                       *([hook("office-insp-reinspection", kv(
                           t("office.insp.reinspection"), t("yes")), container=True)]
                         if insp.get("reinspection_of") else []),
                       *([hook("office-review-comment", kv(
                           t("office.insp.comment"), insp.get("review_comment")), container=True)]
                         if insp.get("review_comment") else []),
                       *[kv(t(f"six.{k}"), {True: t("yes"), False: t("no")}.get(v, "—"))
                         for k, v in d.six_systems.items()])
        received = {p.sha256: p for p in d.photos if p.sha256}

        async def thumbs_of(shas: list[str], size: tuple[int, int]) -> list[ft.Control]:
            out: list[ft.Control] = []
            for sha in shas:
                if sha not in received or not received[sha].received:
                    out.append(ft.Text(t("office.insp.photo_missing"), size=12))
                    continue
                data = await photo(sha)
                out.append(ft.Container(ft.Image(src=data, width=size[0], height=size[1],
                                                 fit=ft.BoxFit.COVER),
                                        on_click=enlarge(data), ink=True, border_radius=4))
            return out

        rows = vm.answer_rows(d, t)
        failed = sum(1 for r in rows if r.failed)
        lines: list[ft.Control] = []
        group = None
        for r in rows:
            if r.group and r.group != group:
                group = r.group
                lines.append(ft.Text(group, size=14, weight=ft.FontWeight.BOLD,
                                     color=ft.Colors.BLUE_900))
            answer = ft.Row([ft.Icon(ft.Icons.CANCEL, size=16, color=ft.Colors.RED_700),
                             ft.Text(f"{t('office.insp.failed')} · {r.answer}", size=14,
                                     color=ft.Colors.RED_800, weight=ft.FontWeight.BOLD,
                                     expand=True)], spacing=4) if r.failed else ft.Text(
                r.answer, size=14)
            prev = ft.Text(t("office.insp.previous_was", text=r.previous), size=12, width=220,
                           color=ft.Colors.AMBER_900 if r.changed else ft.Colors.GREY_600
                           ) if d.previous else ft.Container(width=0)
            pics = await thumbs_of(list(r.photos), (80, 60))
            lines.append(hook(f"office-answer-{r.code}", ft.Container(ft.Row([
                ft.Text(r.code, size=12, color=ft.Colors.GREY_600, width=44),
                ft.Text(r.question, size=14, weight=ft.FontWeight.W_500, width=320),
                ft.Container(answer, expand=True), prev,
                ft.Row(pics, spacing=4, wrap=True, width=260) if pics else ft.Container(width=260),
            ], vertical_alignment=ft.CrossAxisAlignment.START),
                padding=ft.Padding.only(left=28 if r.sub else 8, top=4, right=8, bottom=4),
                border_radius=6,
                bgcolor=ft.Colors.RED_50 if r.failed else (
                    ft.Colors.AMBER_50 if r.changed else None)), container=True))
        answers = section(t("office.insp.answers"),
                          hook("office-failed-count", ft.Text(
                              t("office.insp.items_count", n=len(rows), failed=failed), size=13,
                              color=ft.Colors.RED_800 if failed else ft.Colors.GREEN_800,
                              weight=ft.FontWeight.BOLD), container=True),
                          *([] if d.previous else [ft.Text(t("office.insp.no_previous"),
                                                                  size=12)]),
                          *lines)
        loose = [p.sha256 for p in vm.loose_photos(d) if p.sha256]
        photos = section(t("office.insp.other_photos"),
                         ft.Row(await thumbs_of(loose, (140, 100)), wrap=True, spacing=8)) \
            if loose else ft.Container(height=0)
        open_ = can_review and rs not in FINAL_REVIEWS
        buttons[:] = [
            ft.FilledButton(t("office.insp.approve"), icon=ft.Icons.CHECK, disabled=not open_,
                            on_click=safe(app, decide("approved"))),
            ft.OutlinedButton(t("office.insp.has_issues"), icon=ft.Icons.REPORT,
                              disabled=not open_, on_click=safe(app, decide("has_issues"))),
            ft.OutlinedButton(t("office.insp.reject"), icon=ft.Icons.UNDO, disabled=not open_,
                              on_click=safe(app, decide("rejected")))]
        comment.disabled = not open_
        notes = [] if can_review else [ft.Text(t("office.insp.leader_readonly"))]
        if can_review and rs in FINAL_REVIEWS:
            notes.append(ft.Text(t("office.insp.final"), size=12, color=ft.Colors.GREY_700))
        actions = section(t("office.insp.comment"), hook("office-comment", comment), ft.Row([
            hook("office-approve", buttons[0]), hook("office-has-issues", buttons[1]),
            hook("office-reject", buttons[2]),
            documents_button(app, inspection_documents(  # --- #17 documents ---
                insp_id, failed > 0, "-".join(x for x in (site.get("name"), fmt_time(insp.get("submitted_at"))[:10]
                                                 if insp.get("submitted_at") else None) if x))),
            hook("office-back-to-queue", ft.TextButton(
                t("office.insp.back_to_queue"), icon=ft.Icons.LIST,
                on_click=app.nav("/office/review")))], wrap=True), *notes)
        return [result_banner(done.get("note")), head, actions, answers, photos]

    return later(app, office_page(app, f"/office/inspection/{insp_id}", t("office.insp.title"),
                                  [box], back="/office/review"), box, build)
