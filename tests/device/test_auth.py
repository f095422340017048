"""An expired or revoked login stops the sync with "login required"; nothing
queued is lost, and after a new login everything goes through."""

from __future__ import annotations

import time

import pytest

from field_app.cli import main
from field_app.core import DeviceError
from sync_server.domain.auth.lifecycle import CliActor, enable_device
from sync_server.domain.auth.service import revoke_device

from .support import PASSWORD, small_jpeg


class ShiftedClock:
    """Real time plus a shift a test moves forward (the server's clock)."""

    def __init__(self) -> None:
        self.shift = 0

    def __call__(self) -> int:
        return int(time.time() * 1000) + self.shift


@pytest.mark.parametrize("how", ["expired", "revoked"])
def test_login_required_keeps_the_outbox(how: str, make_server, make_device, capsys) -> None:
    clock = ShiftedClock()
    server = make_server(token_ttl_ms=60_000, now_ms=clock)
    t = server.town
    dev = make_device("A", server, "grid1")
    insp = dev.start_inspection(t.site1)
    dev.answer(insp, "C01", "yes")
    dev.attach_photo(insp, small_jpeg(3))
    dev.update_site(t.site1, contact_name="赵六")
    before = dev.status()
    assert before.pending_mutations == 4 and before.pending_photos == 1

    if how == "expired":
        clock.shift = 61_000
    else:
        revoke_device(server.store, dev.device_id, clock())
    report = dev.sync()
    assert report.login_required and not report.ok
    assert report.pushed == 0 and report.photos_uploaded == 0
    code = "token_expired" if how == "expired" else "token_revoked"
    assert code in report.errors[0]
    status = dev.status()
    assert status.login_state == "login_required" and status.login_reason == code
    assert (status.pending_mutations, status.pending_photos) == (4, 1)
    with dev.store.read() as tx:
        ids_before = tx.outbox_ids()
    # The CLI says so with exit code 3; still nothing is lost.
    assert main(["--data-dir", str(dev.data_dir), "sync"]) == 3
    assert "login required" in capsys.readouterr().out
    # Offline work goes on while logged out.
    dev.answer(insp, "C02", "no")
    with dev.store.read() as tx:
        assert tx.outbox_ids()[:4] == ids_before

    if how == "revoked":
        # A revoked device stays revoked (issue #14): no logging straight back
        # in until an admin enables it; the outbox is kept meanwhile.
        with pytest.raises(DeviceError) as exc:
            dev.login(server.url, "grid1", PASSWORD)
        assert exc.value.code == "device_revoked"
        assert dev.status().pending_mutations == 5
        enable_device(server.store, CliActor("cli:test"), dev.device_id, clock())
    dev.login(server.url, "grid1", PASSWORD)
    assert dev.status().login_state == "logged_in"
    report = dev.sync()
    assert report.ok and report.pushed == 5 and report.photos_uploaded == 1, report
    assert server.record("inspection", insp)["answers"] == {
        "C01": {"answer": "yes"}, "C02": {"answer": "no"}}
    assert server.record("site", t.site1)["contact_name"] == "赵六"
    assert dev.receipt().safe_to_wipe


def test_another_user_cannot_log_in_over_unsynced_work(server, make_device) -> None:
    dev = make_device("A", server, "grid1")
    dev.update_site(server.town.site1, contact_name="钱七")
    from field_app.core import DeviceError

    with pytest.raises(DeviceError) as exc:
        dev.login(server.url, "grid2", PASSWORD)
    assert exc.value.code == "pending_other_user"
    assert dev.sync().ok
    dev.login(server.url, "grid2", PASSWORD)  # nothing waiting: allowed, full resync
    report = dev.sync()
    assert report.ok
    assert {s["id"] for s in dev.sites()} == {server.town.site2}
