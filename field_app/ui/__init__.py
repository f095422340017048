"""The field app's Flet UI (issue 4).

Layout: ``i18n`` (the one translation table), ``viewmodels`` (plain Python over
``field_app.core.Device``: all the logic, tested without a Flet client),
``adapters`` (photo sources, GPS, preferences, reachability: small classes
tests replace), ``views`` (functions that bind controls to view-models) and
``app`` (routing, error boundary, background sync, ``run``).
"""
