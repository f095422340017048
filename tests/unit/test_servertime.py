"""The server-time rule (shared_schema.servertime): which time counts."""

from __future__ import annotations

import pytest

from shared_schema.servertime import (
    DEFAULT_MAX_BACKDATE_MS,
    case_opened_ms,
    counted_ms,
    differs,
    event_ms,
    submitted_ms,
)

H = 3600 * 1000
RECEIVED = 1_764_140_000_000
W = DEFAULT_MAX_BACKDATE_MS


@pytest.mark.parametrize("device, received, window, expected", [
    (RECEIVED - H, RECEIVED, W, RECEIVED - H),  # offline an hour: the device's time
    (RECEIVED - W, RECEIVED, W, RECEIVED - W),  # exactly the window: still the device's
    (RECEIVED - W - 1, RECEIVED, W, RECEIVED - W),  # older: clamped to the window
    (RECEIVED - 400 * 24 * H, RECEIVED, W, RECEIVED - W),  # 400 days back
    (RECEIVED + 1, RECEIVED, W, RECEIVED),  # in the future: the receipt
    (4_102_416_000_000, RECEIVED, W, RECEIVED),  # the year 2100
    (None, RECEIVED, W, RECEIVED),  # no device time
    ("yesterday", RECEIVED, W, RECEIVED),  # not a time
    (True, RECEIVED, W, RECEIVED),  # a bool is not a time
    (float("nan"), RECEIVED, W, RECEIVED),
    (RECEIVED - H, RECEIVED, 0, RECEIVED),  # window 0: receipt only
    (RECEIVED - H, RECEIVED, -5, RECEIVED),  # a negative window counts as 0
    (RECEIVED - H, None, W, RECEIVED - H),  # not received yet (a phone's copy)
    (None, None, W, None),
])
def test_counted_ms(device, received, window, expected) -> None:
    assert counted_ms(device, received, window) == expected


def test_the_default_window_is_72_hours() -> None:
    assert DEFAULT_MAX_BACKDATE_MS == 72 * H


def test_case_opened_uses_opened_at_then_created_at() -> None:
    assert case_opened_ms({"opened_at": RECEIVED - H, "created_at": RECEIVED - 2 * H,
                           "received_at": RECEIVED}) == RECEIVED - H
    assert case_opened_ms({"created_at": RECEIVED - 2 * H,
                           "received_at": RECEIVED}) == RECEIVED - 2 * H
    assert case_opened_ms({"opened_at": RECEIVED - 9 * 24 * H, "received_at": RECEIVED},
                          24 * H) == RECEIVED - 24 * H


def test_event_and_submission_times() -> None:
    assert event_ms({"created_at": RECEIVED + H, "received_at": RECEIVED}) == RECEIVED
    inspection = {"submitted_at": RECEIVED - 500 * H, "received_at": RECEIVED - 900 * H,
                  "submitted_received_at": RECEIVED}
    assert submitted_ms(inspection) == RECEIVED - W  # the submission's receipt, not the draft's


def test_differs_notably() -> None:
    assert not differs(RECEIVED - 60_000, RECEIVED)
    assert differs(RECEIVED - H, RECEIVED)
    assert not differs(None, RECEIVED)


def test_case_deadlines_count_from_the_counted_opening() -> None:
    from shared_schema.calendar import case_deadlines, packaged

    day = 24 * H
    far = {"opened_at": 4_102_416_000_000, "received_at": RECEIVED}  # "opened" in 2100
    assert case_deadlines(packaged(), far, RECEIVED + 30 * day).overdue
    phone_copy = {"opened_at": RECEIVED}  # not yet on the server: the device's time
    assert case_deadlines(packaged(), phone_copy, RECEIVED).accept_due == "2025-12-03"
