"""``OfficeClient``: the office console's online calls to the server's office
API (docs/office-api.md), with the token and server URL the device stored at
login. Every failure is a ``DeviceError`` (``NetworkError`` or ``ServerError``
with the server's error code), so the UI boundary turns it into a snackbar."""

from __future__ import annotations

from typing import Any

import httpx

from field_app.core import Device
from field_app.core.api import error_of
from field_app.core.errors import LoginRequired, NetworkError, ServerError


class OfficeClient:
    def __init__(self, base_url: str, token: str, timeout: float = 20.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(base_url=self.base_url, timeout=timeout,
                                 headers={"Authorization": f"Bearer {token}"},
                                 transport=transport)

    @classmethod
    def for_device(cls, device: Device) -> "OfficeClient":
        with device.store.read() as tx:
            url, token = tx.get("server_url"), tx.get("token")
        if not url or not token:
            raise LoginRequired("not_logged_in", "log in online to use the office screens")
        return cls(url, token)

    def close(self) -> None:
        self.http.close()

    # --- plumbing --------------------------------------------------------------------------
    def _send(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            r = self.http.request(method, path, **kw)
        except httpx.HTTPError as exc:
            raise NetworkError("network", f"cannot reach the server: {exc}") from None
        if r.status_code >= 400:
            code, message, details = error_of(r)
            raise ServerError(code, message, status=r.status_code, **details)
        return r

    def _json(self, method: str, path: str, **kw: Any) -> Any:
        return self._send(method, path, **kw).json()

    @staticmethod
    def _params(filters: dict[str, Any]) -> dict[str, Any]:
        return {k: (str(v).lower() if isinstance(v, bool) else v)
                for k, v in filters.items() if v not in (None, "")}

    # --- review ----------------------------------------------------------------------------
    def inspections(self, **filters: Any) -> dict[str, Any]:
        return self._json("GET", "/api/v1/office/inspections", params=self._params(filters))

    def inspection(self, inspection_id: str) -> dict[str, Any]:
        return self._json("GET", f"/api/v1/office/inspections/{inspection_id}")

    def review(self, inspection_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._json("POST", f"/api/v1/office/inspections/{inspection_id}/review",
                          json=body)

    def blob(self, sha256: str) -> bytes:
        return self._send("GET", f"/api/v1/blobs/{sha256}").content

    # --- conflicts -------------------------------------------------------------------------
    def conflicts(self, status: str = "open") -> dict[str, Any]:
        return self._json("GET", "/api/v1/office/conflicts", params={"status": status})

    def resolve(self, conflict_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._json("POST", f"/api/v1/office/conflicts/{conflict_id}/resolve", json=body)

    # --- cases -----------------------------------------------------------------------------
    def cases(self, **filters: Any) -> dict[str, Any]:
        return self._json("GET", "/api/v1/cases", params=self._params(
            {"limit": 500, **filters}))

    def case(self, case_id: str) -> dict[str, Any]:
        return self._json("GET", f"/api/v1/cases/{case_id}")

    def case_event(self, case_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._json("POST", f"/api/v1/cases/{case_id}/events", json=body)

    # --- reports ---------------------------------------------------------------------------
    def summary(self, month: str | None = None) -> dict[str, Any]:
        return self._json("GET", "/api/v1/reports/summary", params=self._params({"month": month}))

    def workbook(self, month: str) -> bytes:
        return self._send("GET", "/api/v1/reports/monthly.xlsx", params={"month": month}).content
