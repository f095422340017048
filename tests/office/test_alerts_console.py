"""The console's side of alerts, against the real server on uvicorn: the
client reads the count from every response's header, lists and
acknowledges; the view-model orders the rows and words the badge."""

from __future__ import annotations

from pathlib import Path

from field_app.ui.office.client import OfficeClient
from field_app.ui.office.viewmodels.alerts import alert_rows, badge_text
from server.support import ok, serve_world
from shared_schema.ids import uuid7


def test_the_console_client_follows_the_count_and_acknowledges(tmp_path: Path) -> None:
    with serve_world(tmp_path) as (server, world):
        grid1 = world.device("grid1", "devA")
        token = world.login("office1", "office-pc")["Authorization"].split()[1]
        office = OfficeClient(server.url, token)
        try:
            office.cases()
            assert office.alert_count == 0
            ids = []
            for n, place in enumerate(("村口", "农贸市场")):
                m = grid1.insert("incident", uuid7(), {
                    "kind": "collective_claim", "site_id": None, "place": place,
                    "village_id": world.v1, "headcount": 5 + n,
                    "occurred_at": world.clock(), "on_scene": "劝导"})
                ok(grid1.sync(m)[0])
                ids.append(m["entity_id"])
                world.clock.advance(60_000)
            office.cases()  # any call: the header says so
            assert office.alert_count == 2
            page = office.alerts()
            assert page.unacknowledged == 2
            newest, older = page.items
            assert newest.place == "农贸市场" and newest.village_name == "一村"
            ack = office.ack_alert(older.id)
            assert ack.already is False and ack.unacknowledged == 1 and office.alert_count == 1
            assert office.ack_alert(older.id).already is True
            rows = alert_rows(office.alerts())
            assert [(r.alert.id, r.open) for r in rows] == [(newest.id, True), (older.id, False)]
            assert rows[0].title == "群体性讨薪：农贸市场" and rows[0].place == "一村 · 农贸市场"
        finally:
            office.close()


def test_badge_words() -> None:
    assert [badge_text(n) for n in (None, 0, 1, 99, 100)] == [None, None, "1", "99", "99+"]
