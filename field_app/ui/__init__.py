"""The two Flet apps and the kit they share (docs/architecture.md, "The two apps").

* ``field`` — the field app (phone, offline): ``field.app`` (routing, sync chip,
  background sync, ``run``) and ``field.views`` (one module per screen; the
  inspection wizard in components). Its entry is ``mobile.py`` (the APK) and
  ``field-app ui`` (web mode).
* ``office`` — the office console (desk, online): its own entry
  (``office-console``), login and token, typed client, view-models and views.
* ``kit`` — widgets, the error boundary and rules both use; ``i18n`` (the one
  string table, split by app), ``adapters`` (photo sources, GPS, preferences,
  reachability: small classes tests replace) and ``viewmodels`` (the field
  app's plain-Python state over ``field_app.core.Device``).

``field`` and ``office`` never import each other.
"""
