"""Collective incidents (群体性讨薪/突发事件) and the alerts they raise.

A pushed incident is applied by the write path (``domain/sync/incidents.py``:
it opens or joins a case and raises an alert, in the push's transaction);
here ``alerts`` lists, counts and acknowledges alerts for office and leader
accounts, and the controller is the office API of alerts (docs/office-api.md,
"Alerts").
"""
