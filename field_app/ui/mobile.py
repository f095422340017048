"""Entry point of the packaged phone app (``flet build apk``; see docs/mobile.md).

On the phone the Python code runs on the device: the device's SQLite file and
photos live in the app's private storage folder, ``FLET_APP_STORAGE_DATA``,
which Flet sets for packaged apps (and for ``flet run``).
"""

from __future__ import annotations

import os
from pathlib import Path

import flet as ft

from .field.app import ASSETS_DIR, make_main


def data_dir() -> Path:
    return Path(os.environ.get("FLET_APP_STORAGE_DATA")
                or os.environ.get("WAGE_PATROL_DATA_DIR") or "field-app-data")


def main() -> None:
    ft.run(make_main(data_dir()), assets_dir=str(ASSETS_DIR))


if __name__ == "__main__":
    main()
