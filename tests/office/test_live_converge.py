"""Against a real uvicorn on 127.0.0.1, with two real field devices
(``field_app.core.Device``): a conflict resolved in the office converges both
devices. (A review reaching the author's device: test_review.py.)"""

from __future__ import annotations

from pathlib import Path

from field_app.core import Device, DeviceSettings
from server.support import PASSWORD, World, serve_world


def phone(tmp_path: Path, name: str, world: World, url: str, username: str) -> Device:
    dev = Device.open(tmp_path / name, DeviceSettings(now_ms=world.clock, max_attempts=2,
                                                      backoff_base_s=0.0, sleep=lambda s: None))
    dev.login(url, username, PASSWORD)
    assert dev.sync().ok
    return dev


def test_two_phones_converge_on_the_office_resolution(tmp_path: Path) -> None:
    with serve_world(tmp_path / "server") as (server, world):
        a = phone(tmp_path, "a", world, server.url, "grid1")
        b = phone(tmp_path, "b", world, server.url, "sector1")
        try:
            a.update_site(world.site1, contractor="甲建设公司")  # offline, concurrently
            world.clock.advance(1000)
            b.update_site(world.site1, contractor="乙建设公司")
            assert a.sync().ok
            report = b.sync()
            assert report.ok and report.conflicts == 1
            office = world.login("office1", "office-pc")
            [c] = world.http.get("/api/v1/office/conflicts", headers=office).json()["items"]
            assert {c["winner_value"], c["loser_value"]} == {"甲建设公司", "乙建设公司"}
            world.clock.advance(1000)
            r = world.http.post(f"/api/v1/office/conflicts/{c['id']}/resolve",
                                json={"choice": "custom", "value": "丙建设公司(更正)"},
                                headers=office)
            assert r.status_code == 200, r.text
            assert a.sync().ok and b.sync().ok
            assert a.get("site", world.site1)["contractor"] == "丙建设公司(更正)"
            assert b.get("site", world.site1)["contractor"] == "丙建设公司(更正)"
            assert world.store.get_record("site", world.site1).data["contractor"] == \
                "丙建设公司(更正)"
            # and they keep converging: a later edit on one phone reaches the other cleanly
            world.clock.advance(1000)
            b.update_site(world.site1, contractor="丁")
            assert b.sync().ok and a.sync().ok
            assert a.get("site", world.site1)["contractor"] == "丁"
            assert world.http.get("/api/v1/office/conflicts", headers=office).json()[
                "page"]["total"] == 0
        finally:
            a.close()
            b.close()
