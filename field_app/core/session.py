"""Login, logout and what the device says about its session: ``Session``, a part of ``Device``.

Only ``login`` and ``receipt`` need the network; the token is kept in the
store's ``state`` and used offline afterwards (docs/device-api.md, "Login").
"""

from __future__ import annotations

from typing import Any

import msgspec

from field_app.core.api import ApiClient, expect_ok
from field_app.core.errors import DeviceError, LoginRequired
from field_app.core.outbox import DeviceClock
from field_app.core.reports import DeviceStatus, ReceiptReport
from field_app.core.settings import DeviceSettings
from field_app.core.store import LocalStore, Tx
from shared_schema.wire import (
    LoginRequest,
    UserInfo,
    encoder,
    login_response_decoder,
    receipt_decoder,
)


class Session:
    """The login and the device's status (``Device`` is one)."""

    store: LocalStore
    settings: DeviceSettings
    device_id: str
    clock: DeviceClock

    def login(self, server_url: str, username: str, password: str) -> UserInfo:
        """Log in online once; the token is kept and used offline afterwards."""
        with self.store.read() as tx:
            prev_user, prev_url = tx.get("user"), tx.get("server_url")
            waiting = tx.outbox_count() + tx.quarantined_count()
            secret = tx.get("device_secret")
        switching = prev_user is not None and (
            prev_user.get("username") != username or prev_url != server_url.rstrip("/"))
        if switching and waiting:
            raise DeviceError(
                "pending_other_user",
                f"{waiting} change(s) by {prev_user.get('username')} are still on this device: "
                "sync them (or clear the quarantine) before another login", waiting=waiting)
        req = LoginRequest(username=username, password=password, device_id=self.device_id,
                           device_name=self.settings.device_name, device_secret=secret)
        with ApiClient(server_url, self.settings) as api:
            r = api.call("POST", "/api/v1/auth/login", "login", auth=False,
                         content=encoder.encode(req), headers={"Content-Type": "application/json"})
            expect_ok(r, "login")
        resp = login_response_decoder.decode(r.content)
        with self.store.write() as tx:
            if switching:  # another user or server: their scope, so rebuild the mirror
                tx.set("gen", int(tx.get("gen", 0)) + 1)
                tx.set("resync", True)
                tx.set("cursor", 0)
            tx.set("server_url", server_url.rstrip("/"))
            tx.set("token", resp.token)
            tx.set("token_expires_at", resp.expires_at)
            tx.set("user", msgspec.to_builtins(resp.user))
            tx.set("login_required", False)
            tx.set("login_reason", None)
            if resp.server_time_ms:
                tx.set("clock_offset_ms", resp.server_time_ms - self.settings.now_ms())
        return resp.user

    def _user(self, tx: Tx) -> dict[str, Any]:
        user = tx.get("user")
        if not user:
            raise LoginRequired("not_logged_in", "log in once (online) before recording")
        return user


    def user(self) -> dict[str, Any]:
        """The logged-in (or last) user of this device: id, username, role; {} before a login."""
        with self.store.read() as tx:
            return dict(tx.get("user") or {})

    def logout(self) -> None:
        """Forget the login token. The data and the user stay on the device, so
        another user cannot log in while changes wait (``pending_other_user``);
        the caller asks the person first when something is still unsent."""
        with self.store.write() as tx:
            tx.set("token", None)
            tx.set("login_required", False)
            tx.set("login_reason", None)

    def status(self) -> DeviceStatus:
        with self.store.read() as tx:
            user = tx.get("user") or {}
            token = tx.get("token")
            expires = tx.get("token_expires_at")
            offset = tx.get("clock_offset_ms")
            reason = tx.get("login_reason")
            if tx.get("login_required"):
                state = "login_required"
            elif token:
                state = "logged_in"
                if expires is not None and expires <= self.settings.now_ms() + (offset or 0):
                    state, reason = "login_required", "token_expired"
            else:
                state = "logged_out"
            return DeviceStatus(
                device_id=self.device_id, data_dir=str(self.data_dir), login_state=state,
                login_reason=reason if state == "login_required" else None,
                username=user.get("username"), role=user.get("role"),
                server_url=tx.get("server_url"), token_expires_at=expires,
                pending_mutations=tx.outbox_count(),
                pending_photos=tx.photo_count("pending"),
                quarantined=tx.quarantined_count(),
                last_sync_ms=tx.get("last_sync_ms"), last_sync_ok=tx.get("last_sync_ok"),
                cursor=int(tx.get("cursor", 0)), clock_offset_ms=offset, hlc=self.clock.last,
                last_good_sync_ms=tx.get("last_good_sync_ms"),
            )


    def receipt(self) -> ReceiptReport:
        """The server's receipt for this device next to the local counts."""
        with self.store.read() as tx:
            url, token = tx.get("server_url"), tx.get("token")
            if not url or not token or tx.get("login_required"):
                raise LoginRequired("not_logged_in", "log in to read the server's receipt")
            acked, rejected = int(tx.get("acked_count", 0)), int(tx.get("rejected_count", 0))
            last_seq = int(tx.get("last_answered_seq", 0))
            pending = tx.outbox_count()
            quarantined = tx.quarantined_count()
            pending_photos = tx.photo_count("pending", "quarantined")
            uploaded = [p.sha256 for p in tx.photos("uploaded")]
        with ApiClient(url, self.settings, token) as api:
            r = expect_ok(api.call("GET", "/api/v1/sync/receipt", "receipt",
                                   params={"device_id": self.device_id}), "receipt")
        server = receipt_decoder.decode(r.content)
        verified = set(server.photos_verified)
        missing = sorted(h for h in uploaded if h not in verified)
        problems = []
        if pending:
            problems.append(f"{pending} change(s) not yet sent")
        if quarantined:
            problems.append(f"{quarantined} item(s) in the quarantine")
        if pending_photos:
            problems.append(f"{pending_photos} photo(s) not yet uploaded")
        if server.mutations_received < acked + rejected:
            problems.append(f"the server holds {server.mutations_received} of this device's "
                            f"{acked + rejected} answered changes")
        if server.last_seq < last_seq:
            problems.append(f"the server's last seq {server.last_seq} is behind {last_seq}")
        if missing:
            problems.append(f"{len(missing)} uploaded photo(s) not verified on the server")
        if server.photos_missing:
            problems.append(f"the server misses {len(server.photos_missing)} photo(s) "
                            "named by this device's records")
        return ReceiptReport(
            server=server, local_acknowledged=acked, local_rejected=rejected,
            local_last_seq=last_seq, pending_mutations=pending, quarantined=quarantined,
            pending_photos=pending_photos, photos_uploaded=len(uploaded),
            photos_not_on_server=missing, safe_to_wipe=not problems, problems=problems)
