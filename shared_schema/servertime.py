"""Server time for everything that counts — pure rules.

A device's clock is the user's to set: a case "opened" in 2100 would never
be overdue, a payment "made" 400 days ago would change an old month's report.
So the server stamps every record and event with the time it first received
it (``received_at``, its own clock), and deadlines, on-time rates and monthly
figures count a device time only within a window before that receipt:

- no device time, or one after the receipt: the receipt;
- one earlier than ``max_backdate_ms`` before the receipt: receipt − window;
- otherwise the device's time (an offline phone recorded it then).

The device's own times stay in the record unchanged, shown as "reported at".
A record with no ``received_at`` (not yet on the server: a phone's own copy)
counts at its device time.
"""

from __future__ import annotations

from typing import Any

#: When the server first received a record or event (unix ms, server clock).
RECEIVED_AT = "received_at"
#: When the server received the write that submitted an inspection.
SUBMITTED_RECEIVED_AT = "submitted_received_at"
#: Both are written by the server only (``shared_schema.fields``: owner
#: ``server``): a push that sets one is rejected with ``field_not_writable``.

#: How long before the server's receipt a device time may lie: 72 hours, a
#: weekend offline (sync_server setting ``max_backdate_ms``).
DEFAULT_MAX_BACKDATE_MS = 72 * 3600 * 1000


def _ms(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if value != value or value in (float("inf"), float("-inf")):
        return None
    return int(value)


def counted_ms(device_ms: Any, received_ms: Any,
               max_backdate_ms: int = DEFAULT_MAX_BACKDATE_MS) -> int | None:
    """The time that counts for a device time received by the server at ``received_ms``."""
    device, received = _ms(device_ms), _ms(received_ms)
    if received is None:
        return device
    if device is None or device > received:
        return received
    return max(device, received - max(0, max_backdate_ms))


def case_opened_ms(case: dict[str, Any],
                   max_backdate_ms: int = DEFAULT_MAX_BACKDATE_MS) -> int | None:
    """When a case counts as opened (registered): its accept deadline runs from here."""
    return counted_ms(case.get("opened_at") or case.get("created_at"), case.get(RECEIVED_AT),
                      max_backdate_ms)


def event_ms(event: dict[str, Any],
             max_backdate_ms: int = DEFAULT_MAX_BACKDATE_MS) -> int | None:
    """When a case event (acceptance, payment, resolution…) counts as having happened."""
    return counted_ms(event.get("created_at"), event.get(RECEIVED_AT), max_backdate_ms)


def submitted_ms(inspection: dict[str, Any],
                 max_backdate_ms: int = DEFAULT_MAX_BACKDATE_MS) -> int | None:
    """When a submitted inspection counts as submitted (coverage, last inspected)."""
    return counted_ms(inspection.get("submitted_at"),
                      inspection.get(SUBMITTED_RECEIVED_AT), max_backdate_ms)


def differs(reported_ms: Any, counted: Any, notable_ms: int = 10 * 60 * 1000) -> bool:
    """Whether a device's reported time differs notably from the counted one
    (worth showing both)."""
    a, b = _ms(reported_ms), _ms(counted)
    return a is not None and b is not None and abs(a - b) >= notable_ms
