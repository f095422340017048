"""Collective incidents (群体性讨薪/突发事件) and the alerts they raise.

``report`` is the write path's hook for a pushed incident (it opens or joins
a case and raises an alert, in the push's transaction); ``alerts`` lists,
counts and acknowledges alerts for office and leader accounts; the
controller is the office API of alerts (docs/office-api.md, "Alerts").
Importing the package registers ``report`` with the write path
(``sync.apply.INSERT_HANDLERS``): the write path never imports this room.
"""

from sync_server.domain.incidents import report

__all__ = ["report"]
