"""Entry module for `flet build apk` ([tool.flet.app] module = "main"); see docs/mobile.md."""

from field_app.ui.mobile import main

main()
