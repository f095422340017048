"""The CJK font of the printed documents: the bundled Noto Sans SC subset.

The app bundles it as WOFF2 (``assets/fonts/NotoSansSC-subset.woff2``, built by
``scripts/build_cjk_font.py``); fpdf2 reads OpenType, so it is decoded with
fontTools once per process into a cache file named by the WOFF2's digest (a
second process reuses the file). Nothing is fetched: a missing font is an error
the server reports, never a PDF without Chinese glyphs.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import tempfile
import threading
from pathlib import Path

from fontTools.ttLib import TTFont

WOFF2 = Path(__file__).resolve().parents[3] / "assets" / "fonts" / "NotoSansSC-subset.woff2"
#: The family name the documents use for the font.
FAMILY = "NotoSansSC"

# fontTools logs every subsetting step (dozens of lines per PDF) at INFO: not the server's news.
logging.getLogger("fontTools").setLevel(logging.WARNING)

_lock = threading.Lock()
_decoded: dict[Path, Path] = {}


def cache_dir() -> Path:
    """Where the decoded font is kept: the temporary folder (``TMPDIR`` moves it)."""
    return Path(tempfile.gettempdir()) / "wage-patrol-fonts"


def otf_path(source: Path = WOFF2) -> Path:
    """The font as an OpenType (CFF) file: decoded once per process and source."""
    with _lock:
        done = _decoded.get(source)
        if done is not None and done.exists():
            return done
        raw = source.read_bytes()
        target = cache_dir() / f"NotoSansSC-{hashlib.sha256(raw).hexdigest()[:16]}.otf"
        if not target.exists():
            font = TTFont(io.BytesIO(raw))
            font.flavor = None  # WOFF2 → plain sfnt
            out = io.BytesIO()
            font.save(out)
            target.parent.mkdir(parents=True, exist_ok=True)
            # Written aside and renamed: another process never reads half a font.
            fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
            with os.fdopen(fd, "wb") as f:
                f.write(out.getvalue())
            os.replace(tmp, target)
        _decoded[source] = target
        return target
