"""Wage Patrol field app (治欠巡查): the offline-first device side.

``field_app.core`` is plain Python (no UI toolkit): the Flet UI, the tests and
the ``field-app`` command line all drive the same :class:`field_app.core.Device`.
"""
