"""The device core: plain Python, no UI toolkit.

    from field_app.core import Device
    dev = Device.open(data_dir)
    dev.login(server_url, username, password)
    ...
    report = dev.sync()

See docs/device-api.md for the whole API, the local store and the sync rules.
"""

from field_app.core.device import Device
from field_app.core.errors import (
    DeviceError,
    InvalidInput,
    LoginRequired,
    NetworkError,
    NotFound,
    ServerError,
)
from field_app.core.reports import (
    DeviceStatus,
    QuarantineItem,
    ReceiptReport,
    SyncProgress,
    SyncReport,
)
from field_app.core.settings import DeviceSettings

__all__ = [
    "Device",
    "DeviceError",
    "DeviceSettings",
    "DeviceStatus",
    "InvalidInput",
    "LoginRequired",
    "NetworkError",
    "NotFound",
    "QuarantineItem",
    "ReceiptReport",
    "ServerError",
    "SyncProgress",
    "SyncReport",
]
