"""Build assets/fonts/NotoSansSC-subset.woff2 from Debian's fonts-noto-cjk.

Run once by a developer (the built font is committed, so nothing needs apt
or the network at run time):

    apt-get install fonts-noto-cjk
    .venv/bin/pip install fonttools brotli
    .venv/bin/python scripts/build_cjk_font.py

It takes the "Noto Sans CJK SC" face out of NotoSansCJK-Regular.ttc and
subsets it to ASCII, GB2312 (all 6,763 common simplified characters and its
symbols), CJK punctuation, full-width forms and ✓✗. Noto CJK is under the
SIL Open Font License 1.1 (assets/fonts/OFL.txt).
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection

SOURCE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
TARGET = Path(__file__).resolve().parent.parent / "assets" / "fonts" / "NotoSansSC-subset.woff2"


def gb2312_chars() -> set[int]:
    chars: set[int] = set()
    for hi in range(0xA1, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                chars.add(ord(bytes([hi, lo]).decode("gb2312")))
            except UnicodeDecodeError:
                pass
    return chars


def main() -> int:
    collection = TTCollection(str(SOURCE))
    face = next(f for f in collection.fonts
                if "Noto Sans CJK SC" in (f["name"].getDebugName(1) or ""))
    unicodes = gb2312_chars()
    unicodes |= set(range(0x20, 0x7F))  # ASCII
    unicodes |= set(range(0x3000, 0x3040))  # CJK punctuation
    unicodes |= set(range(0xFF00, 0xFFF0))  # full-width forms
    unicodes |= {0x2713, 0x2717, 0x00B7, 0x2014, 0x2026, 0x00A5, 0x2103, 0x00D7}
    options = subset.Options()
    options.flavor = "woff2"
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    sub = subset.Subsetter(options)
    sub.populate(unicodes=unicodes)
    sub.subset(face)
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    face.flavor = "woff2"
    face.save(str(TARGET))
    print(f"{TARGET} {TARGET.stat().st_size / 1e6:.2f} MB, {len(unicodes)} code points")
    return 0


if __name__ == "__main__":
    sys.exit(main())
