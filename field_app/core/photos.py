"""The photo pipeline (Pillow): what a camera gives → what the device keeps.

1. Read capture time (DateTimeOriginal + OffsetTimeOriginal) and GPS from EXIF.
2. Apply the EXIF orientation (the pixels are turned; no orientation tag is kept).
3. Downscale so the long edge is at most ``photo_max_px``.
4. Encode JPEG at ``jpeg_quality``; if that is over ``photo_max_bytes``, step
   the quality down by 10 (not below 50).
5. The sha256 of the stored bytes names the file: ``photos/<sha256>.jpg``,
   written atomically (temp file, fsync, rename). The original is kept only
   when ``keep_originals`` is set (``photos/originals/<sha256>.orig``).

No EXIF is written to the stored file: the capture time and position travel
in the photo record, and nothing else from the camera leaves the phone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError

from field_app.core.errors import InvalidInput

EXIF_IFD = 0x8769
GPS_IFD = 0x8825
DATETIME = 0x0132
DATETIME_ORIGINAL = 0x9003
OFFSET_TIME_ORIGINAL = 0x9011
MIN_QUALITY = 50


@dataclass(frozen=True, slots=True)
class ProcessedPhoto:
    data: bytes
    sha256: str
    width: int
    height: int
    taken_at: int | None  # unix ms from EXIF
    lat: float | None
    lon: float | None
    quality: int


def _taken_at(exif: Image.Exif) -> int | None:
    sub = exif.get_ifd(EXIF_IFD)
    text = sub.get(DATETIME_ORIGINAL) or exif.get(DATETIME)
    if not isinstance(text, str):
        return None
    try:
        when = dt.datetime.strptime(text.strip("\x00 "), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    offset = sub.get(OFFSET_TIME_ORIGINAL)
    if isinstance(offset, str) and len(offset.strip()) >= 6:
        try:
            when = when.replace(tzinfo=dt.datetime.strptime(offset.strip()[:6], "%z").tzinfo)
        except ValueError:
            pass
    # Without an offset, the camera's clock is the phone's: local time.
    return int(when.timestamp() * 1000)


def _degrees(value: Any, ref: Any) -> float | None:
    try:
        d, m, s = (float(x) for x in value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    deg = d + m / 60 + s / 3600
    if not math.isfinite(deg):
        return None
    return -deg if str(ref).upper().startswith(("S", "W")) else deg


def _gps(exif: Image.Exif) -> tuple[float | None, float | None]:
    gps = exif.get_ifd(GPS_IFD)
    if not gps:
        return None, None
    lat = _degrees(gps.get(2), gps.get(1, "N"))
    lon = _degrees(gps.get(4), gps.get(3, "E"))
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None, None
    return round(lat, 7), round(lon, 7)


def process_photo(raw: bytes, max_px: int = 1600, quality: int = 80,
                  max_bytes: int | None = None) -> ProcessedPhoto:
    try:
        img = Image.open(io.BytesIO(raw))
        exif = img.getexif()
        w, h = img.size
        if max(w, h) > max_px and img.format == "JPEG":
            # Let libjpeg decode at 1/2, 1/4 or 1/8 scale: much faster on a phone.
            scale = max_px / max(w, h)
            img.draft("RGB", (math.ceil(w * scale), math.ceil(h * scale)))
        img.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise InvalidInput("invalid_photo", f"not a readable image: {exc}") from None
    taken_at = _taken_at(exif)
    lat, lon = _gps(exif)
    img = ImageOps.exif_transpose(img)
    if img.mode not in ("RGB", "L"):
        background = Image.new("RGB", img.size, "white")
        rgba = img.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        img = background
    if max(img.size) > max_px:
        scale = max_px / max(img.size)
        size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
        img = img.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    q = quality
    while True:
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=q, optimize=True)
        data = buf.getvalue()
        if max_bytes is None or len(data) <= max_bytes or q <= MIN_QUALITY:
            break
        q = max(MIN_QUALITY, q - 10)
    return ProcessedPhoto(data=data, sha256=hashlib.sha256(data).hexdigest(), width=img.width,
                          height=img.height, taken_at=taken_at, lat=lat, lon=lon, quality=q)


def write_atomically(path: Path, data: bytes) -> None:
    """``path`` holds ``data`` completely, or is untouched."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    try:
        fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def store_photo(photos_dir: Path, photo: ProcessedPhoto, original: bytes | None = None) -> Path:
    path = photos_dir / f"{photo.sha256}.jpg"
    if not path.exists() or hashlib.sha256(path.read_bytes()).hexdigest() != photo.sha256:
        write_atomically(path, photo.data)
    if original is not None:
        write_atomically(photos_dir / "originals" / f"{photo.sha256}.orig", original)
    return path
