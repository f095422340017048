"""One checklist item's card: its answer (yes/no buttons, a number, several
numbers or text), its value, its note, and its photos. Bad input shows under
its field at once and is never stored; good input is saved after a pause."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Protocol

import flet as ft

from ....kit.widgets import BIG, PAD, SECONDARY, hook
from ...viewmodels import InspectionVM
from ..common import TEXT_MAX, date_button
from .autosave import Autosave
from .photos import camera_dialog, photo_dialog, pick_photo

if TYPE_CHECKING:
    from ...shell import FieldApp

YES_NO = {"yes_no": ("yes", "no"), "yes_no_na": ("yes", "no", "na"),
          "yes_no_exempt": ("yes", "no", "exempt")}


class Wizard(Protocol):
    """What a card uses of its screen (``wizard.Wizard``)."""

    app: "FieldApp"
    t: Any
    lang: str
    vm: InspectionVM
    drawn: int
    saves: Autosave

    def header(self) -> None: ...

    def err_text(self, err: Any) -> str: ...

    def no_emoji(self, control: Any) -> str: ...

    async def open_case_now(self, e: Any = None) -> None: ...


class ItemCard:
    def __init__(self, wizard: Wizard, item: Any) -> None:
        self.w = wizard
        self.item = item
        # a key new on every draw: a key matching the previous draw's makes Flet
        # freeze the new controls ("Frozen controls cannot be updated" on typing)
        self.box = ft.Container(padding=PAD, bgcolor=ft.Colors.WHITE, border_radius=8,
                                key=ft.ScrollKey(f"item-{item.code}-{wizard.drawn}"))
        self.box.content = self.body()

    def redraw(self) -> None:
        self.box.content = self.body()
        self.w.header()
        self.w.app.page.update()

    def body(self) -> ft.Control:
        item, vm = self.item, self.w.vm
        entry = vm.entry(item.code)
        ans = entry.get("answer")
        rows: list[ft.Control] = [
            ft.Text(f"{item.code}  {getattr(item.label, self.w.lang)}", size=15,
                    weight=ft.FontWeight.W_600)]
        if item.basis:
            rows.append(ft.Text(item.basis, size=11, color=ft.Colors.GREY_600))
        if item.answer in YES_NO:
            rows.append(self.choices(ans))
        elif item.answer == "number":
            rows.append(self.number(ans))
        elif item.answer == "numbers":
            rows.append(self.numbers(ans))
        else:
            rows.append(self.text(ans))
        if item.value is not None:
            rows.append(self.value(entry))
        rows += self.note_and_tools(entry, ans)
        return ft.Column(rows, spacing=6, horizontal_alignment=ft.CrossAxisAlignment.STRETCH)

    # --- the answer ----------------------------------------------------------------------
    def choices(self, ans: Any) -> ft.Control:
        app, t, item = self.w.app, self.w.t, self.item

        def choose(choice: str) -> Callable[[Any], None]:
            def handler(e: Any) -> None:
                self.w.vm.answer(item.code, choice)
                self.redraw()
                app.refresh_chip()
            return handler

        buttons = []
        for c in YES_NO[item.answer]:
            selected = ans == c
            bad = selected and item.good is not None and c in ("yes", "no") and c != item.good
            style = ft.ButtonStyle(
                bgcolor=(ft.Colors.RED_600 if bad else ft.Colors.BLUE_700) if selected
                else ft.Colors.GREY_200,
                color=ft.Colors.WHITE if selected else ft.Colors.BLACK,
                shape=ft.RoundedRectangleBorder(radius=8))
            buttons.append(hook(f"ans-{item.code}-{c}", ft.FilledButton(
                ("✓ " if selected else "") + t(f"ans.{c}"), style=style, height=BIG,
                disabled=self.w.vm.read_only, on_click=app.safe(choose(c))), expand=True,
                selected=selected, button=True))
        return ft.Row(buttons, spacing=6)

    def number(self, ans: Any) -> ft.Control:
        w, item = self.w, self.item
        kept = w.vm.invalid.get(item.code)
        num = ft.TextField(
            label=w.t("insp.number"),
            value=kept.text if kept else ("" if ans is None else str(ans)),
            error=w.err_text(kept.error) if kept else None, error_max_lines=3,
            keyboard_type=ft.KeyboardType.NUMBER, disabled=w.vm.read_only, text_size=18)

        def typed(e: Any) -> None:
            text = e.control.value or ""
            err = w.vm.stage(item.code, text)  # checked at once, shown under the field
            num.error = w.err_text(err) if err else None
            if err is None and text.strip():
                w.saves.later(item.code, lambda: w.vm.answer_number(item.code, text))
            else:
                w.saves.cancel(item.code)  # the bad text is never stored
            w.header()
            w.app.page.update()
        num.on_change = w.app.safe(typed)
        return hook(f"num-{item.code}", num)

    def numbers(self, ans: Any) -> ft.Control:
        w, item = self.w, self.item
        current = dict(ans) if isinstance(ans, dict) else {}
        kept = w.vm.invalid.get(item.code)
        texts = dict(kept.text) if kept else {
            p.key: "" if current.get(p.key) is None else str(current[p.key])
            for p in item.parts}
        boxes = {p.key: ft.TextField(
            label=getattr(p.label, w.lang), value=texts.get(p.key, ""), disabled=w.vm.read_only,
            keyboard_type=ft.KeyboardType.NUMBER, error_max_lines=3)
            for p in item.parts}

        def show_parts(err: Any) -> None:
            first = item.parts[0].key
            for key, box in boxes.items():
                box.error = w.err_text(err) if err and (err.part or first) == key else None

        def typed_part(key: str) -> Callable[[Any], None]:
            def handler(e: Any) -> None:
                texts[key] = e.control.value or ""
                snapshot = dict(texts)
                err = w.vm.stage(item.code, snapshot)
                show_parts(err)
                if err is None and all(v.strip() for v in snapshot.values()):
                    w.saves.later(item.code, lambda: w.vm.answer_parts(item.code, snapshot))
                else:
                    w.saves.cancel(item.code)
                w.header()
                w.app.page.update()
            return handler

        show_parts(kept.error if kept else None)
        for key, box in boxes.items():
            box.on_change = w.app.safe(typed_part(key))
        return ft.Row([hook(f"num-{item.code}-{p.key}", boxes[p.key], expand=True)
                       for p in item.parts], spacing=6,
                      vertical_alignment=ft.CrossAxisAlignment.START)

    def text(self, ans: Any) -> ft.Control:
        w, item = self.w, self.item

        def typed_text(e: Any) -> None:
            text = w.no_emoji(e.control)
            if text:
                w.saves.later(item.code, lambda: w.vm.answer(item.code, text))
        return hook(f"txt-{item.code}", ft.TextField(
            label=w.t("insp.text"), value=ans or "", multiline=True, min_lines=2,
            max_length=TEXT_MAX, on_change=w.app.safe(typed_text), disabled=w.vm.read_only))

    # --- its value, note and tools -------------------------------------------------------
    def value(self, entry: dict[str, Any]) -> ft.Control:
        w, item = self.w, self.item
        ro = w.vm.read_only
        vkey = f"{item.code}.value"
        kept_value = w.vm.invalid.get(vkey)
        value = entry.get("value")
        val_box = ft.TextField(
            label=getattr(item.value.label, w.lang)
            + (" (YYYY-MM-DD)" if item.value.type == "date" else
               " (YYYY-MM)" if item.value.type == "month" else ""),
            value=kept_value.text if kept_value else ("" if value is None else str(value)),
            error=w.err_text(kept_value.error) if kept_value else None,
            dense=True, disabled=ro, max_length=TEXT_MAX if item.value.type == "text"
            else None,
            keyboard_type=ft.KeyboardType.NUMBER if item.value.type == "number" else None)

        def saved_value(text: str) -> Callable[[], None]:
            def save() -> None:
                err = w.vm.set_value(item.code, text)
                val_box.error = w.err_text(err) if err else None
            return save

        def typed_value(e: Any) -> None:
            w.saves.later(vkey, saved_value(e.control.value or ""))
        val_box.on_change = w.app.safe(typed_value)
        value_row: list[ft.Control] = [hook(f"val-{item.code}", val_box, expand=True)]
        if item.value.type == "date" and not ro:
            value_row.append(date_button(w.app, lambda d: (
                setattr(val_box, "value", d), saved_value(d)(), self.redraw())))
        return ft.Row(value_row, spacing=4, vertical_alignment=ft.CrossAxisAlignment.START)

    def note_and_tools(self, entry: dict[str, Any], ans: Any) -> list[ft.Control]:
        w, item, app, t = self.w, self.item, self.w.app, self.w.t
        ro = w.vm.read_only
        rows: list[ft.Control] = []
        note = ft.TextField(label=t("insp.note"), value=entry.get("note") or "", dense=True,
                            visible=bool(entry.get("note")), disabled=ro,
                            max_length=TEXT_MAX,
                            on_change=app.safe(lambda e: w.saves.later(
                                f"{item.code}.note",
                                (lambda text: lambda: w.vm.set_note(item.code, text))(
                                    w.no_emoji(e.control)))))

        def show_note(e: Any) -> None:
            note.visible = not note.visible
            app.page.update()

        if w.vm.failed(item.code) and not ro:
            # a failed answer asks for the evidence: a note and/or a photo
            note.visible = True
            rows.append(hook(f"failed-{item.code}", ft.Text(
                t("insp.failed_hint"), size=12, color=ft.Colors.RED_700)))
        rows.append(note)
        tools: list[ft.Control] = [ft.TextButton(t("insp.add_note"), icon=ft.Icons.NOTES,
                                                 on_click=app.safe(show_note), disabled=ro,
                                                 height=SECONDARY)]
        if item.code in w.vm.risk_items() and not ro:
            # a risky answer: the new-case form at once, prefilled (#17 warnings)
            tools.append(hook(f"arrears-{item.code}", ft.OutlinedButton(
                t("insp.arrears_lead"), icon=ft.Icons.REPORT, height=SECONDARY,
                on_click=app.safe(w.open_case_now))))
        if item.photo != "none":
            rows += self.photos(ans, tools)
        rows.append(ft.Row(tools, spacing=0, wrap=True))
        return rows

    def photos(self, ans: Any, tools: list[ft.Control]) -> list[ft.Control]:
        """The item's thumbnails and photo count; adds 拍照 / 相册 to ``tools``."""
        w, item, app, t = self.w, self.item, self.w.app, self.w.t
        ro = w.vm.read_only
        rows: list[ft.Control] = []
        photos = w.vm.photos(item.code)
        thumbs = []
        for n, p in enumerate(photos, start=1):
            path = w.vm.photo_file(p)
            if path is not None:
                thumbs.append(hook(f"photo-thumb-{item.code}-{n}", ft.Container(
                    ft.Image(src=path.read_bytes(), width=64, height=64,
                             fit=ft.BoxFit.COVER, border_radius=6),
                    on_click=app.safe(photo_dialog(app, w.vm, item, p, n, self.redraw)), ink=True,
                    border_radius=6), button=True,
                    label=t("photo.open", code=item.code, n=n)))
        need = item.photo == "required" and ans != "na" and not photos
        hint = getattr(item.photo_hint, w.lang) if item.photo_hint else ""
        rows.append(ft.Text(
            (t("insp.photo_required") if item.photo == "required" else t("insp.photo_optional"))
            + (f": {hint}" if hint else "") + f" ({len(photos)})", size=12,
            color=ft.Colors.RED_700 if need else ft.Colors.GREY_700))
        if thumbs:
            rows.append(ft.Row(thumbs, spacing=6, scroll=ft.ScrollMode.AUTO))

        async def from_files(e: Any) -> None:
            data = await pick_photo(app)
            if data is None:
                return
            w.vm.add_photo(data, item.code, caption=hint or None)
            app.toast(t("insp.photo_added"))
            self.redraw()

        async def from_camera(e: Any) -> None:
            await camera_dialog(app, lambda data: (w.vm.add_photo(data, item.code,
                                                                  caption=hint or None),
                                                   self.redraw()))

        tools += [
            hook(f"photo-cam-{item.code}", ft.TextButton(
                t("insp.camera"), icon=ft.Icons.PHOTO_CAMERA, disabled=ro,
                on_click=app.safe(from_camera), height=SECONDARY)),
            hook(f"photo-file-{item.code}", ft.TextButton(
                t("insp.gallery"), icon=ft.Icons.PHOTO_LIBRARY, disabled=ro,
                on_click=app.safe(from_files), height=SECONDARY)),
        ]
        return rows
