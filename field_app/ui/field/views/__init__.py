"""The field app's views: functions of (app, route arguments) → ``ft.View``. They bind
controls to view-models and wrap every handler in ``app.safe``; every string
comes from the translation table (``app.t``)."""
