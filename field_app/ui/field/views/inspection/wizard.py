"""The inspection wizard's screen: the header (counts, headcounts, GPS), the
step chips, one step's item cards, 其余全部符合, the review banner, 上一步 /
下一步 / 提交 and the list of what is missing on submit."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import flet as ft

from ....kit.widgets import BIG, PAD, SECONDARY, fmt_time, hook, kv
from ...viewmodels import STALE_FIX_MS, InspectionVM, money, review_label, strip_emoji, waiting
from ...viewmodels.followup import stash_case_draft
from ..common import age_text, locate, page_view, replaced_banner
from .autosave import Autosave
from .item_card import ItemCard

if TYPE_CHECKING:
    from ...shell import FieldApp


def _n(v: Any) -> str:
    return "—" if v is None else str(v)


def inspection_view(app: "FieldApp", insp_id: str) -> ft.View:
    return Wizard(app, insp_id).view


class Wizard:
    def __init__(self, app: "FieldApp", insp_id: str) -> None:
        self.app, self.t, self.lang = app, app.t, app.t.lang
        self.insp_id = insp_id
        self.vm = InspectionVM(app.device, insp_id, invalid=app.typed.setdefault(insp_id, {}))
        self.drawn = 0  # draws so far: part of the item cards' scroll keys
        self.saves = Autosave(self.saved, lambda exc: app.toast(app.error_text(exc), error=True))
        self.step_box = ft.Column(spacing=10)
        self.steps_row = ft.Row(spacing=6, scroll=ft.ScrollMode.AUTO)
        self.progress = ft.Text("", size=13)
        self.gps = ft.Text("", size=12, color=ft.Colors.GREY_700)
        self.heads = ft.Text("", size=13, weight=ft.FontWeight.W_600)
        self.rest_btn = ft.OutlinedButton("", icon=ft.Icons.DONE_ALL, height=SECONDARY,
                                          on_click=app.safe(self.confirm_rest))
        self.rest_box = hook("rest-compliant", self.rest_btn)
        t, vm = self.t, self.vm
        self.prev_btn = ft.OutlinedButton(t("prev"), on_click=app.safe(lambda e: self.move(-1)),
                                          height=BIG)
        self.next_btn = ft.OutlinedButton(t("next"), on_click=app.safe(lambda e: self.move(1)),
                                          height=BIG)
        submit_btn = hook("inspection-submit", ft.FilledButton(
            t("insp.submit"), icon=ft.Icons.SEND, on_click=app.safe(self.submit), height=BIG,
            disabled=vm.read_only), expand=True)
        self.risk_box = ft.Container(padding=PAD, bgcolor=ft.Colors.ORANGE_50, border_radius=8)
        # the hook is what hides: a Semantics needs visible content
        self.risk_hook = hook("risk-warning", self.risk_box, visible=False)
        self.draw()
        title = vm.template.title.zh if self.lang == "zh" else vm.template.title.en
        body = [
            ft.Text(vm.site.get("name") or "", size=17, weight=ft.FontWeight.BOLD),
            ft.Text(title, size=13, color=ft.Colors.GREY_700),
            ft.Row([self.progress], wrap=True),
            ft.Row([ft.Icon(ft.Icons.GPS_FIXED, size=16), hook("gps-status", self.gps),
                    hook("gps-refresh", ft.TextButton(t("gps.refresh"), height=SECONDARY,
                                                      on_click=app.safe(self.refresh_gps),
                                                      disabled=vm.read_only))],
                   wrap=True, spacing=4),
            *self.review_banner(),
            *self.reinspection_banner(),
            *replaced_banner(app, "inspection", insp_id, self.item_label),
            *self.header_fields(),
            self.risk_hook,
            ft.Text(t("insp.read_only"), color=ft.Colors.RED_700,
                    visible=vm.read_only and not vm.returned),
            self.steps_row,
            self.step_box,
        ]
        if not vm.read_only and app.locator is not None:
            app.page.run_task(self.locate_on_open)
        bottom = ft.Row([hook("wizard-prev", self.prev_btn), hook("wizard-next", self.next_btn),
                         submit_btn], spacing=6)
        self.view = page_view(app, f"/inspection/{insp_id}", t("insp.title"), body,
                              back=f"/site/{vm.record.get('site_id')}", bottom=bottom)

    # --- drawing ---------------------------------------------------------------------------
    def err_text(self, err: Any) -> str:
        return self.t(err.key, **{k: v[self.lang] if isinstance(v, dict) else v
                                  for k, v in err.args.items()})

    def gps_text(self) -> str:
        """The stored location (what the office sees), else 未定位, with a
        cached older fix named stale with its age."""
        app, t = self.app, self.t
        now = app.device.settings.now_ms()
        cached = None
        if app.fix is not None and app.fix_at and now - app.fix_at > STALE_FIX_MS:
            cached = (app.fix.lat, app.fix.lon, app.fix.accuracy, app.fix_at)
        g = self.vm.gps(now, cached)
        if g.state == "saved":
            self.gps.color = ft.Colors.GREEN_800
            return t("gps.saved", lat=f"{g.lat:.5f}", lon=f"{g.lon:.5f}",
                     acc=f"{g.accuracy:.0f}" if g.accuracy is not None else "?",
                     when=fmt_time(g.at)[11:] if g.at else "—")
        self.gps.color = ft.Colors.RED_700
        if g.state == "stale":
            return t("gps.stale", age=age_text(t, g.age_ms or 0))
        return t("gps.missing")

    def header(self) -> None:
        t, vm = self.t, self.vm
        self.progress.value = t("insp.counts", done=vm.answered(), total=len(vm.template.items),
                                missing=len(vm.missing()), photos=vm.photos_taken(),
                                required=vm.photos_required())
        h = vm.headcounts()
        self.heads.value = t("insp.heads", on_site=_n(h["on_site"]),
                             real_name=_n(h["real_name"]), contracts=_n(h["contracts"]))
        self.gps.value = self.gps_text()
        rest = vm.rest_compliant(vm.step)
        self.rest_btn.content = t("insp.rest_compliant", n=len(rest))
        self.rest_box.visible = bool(rest) and not vm.read_only
        self.draw_risk()
        self.steps_row.controls = [
            ft.Chip(label=ft.Text(f"{i + 1}. {s.label[self.lang]}"
                                  + (f" ({vm.step_missing(i)})" if vm.step_missing(i) else " ✓"),
                                  size=12),
                    selected=i == vm.step, on_select=self.app.safe(self.goto(i)))
            for i, s in enumerate(vm.steps)]

    def saved(self) -> None:
        """After a delayed save: the counts, the chip and the page."""
        self.header()
        self.app.refresh_chip()
        self.app.page.update()

    def draw(self) -> None:
        vm = self.vm
        self.drawn += 1
        step = vm.steps[vm.step]
        cards: list[ft.Control] = [ft.Text(step.label[self.lang], size=17,
                                           weight=ft.FontWeight.BOLD)]
        if any(i.headcount for i in step.items):
            cards.append(ft.Container(self.heads, padding=PAD, bgcolor=ft.Colors.AMBER_50,
                                      border_radius=8))
        if not vm.read_only:
            cards.append(self.rest_box)
        cards += [ItemCard(self, i).box for i in step.items]
        self.step_box.controls = cards
        self.prev_btn.disabled = vm.step == 0
        self.next_btn.disabled = vm.step >= len(vm.steps) - 1
        self.header()

    def no_emoji(self, control: Any) -> str:
        """The field's text without emoji (the phone's font cannot show them):
        removed from the field at once, with a word why."""
        clean, removed = strip_emoji(control.value or "")
        if removed:
            control.value = clean
            self.app.toast(self.t("emoji.removed"))
        return clean.strip()

    def item_label(self, field: str) -> str:
        code = field.split(".")[-1]
        item = self.vm.template.item(code)
        return f"{code} {getattr(item.label, self.lang)}" if item else field

    def review_banner(self) -> list[ft.Control]:
        """The reviewer's word on the inspection itself; a returned one offers
        修改后重新提交 (a new revision of the same inspection)."""
        app, t, vm = self.app, self.t, self.vm
        r = vm.record
        label = review_label(r, waiting(app.device, "inspection", vm.id))
        if vm.returned and (r.get("state") == "draft" or label == "review.rejected"):
            rows: list[ft.Control] = [ft.Text(
                t("insp.returned", comment=r.get("review_comment") or "—"), size=14,
                weight=ft.FontWeight.W_600, color=ft.Colors.RED_900)]
            if vm.can_reopen():
                rows.append(hook("inspection-reopen", ft.FilledButton(
                    t("insp.reopen"), icon=ft.Icons.EDIT, height=SECONDARY,
                    on_click=app.safe(self.reopen))))
            return [hook("inspection-review", ft.Container(
                ft.Column(rows, spacing=6), padding=PAD, bgcolor=ft.Colors.RED_50,
                border_radius=8))]
        if label:
            text = t("insp.review_state", state=t(label))
            if r.get("review_comment"):
                text += " · " + t("site.review_comment", comment=r["review_comment"])
            return [hook("inspection-review", ft.Text(text, size=13,
                                                      color=ft.Colors.GREY_800))]
        return []

    # --- #17 warnings: the header, the 复查 task, risk and a case on the spot ---------------
    def header_fields(self) -> list[ft.Control]:
        """The checklist header (v2): the site's facts, and the fields typed
        here (同行巡查人员, 分包单位), saved as they are typed."""
        app, t, vm = self.app, self.t, self.vm
        rows: list[ft.Control] = []
        for h in vm.header_rows():
            label = h.label[self.lang]
            if not h.editable:
                shown = money(h.value) if h.field == "contract_amount" and h.value else h.value
                rows.append(kv(label, shown))
                continue
            field = ft.TextField(label=label, value=h.value or "", dense=True,
                                 disabled=vm.read_only, max_length=200)

            def typed(e: Any, name: str = h.field) -> None:
                text = self.no_emoji(e.control)
                self.saves.later(f"header.{name}", lambda: vm.set_header(name, text))
            field.on_change = app.safe(typed)
            rows.append(hook(f"header-{h.field}", field))
        if not rows:
            return []
        return [ft.ExpansionTile(title=ft.Text(t("insp.header"), size=14), controls=rows,
                                 expanded=not vm.read_only and vm.step == 0)]

    def reinspection_banner(self) -> list[ft.Control]:
        task = self.vm.reinspection_task()
        if not task:
            return []
        text = self.t("insp.reinspection_of", items="、".join(task.get("items") or []) or "—",
                      due=task.get("due_date") or "—")
        return [hook("inspection-reinspection", ft.Container(
            ft.Text(text, size=13), padding=PAD, bgcolor=ft.Colors.BLUE_50, border_radius=8))]

    def draw_risk(self) -> None:
        """What the answers reveal, and 当场登记案件 (the new-case form, prefilled)."""
        app, t, vm = self.app, self.t, self.vm
        found = vm.risk()
        self.risk_hook.visible = found.risky
        if not found.risky:
            return
        reasons = "、".join(t(f"risk.reason.{r.code}") for r in found.reasons)
        rows: list[ft.Control] = [ft.Text(
            t("insp.risk_found", level=t(f"risk.level.{found.level}"), reasons=reasons),
            size=13, weight=ft.FontWeight.W_600, color=ft.Colors.ORANGE_900)]
        if not vm.read_only:
            rows.append(hook("risk-open-case", ft.FilledButton(
                t("insp.open_case_now"), icon=ft.Icons.REPORT, height=SECONDARY,
                on_click=app.safe(self.open_case_now))))
        self.risk_box.content = ft.Column(rows, spacing=6)

    async def open_case_now(self, e: Any = None) -> None:
        await self.saves.flush()
        await self.app.go(stash_case_draft(self.app.typed, self.vm.case_draft()))

    # --- moving between steps --------------------------------------------------------------
    def goto(self, i: int) -> Callable[[Any], Any]:
        async def handler(e: Any) -> None:
            await self.saves.flush()
            self.vm.step = i
            self.draw()
            self.app.page.update()
            await self.to_top()
        return handler

    def scroller(self) -> ft.Column | None:
        first = self.view.controls[0] if self.view.controls else None
        return first if isinstance(first, ft.Column) and first.page is not None else None

    async def to_top(self) -> None:
        scroller = self.scroller()
        if scroller is not None:
            await scroller.scroll_to(offset=0, duration=0)

    async def move(self, delta: int) -> None:
        await self.saves.flush()
        self.vm.step = max(0, min(len(self.vm.steps) - 1, self.vm.step + delta))
        self.draw()
        self.app.page.update()
        await self.to_top()

    def jump(self, code: str) -> Callable[[Any], Any]:
        async def handler(e: Any) -> None:
            self.app.page.pop_dialog()
            step = self.vm.step_of(code)
            if step is None:
                return
            self.vm.step = step
            self.draw()
            self.app.page.update()
            scroller = self.scroller()
            if scroller is not None:
                await scroller.scroll_to(scroll_key=f"item-{code}-{self.drawn}", duration=0)
        return handler

    # --- actions ---------------------------------------------------------------------------
    def confirm_rest(self, e: Any) -> None:
        app, t, vm = self.app, self.t, self.vm
        codes = vm.rest_compliant(vm.step)

        async def go(ev: Any) -> None:
            app.page.pop_dialog()
            vm.answer_rest_compliant(vm.step)
            self.draw()
            app.refresh_chip()
            app.page.update()

        app.page.show_dialog(ft.AlertDialog(
            title=ft.Text(t("insp.rest_compliant_title")),
            content=ft.Text(t("insp.rest_compliant_confirm", n=len(codes),
                              codes="、".join(codes))),
            actions=[ft.TextButton(t("cancel"), on_click=lambda ev: app.page.pop_dialog()),
                     hook("rest-compliant-confirm", ft.FilledButton(
                         t("insp.rest_compliant_ok"), on_click=app.safe(go)))]))

    async def refresh_gps(self, e: Any) -> None:
        app, t, vm = self.app, self.t, self.vm
        fix = await locate(app)
        if fix is None:
            app.toast(t("gps.unavailable"), error=True)
            return
        saved = vm.note_fix(fix.lat, fix.lon, fix.accuracy, app.fix_at)
        if saved:
            app.toast(t("gps.updated"))
        elif not vm.read_only:
            app.toast(t("gps.kept", acc=f"{fix.accuracy:.0f}" if fix.accuracy is not None
                        else "?", best=f"{vm.record.get('accuracy_m'):.0f}"))
        self.header()
        app.refresh_chip()
        app.page.update()

    async def locate_on_open(self) -> None:
        """The wizard looks for a fix as soon as it opens (a draft only)."""
        app = self.app
        try:
            fix = await locate(app)
            if fix is not None and self.vm.note_fix(fix.lat, fix.lon, fix.accuracy, app.fix_at):
                self.header()
                app.refresh_chip()
                app.page.update()
        except Exception:  # background: the page may be gone
            pass

    async def reopen(self, e: Any) -> None:
        self.vm.reopen()
        self.app.toast(self.t("insp.reopened"))
        await self.app.rerender()

    async def submit(self, e: Any) -> None:
        app, t, vm = self.app, self.t, self.vm
        await self.saves.flush()
        missing = vm.submit()
        if missing:
            lines = []
            for m in missing:
                item = vm.template.item(m["item_code"])
                label = getattr(item.label, self.lang) if item else ""
                lines.append(hook(f"missing-{m['item_code']}-{m['reason']}", ft.TextButton(
                    f"{m['item_code']} {label}: {t('reason.' + m['reason'])}",
                    on_click=app.safe(self.jump(m["item_code"])),
                    style=ft.ButtonStyle(alignment=ft.Alignment.CENTER_LEFT,
                                         padding=ft.Padding.symmetric(horizontal=4)),
                    height=44)))
            app.page.show_dialog(ft.AlertDialog(
                title=ft.Text(t("insp.missing_title", n=len(missing))),
                content=hook("inspection-missing", ft.Column(lines, tight=True,
                                                             scroll=ft.ScrollMode.AUTO,
                                                             height=360)),
                actions=[ft.TextButton(t("ok"), on_click=lambda ev: app.page.pop_dialog())]))
            return
        app.typed.pop(self.insp_id, None)
        app.toast(t("insp.submitted"))
        app.sync_soon()  # online: sent at once, not at the next timer tick
        await app.go(f"/site/{vm.record.get('site_id')}")
