"""A device clock far ahead is re-stamped at server time and cannot win by it."""

from __future__ import annotations

from shared_schema.hlc import Hlc

from .support import DAY_MS, World, ok

SKEW = 5 * 60 * 1000  # Settings.max_clock_skew_ms default


def test_a_mutation_a_day_ahead_is_restamped_and_loses_to_a_later_edit(world: World) -> None:
    fast = world.device("grid1", "devFast", skew_ms=DAY_MS)
    normal = world.device("office1", "devB")
    pushed_at = world.clock()

    m_fast = fast.upsert("site", world.site1, {"contractor": "快钟公司"})
    assert Hlc.parse(m_fast["hlc"]).wall_ms == pushed_at + DAY_MS
    body = fast.push(m_fast)
    (r,) = body["results"]
    ok(r)
    assert body["clock_skewed"] is True
    restamped = Hlc.parse(r["hlc"])
    sent = Hlc.parse(m_fast["hlc"])
    assert restamped.wall_ms == body["server_time_ms"] == pushed_at
    assert (restamped.counter, restamped.node) == (sent.counter, sent.node)
    stored = world.store.get_record("site", world.site1).meta["contractor"]
    assert stored.hlc == r["hlc"]

    receipt = fast.receipt()
    assert receipt["clock_skewed"] is True
    assert receipt["clock_offset_ms"] == DAY_MS

    # a normal device edits concurrently (from the old base) a second later
    world.clock.advance(1000)
    m_normal = normal.upsert("site", world.site1, {"contractor": "正常公司"})
    assert Hlc.parse(m_normal["hlc"]) < sent  # unclamped, the fast clock would have won
    ok(normal.sync(m_normal)[0], "merged")
    (c,) = world.store.list_conflicts("open")
    assert (c.winner_value, c.winner_device) == ("正常公司", "devB")
    assert (c.loser_value, c.loser_hlc) == ("快钟公司", r["hlc"])
    normal.pull()
    assert normal.record("site", world.site1)["contractor"] == "正常公司"


def test_restamped_mutations_keep_the_devices_order(world: World) -> None:
    fast = world.device("grid1", "devFast", skew_ms=DAY_MS)
    batch = [fast.upsert("site", world.site1, {"contact_name": name})
             for name in ("一", "二", "三")]
    results = fast.sync(*batch)
    stamps = [Hlc.parse(r["hlc"]) for r in results]
    assert stamps == sorted(stamps) and len(set(stamps)) == 3
    assert all(h.wall_ms <= world.clock() for h in stamps)
    assert world.store.get_record("site", world.site1).data["contact_name"] == "三"


def test_a_clock_within_the_bound_is_kept(world: World) -> None:
    slightly = world.device("grid1", "devA", skew_ms=SKEW)
    m = slightly.upsert("site", world.site1, {"contact_name": "准"})
    body = slightly.push(m)
    assert body.get("clock_skewed", False) is False  # defaults are omitted on the wire
    assert "hlc" not in body["results"][0]
    assert world.store.get_record("site", world.site1).meta["contact_name"].hlc == m["hlc"]
    assert slightly.receipt().get("clock_skewed", False) is False


def test_the_skew_flag_clears_once_the_clock_is_fixed(world: World) -> None:
    dev = world.device("grid1", "devA", skew_ms=DAY_MS)
    assert dev.push(dev.upsert("site", world.site1, {"contact_name": "1"}))["clock_skewed"]
    assert dev.receipt()["clock_skewed"] is True
    world.clock.advance(DAY_MS + 1000)  # the device's HLC is now behind wall time
    dev.skew_ms = 0
    body = dev.push(dev.upsert("site", world.site1, {"contact_name": "2"}))
    assert body.get("clock_skewed", False) is False
    receipt = dev.receipt()
    assert receipt.get("clock_skewed", False) is False
    assert receipt["clock_offset_ms"] == 0


def test_a_rejected_mutation_still_shows_its_clock_ahead(world: World) -> None:
    """The field checks run before the writer (``_check``); a valid clock far
    ahead still counts for the batch's skew flag, as it did when the fields
    were checked after the stamp."""
    fast = world.device("grid1", "devFast", skew_ms=DAY_MS)
    body = fast.push(fast.upsert("site", world.site1, {"contact_name": 5}))
    (r,) = body["results"]
    assert (r["status"], r["error"]["code"]) == ("rejected", "invalid_field")
    assert body["clock_skewed"] is True


def test_a_clock_of_another_device_is_rejected_and_not_counted(world: World) -> None:
    fast = world.device("grid1", "devFast", skew_ms=DAY_MS)
    m = fast.upsert("site", world.site1, {"contact_name": "别人的钟"})
    sent = Hlc.parse(m["hlc"])
    m["hlc"] = str(Hlc(sent.wall_ms, sent.counter, "devOther"))
    body = fast.push(m)
    (r,) = body["results"]
    assert (r["status"], r["error"]["code"]) == ("rejected", "invalid_hlc")
    assert body.get("clock_skewed", False) is False
