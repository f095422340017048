"""Settings and login: the login form and logging out with unsent changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from field_app.core import Device


@dataclass
class LogoutCheck:
    allowed: bool
    pending: int
    needs_confirmation: bool


def check_logout(pending_mutations: int, pending_photos: int, quarantined: int,
                 confirmed: bool) -> LogoutCheck:
    """Logging out with unsynced data is refused unless the person confirmed."""
    pending = pending_mutations + pending_photos + quarantined
    if pending and not confirmed:
        return LogoutCheck(False, pending, True)
    return LogoutCheck(True, pending, bool(pending))


def sign_out(device: Device, confirmed: bool = False) -> LogoutCheck:
    """Forget the login token (the data and the user stay on the device, so
    another user cannot log in while changes wait: ``pending_other_user``)."""
    st = device.status()
    check = check_logout(st.pending_mutations, st.pending_photos, st.quarantined, confirmed)
    if check.allowed:
        device.logout()
    return check


@dataclass
class LoginForm:
    server_url: str = ""
    username: str = ""
    password: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    def validate(self) -> bool:
        self.errors = {}
        url = self.server_url.strip()
        if not url:
            self.errors["server_url"] = "err.required"
        elif not url.startswith(("http://", "https://")):
            self.errors["server_url"] = "err.url"
        if not self.username.strip():
            self.errors["username"] = "err.required"
        if not self.password:
            self.errors["password"] = "err.required"
        return not self.errors
