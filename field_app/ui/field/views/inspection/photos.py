"""The photo dialogs: a thumbnail opened full size (offline, from its file on
this phone) with delete / replace while the inspection is a draft, and the
camera preview."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import flet as ft

from field_app.core import DeviceError

from ....kit.rules import UiError
from ....kit.widgets import SECONDARY, hook
from ...viewmodels import InspectionVM

if TYPE_CHECKING:
    from ...shell import FieldApp


def photo_dialog(app: "FieldApp", vm: InspectionVM, item: Any, photo: dict[str, Any], n: int,
                 redraw: Callable[[], None]) -> Callable[[Any], Any]:
    """Tap a thumbnail: the photo full size from its file on this phone
    (offline), with 关闭; while the inspection is the author's draft also
    删除 (after a confirmation) and 重拍 / 从相册替换."""
    t = app.t

    def handler(e: Any) -> None:
        path = vm.photo_file(photo)
        if path is None:
            raise UiError("not_here", t("photo.not_here"))
        pid = photo["id"]

        def done(text: str) -> None:
            app.page.pop_dialog()
            app.toast(text)
            redraw()
            app.refresh_chip()

        def confirm_delete(ev: Any) -> None:
            async def go(ev2: Any) -> None:
                app.page.pop_dialog()  # the confirmation
                vm.delete_photo(pid)
                done(t("photo.deleted"))

            app.page.pop_dialog()  # the photo
            app.page.show_dialog(ft.AlertDialog(
                title=ft.Text(t("photo.delete_title")),
                content=ft.Text(t("photo.delete_confirm")),
                actions=[ft.TextButton(t("cancel"), height=SECONDARY,
                                       on_click=lambda ev2: app.page.pop_dialog()),
                         hook("photo-delete-confirm", ft.FilledButton(
                             t("photo.delete"), height=SECONDARY,
                             style=ft.ButtonStyle(bgcolor=ft.Colors.RED_700),
                             on_click=app.safe(go)))]))

        async def from_gallery(ev: Any) -> None:
            data = await pick_photo(app)
            if data is None:
                return
            vm.replace_photo(pid, data)
            done(t("photo.replaced"))

        async def from_camera(ev: Any) -> None:
            app.page.pop_dialog()
            await camera_dialog(app, lambda data: (vm.replace_photo(pid, data),
                                                   redraw()))

        actions: list[ft.Control] = []
        if vm.can_change_photos():
            actions += [
                hook("photo-delete", ft.TextButton(
                    t("photo.delete"), icon=ft.Icons.DELETE, height=SECONDARY,
                    style=ft.ButtonStyle(color=ft.Colors.RED_700),
                    on_click=app.safe(confirm_delete))),
                hook("photo-replace-camera", ft.TextButton(
                    t("photo.replace_camera"), icon=ft.Icons.PHOTO_CAMERA,
                    height=SECONDARY, on_click=app.safe(from_camera))),
                hook("photo-replace-file", ft.TextButton(
                    t("photo.replace_gallery"), icon=ft.Icons.PHOTO_LIBRARY,
                    height=SECONDARY, on_click=app.safe(from_gallery))),
            ]
        actions.append(hook("photo-close", ft.FilledButton(
            t("photo.close"), height=SECONDARY,
            on_click=lambda ev: app.page.pop_dialog())))
        caption = photo.get("caption") or ""
        app.page.show_dialog(ft.AlertDialog(
            title=ft.Text(t("photo.title", code=item.code) + f" · {n}", size=16),
            content=hook("photo-full", ft.Column([
                ft.Image(src=path.read_bytes(), width=340, height=440,
                         fit=ft.BoxFit.CONTAIN),
                ft.Text(caption, size=12, color=ft.Colors.GREY_700, visible=bool(caption)),
            ], tight=True, spacing=6)),
            actions=actions, actions_overflow_button_spacing=4,
            inset_padding=ft.Padding.all(12)))
    return handler


async def pick_photo(app: "FieldApp") -> bytes | str | None:
    """A photo from the gallery/files: its bytes or path (None: nothing was picked)."""
    if app.files is None:
        raise UiError("no_camera", "no file picker")
    picked = await app.files.pick()
    return None if picked is None else picked.content()


async def camera_dialog(app: "FieldApp", on_photo: Callable[[bytes], Any]) -> None:
    """Preview the back camera in a dialog; "take" stores the picture."""
    t = app.t
    try:
        import flet_camera as fc
    except ImportError:
        raise UiError("no_camera", t("insp.no_camera")) from None
    cam = fc.Camera(width=320, height=320, preview_enabled=True)

    async def take(e: Any) -> None:
        data = await cam.take_picture()
        app.page.pop_dialog()
        on_photo(bytes(data))
        app.toast(t("insp.photo_added"))

    app.page.show_dialog(ft.AlertDialog(
        title=ft.Text(t("insp.camera")), content=ft.Container(cam, width=320, height=320),
        actions=[ft.TextButton(t("cancel"), on_click=lambda e: app.page.pop_dialog()),
                 hook("camera-take", ft.FilledButton(t("insp.take"), on_click=app.safe(take)))]))
    try:
        cams = await cam.get_available_cameras()
        if not cams:
            raise UiError("no_camera", t("insp.no_camera"))
        back = next((c for c in cams if "back" in str(getattr(c, "lens_direction", ""))),
                    cams[0])
        await cam.initialize(back, fc.ResolutionPreset.HIGH, enable_audio=False)
    except DeviceError:
        app.page.pop_dialog()
        raise
    except Exception:  # no camera: say so, suggest the gallery
        app.page.pop_dialog()
        raise UiError("no_camera", t("insp.no_camera")) from None
