"""The widget kit both Flet apps share (the field app and the office console):
test hooks and small widgets (``widgets``), the error boundary every handler
goes through (``shell``) and the plain rules both apps apply (``rules``). The
kit imports neither app: ``field_app.ui.field`` and ``field_app.ui.office``
import it, never each other."""
