"""The inspection wizard, in components: ``Wizard`` (the screen: header, steps,
GPS, review banner, submit), ``ItemCard`` (one checklist item and its answer,
value, note and photos), ``Autosave`` (typed text saved after a pause) and the
photo dialogs (``photos``)."""

from .wizard import inspection_view

__all__ = ["inspection_view"]
