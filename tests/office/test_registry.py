"""The office site registry list: filters, search, order, paging and the open
cases of each listed site, through the HTTP API."""

from __future__ import annotations

from typing import Any

from server.support import World
from tests.office.test_cases import event, intake


def test_registry_list_filters_searches_pages_and_counts_open_cases(
        world: World, office: dict[str, str]) -> None:
    for site, n in ((world.site1, 2), (world.site2, 1)):
        for _ in range(n):
            r = intake(world, office, site_id=site)
            assert r.status_code == 201, r.text
    gone = intake(world, office, site_id=world.site1).json()["case"]["id"]
    r = event(world, office, gone, "dismiss", note="不属于欠薪")
    assert r.json()["case"]["status"] == "dismissed", r.text

    def listed(**params: Any) -> tuple[list[tuple[str, int, str | None]], dict[str, int]]:
        r = world.http.get("/api/v1/office/sites", params=params, headers=office)
        assert r.status_code == 200, r.text
        body = r.json()
        return ([(i["site"]["id"], i["open_cases"], i["village_name"]) for i in body["items"]],
                body["page"])

    one = (world.site1, 2, "一村")  # the dismissed case is not open
    two = (world.site2, 1, "二社区")
    assert listed() == ([one, two], {"total": 2, "limit": 50, "offset": 0})  # by name
    assert listed(limit=1, offset=1) == ([two], {"total": 2, "limit": 1, "offset": 1})
    assert listed(village=world.v2)[0] == [two]
    assert listed(kind="construction")[0] == [one]
    assert listed(q="服装")[0] == [two]
    assert listed(q="原总包")[0] == [one]  # the contractor is searched too
    assert listed(q="没有")[0] == [] and listed(q="没有")[1]["total"] == 0
