"""An expired or revoked login stops the sync with "login required"; nothing
queued is lost, and after a new login everything goes through."""

from __future__ import annotations

import time

import pytest

from field_app.cli import main
from field_app.core import Device, DeviceError
from sync_server.domain.auth.lifecycle import CliActor, enable_device
from sync_server.domain.auth.service import revoke_device, secret_hash

from .support import PASSWORD, fast_settings, small_jpeg


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


def _secret(dev: Device) -> str:
    with dev.store.read() as tx:
        return tx.get("device_secret")


def test_the_device_proves_its_id_with_a_secret_it_made(server, make_device, tmp_path,
                                                        capsys) -> None:
    """Made on first open with the id, kept in the device's SQLite, sent on
    every login, never shown; another data folder (a wiped app) is another
    device with its own id and secret."""
    dev = make_device("A", server, "grid1")
    secret = _secret(dev)
    assert len(secret) >= 43
    bound = server.store.get_device(dev.device_id)
    assert bound.secret_hash == secret_hash(secret)  # only its hash on the server
    assert secret not in repr(dev.status())
    assert main(["--data-dir", str(dev.data_dir), "status", "--json"]) == 0
    assert secret not in capsys.readouterr().out
    dev.close()
    again = Device.open(dev.data_dir, fast_settings())
    assert (again.device_id, _secret(again)) == (dev.device_id, secret)  # reopened: the same
    again.login(server.url, "grid2", PASSWORD)  # a hand-over on the same phone
    assert server.store.get_device(dev.device_id).secret_hash == secret_hash(secret)
    wiped = make_device("A-wiped")
    assert wiped.device_id != dev.device_id and _secret(wiped) != secret
    again.close()


def test_a_cloned_device_id_cannot_log_in(server, make_device) -> None:
    """Another phone that copies a device's id (it is in every pulled hlc) but
    not its secret is refused; the real device goes on syncing."""
    real = make_device("real", server, "office1")
    clone = make_device("clone")
    with clone.store.write() as tx:  # only the id: the secret never leaves the phone
        tx.set("device_id", real.device_id)
    clone.close()
    clone = Device.open(clone.data_dir, fast_settings())
    assert clone.device_id == real.device_id
    with pytest.raises(DeviceError) as exc:
        clone.login(server.url, "grid2", PASSWORD)
    assert exc.value.code == "device_id_taken"
    assert clone.status().login_state == "logged_out"
    real.update_site(server.town.site1, contact_name="孙八")
    assert real.sync().ok
    assert server.record("site", server.town.site1)["contact_name"] == "孙八"
    clone.close()


def test_a_data_folder_from_before_secrets_gets_one(make_device) -> None:
    dev = make_device("old")
    with dev.store.write() as tx:
        tx.set("device_secret", None)
    dev.close()
    dev = Device.open(dev.data_dir, fast_settings())
    assert len(_secret(dev)) >= 43
    dev.close()
