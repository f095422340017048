"""Device services behind small adapters (conventions §11): preferences, the
server probe, photos from the file picker, and GPS. Views call these; tests
replace them. (The camera is a visible control, so its preview dialog lives in
``views.camera_dialog``.)"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx

PHOTO_SIZES = (1024, 1600, 2048)


@dataclass
class UiPrefs:
    language: str = "zh"
    server_url: str = ""
    photo_max_px: int = 1600
    auto_sync: bool = True

    @classmethod
    def load(cls, data_dir: Path) -> "UiPrefs":
        path = Path(data_dir) / "ui-prefs.json"
        try:
            raw = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            return cls()
        known = {k: v for k, v in raw.items() if k in cls.__dataclass_fields__}
        prefs = cls(**known)
        if prefs.language not in ("zh", "en"):
            prefs.language = "zh"
        return prefs

    def save(self, data_dir: Path) -> None:
        path = Path(data_dir) / "ui-prefs.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), ensure_ascii=False), "utf-8")
        os.replace(tmp, path)


def server_reachable(url: str | None, timeout_s: float = 2.0) -> bool:
    """Whether the sync server answers its liveness probe."""
    if not url:
        return False
    try:
        return httpx.get(url.rstrip("/") + "/healthz", timeout=timeout_s).status_code == 200
    except httpx.HTTPError:
        return False


@dataclass
class PickedPhoto:
    name: str
    data: bytes | None = None
    path: str | None = None

    def content(self) -> bytes | str:
        if self.data is not None:
            return self.data
        if self.path:
            return self.path
        raise ValueError("the picked file has neither bytes nor a path")


class PhotoSource(Protocol):
    async def pick(self) -> PickedPhoto | None: ...


class FilePickerSource:
    """Photos from the gallery/files (web: bytes; phone: a path)."""

    def __init__(self, picker: Any) -> None:
        self.picker = picker

    async def pick(self) -> PickedPhoto | None:
        import flet as ft

        files = await self.picker.pick_files(with_data=True,
                                             file_type=ft.FilePickerFileType.IMAGE)
        if not files:
            return None
        f = files[0]
        return PickedPhoto(name=f.name, data=f.bytes, path=f.path)


@dataclass
class Fix:
    lat: float
    lon: float
    accuracy: float | None


class Locator(Protocol):
    async def locate(self) -> Fix | None: ...


class GeolocatorLocator:
    """GPS from flet-geolocator, with its accuracy in metres."""

    def __init__(self, geolocator: Any) -> None:
        self.geo = geolocator

    async def locate(self) -> Fix | None:
        await self.geo.request_permission()
        pos = await self.geo.get_current_position()
        if pos is None or pos.latitude is None or pos.longitude is None:
            return None
        return Fix(float(pos.latitude), float(pos.longitude),
                   float(pos.accuracy) if pos.accuracy is not None else None)
