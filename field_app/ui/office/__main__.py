"""``python -m field_app.ui.office``: the same as ``office-console``."""

from .app import main

main()
