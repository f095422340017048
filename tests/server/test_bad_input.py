"""Bad input and bad logins: limits, malformed bodies, wrong types, tokens."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared_schema.ids import uuid7
from sync_server.domain.auth.service import revoke_device

from .support import (DAY_MS, PASSWORD, AppClient, Device, World, device_secret, error_of, ok,
                      rejected)


def state_of(world: World) -> tuple[Any, ...]:
    s = world.store
    return (s.max_rev(), s.device_stats("devA"),
            [(r.id, r.rev) for r in s.records("site")], s.list_conflicts())


@pytest.fixture
def small_world(make_app_client, clock) -> World:
    app: AppClient = make_app_client(max_push_bytes=4096, max_mutations=3)
    return World(app.client, app.store, clock).seed()


# --- limits -----------------------------------------------------------------


def test_a_body_over_max_push_bytes_is_413_and_changes_nothing(small_world: World) -> None:
    dev = small_world.device("grid1", "devA")
    before = state_of(small_world)
    m = dev.upsert("site", small_world.site1, {"address": "长" * 2000})  # > 4096 bytes
    err = error_of(dev.push_response(m), 413)
    assert err["code"] == "too_large"
    assert err["details"]["limit"] == 4096
    assert state_of(small_world) == before
    # under the limit it goes through
    ok(dev.sync(dev.upsert("site", small_world.site1, {"address": "短"}))[0])


def test_a_push_without_a_valid_login_is_401_before_its_body_is_read(small_world: World) -> None:
    """The login is checked first (on the event loop): an expired or unknown
    token gets 401, not 413, however large the body it came with."""
    dev = small_world.device("grid1", "devA")
    before = state_of(small_world)
    body = json.dumps({"device_id": "devA", "mutations": [
        dev.upsert("site", small_world.site1, {"address": "长" * 2000})]}).encode()
    for headers, code in (({"Authorization": "Bearer not-a-token"}, "token_invalid"),
                          ({}, "auth_required")):
        r = small_world.http.post("/api/v1/sync/push", content=body,
                                  headers={**headers, "Content-Type": "application/json"})
        assert error_of(r, 401)["code"] == code
    assert state_of(small_world) == before


def test_a_streamed_body_without_length_is_cut_at_the_limit(small_world: World) -> None:
    dev = small_world.device("grid1", "devA")
    before = state_of(small_world)
    body = json.dumps({"device_id": "devA", "mutations": [
        dev.upsert("site", small_world.site1, {"address": "长" * 2000})]}).encode()

    def chunks():
        for i in range(0, len(body), 1000):
            yield body[i:i + 1000]

    r = small_world.http.post("/api/v1/sync/push", content=chunks(),
                              headers={**dev.headers, "Content-Type": "application/json"})
    assert "content-length" not in {k.lower() for k in r.request.headers}
    assert error_of(r, 413)["code"] == "too_large"
    assert state_of(small_world) == before


def test_more_than_max_mutations_is_413_and_changes_nothing(small_world: World) -> None:
    dev = small_world.device("grid1", "devA")
    before = state_of(small_world)
    batch = [dev.upsert("site", small_world.site1, {"contact_name": f"人{i}"}) for i in range(4)]
    err = error_of(dev.push_response(*batch), 413)
    assert err["code"] == "too_many_mutations"
    assert (err["details"]["limit"], err["details"]["got"]) == (3, 4)
    assert state_of(small_world) == before
    assert [r["status"] for r in dev.sync(*batch[:3])] == ["applied"] * 3


# --- malformed bodies ----------------------------------------------------------


@pytest.mark.parametrize("body", [b"{", b"", b"not json", b'{"device_id": "devA", "mutations": [}'])
def test_malformed_json_is_400_with_a_path(world: World, body: bytes) -> None:
    dev = world.device("grid1", "devA")
    before = state_of(world)
    r = world.http.post("/api/v1/sync/push", content=body,
                        headers={**dev.headers, "Content-Type": "application/json"})
    err = error_of(r, 400)
    assert err["code"] == "malformed_json"
    assert err["details"]["path"].startswith("$")
    assert state_of(world) == before


def mutation(**overrides: Any) -> dict[str, Any]:
    m = {"op": "upsert", "id": uuid7(), "seq": 1, "hlc": "1764140000000.0000.devA",
         "entity": "site", "entity_id": uuid7(), "fields": {}, "base": {}}
    m.update(overrides)
    return m


# (body, expected path)
WRONG_TYPES = [
    ({"device_id": "devA", "mutations": [mutation(seq="seventeen")]}, "$.mutations[0].seq"),
    ({"device_id": "devA", "mutations": [mutation(), mutation(hlc=17)]}, "$.mutations[1].hlc"),
    ({"device_id": "devA", "mutations": [mutation(op="replace")]}, "$.mutations[0].op"),
    ({"device_id": "devA", "mutations": [mutation(base={"name": "x"})]},
     "$.mutations[0].base[...]"),  # msgspec names a map value so
    ({"device_id": "devA", "mutations": [mutation(fields=[1, 2])]}, "$.mutations[0].fields"),
    ({"device_id": "devA", "mutations": {"0": mutation()}}, "$.mutations"),
    ({"device_id": 7, "mutations": []}, "$.device_id"),
    ({"mutations": []}, "$"),
    ({"device_id": "devA", "mutations": [], "client_time_ms": "now"}, "$.client_time_ms"),
    ([], "$"),
]


@pytest.mark.parametrize(("body", "path"), WRONG_TYPES)
def test_wrong_types_are_400_with_the_path(world: World, body: Any, path: str) -> None:
    dev = world.device("grid1", "devA")
    before = state_of(world)
    err = error_of(world.http.post("/api/v1/sync/push", json=body, headers=dev.headers), 400)
    assert err["code"] == "invalid_body"
    assert err["details"]["path"] == path
    assert state_of(world) == before


def test_unknown_entity_fields_are_rejected_unknown_envelope_fields_ignored(
        world: World) -> None:
    """Protocol 1.1: an unknown field of an entity is ``unknown_field`` (the
    mutation waits in the device's quarantine instead of losing the value);
    unknown fields of the envelope and the mutation are still ignored."""
    dev = world.device("grid1", "devA")
    m = dev.upsert("site", world.site1, {"contact_name": "赵工", "future_field": 1})
    m["future_flag"] = True
    good = dev.upsert("site", world.site1, {"contact_name": "赵工"})
    good["future_flag"] = True
    r = dev.push_response(m, good, future_top_level={"x": 1})
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    err = rejected(results[0], "unknown_field")
    assert err["details"]["path"] == "$.fields.future_field"
    ok(results[1])
    data = world.store.get_record("site", world.site1).data
    assert "future_field" not in data and data["contact_name"] == "赵工"


def test_an_unsupported_protocol_is_400(world: World) -> None:
    dev = world.device("grid1", "devA")
    err = error_of(dev.push_response(protocol=99), 400)
    assert err["code"] == "unsupported_protocol"
    assert dev.push_response(protocol=0).status_code == 200  # the previous version


# --- per-mutation validation -----------------------------------------------------


def test_wrong_field_types_reject_only_that_mutation(world: World) -> None:
    dev = world.device("grid1", "devA")
    results = dev.sync(
        dev.upsert("site", world.site1, {"contact_name": "孙工"}),
        dev.upsert("site", world.site1, {"contract_amount": "很多"}),
        dev.upsert("site", world.site1, {"gov_invested": "yes"}),
        dev.upsert("site", world.site1, {"kind": "farm"}),
        dev.upsert("site", world.site1, {"contact_phone": "13600000000"}),
    )
    ok(results[0])
    assert rejected(results[1], "invalid_field")["details"]["path"] == "$.fields.contract_amount"
    assert rejected(results[2], "invalid_field")["details"]["path"] == "$.fields.gov_invested"
    assert rejected(results[3], "invalid_field")["details"]["path"] == "$.fields.kind"
    ok(results[4])
    site = world.store.get_record("site", world.site1).data
    assert (site["contact_name"], site["contact_phone"]) == ("孙工", "13600000000")
    assert site.get("contract_amount") is None and site["kind"] == "construction"


# (mutation builder, expected code) — each in a batch with a good mutation after it
def _bad_mutations(world: World, dev: Device) -> list[tuple[dict[str, Any], str]]:
    good_case = uuid7()
    ok(dev.sync(dev.upsert("case", good_case, {"site_id": world.site1, "title": "欠薪",
                                               "sector": "construction"}))[0])
    return [
        (dev.upsert("village", world.v1, {"name": "改名"}), "read_only_entity"),
        (dev.upsert("bridge", uuid7(), {"name": "x"}), "unknown_entity"),
        (dev.upsert("site", "not-a-uuid", {"name": "x"}), "invalid_id"),
        (dev.insert("site", uuid7(), {"name": "x"}), "wrong_op"),
        (dev.upsert("case_event", uuid7(), {"case_id": good_case, "kind": "accept"}), "wrong_op"),
        ({**dev.upsert("site", world.site1, {"name": "x"}), "hlc": "yesterday"}, "invalid_hlc"),
        ({**dev.upsert("site", world.site1, {"name": "x"}),
          "hlc": "1764140000000.0000.someone-else"}, "invalid_hlc"),
        (dev.upsert("site", uuid7(), {"name": "缺类型", "village_id": world.v1}),
         "missing_field"),
        (dev.upsert("site", uuid7(), {"name": "x", "kind": "factory", "village_id": uuid7()}),
         "unknown_village"),
        (dev.upsert("site", world.site1, {"contract_amount": -1}), "negative_value"),
        (dev.upsert("case", good_case, {"status": "closed"}), "derived_field"),
        (dev.upsert("case", uuid7(), {"site_id": world.site1, "title": "负数",
                                      "sector": "construction", "workers_owed": -3}),
         "negative_value"),
        (dev.insert("case_event", uuid7(), {"case_id": uuid7(), "kind": "note", "note": "x"}),
         "unknown_case"),
        (dev.insert("case_event", uuid7(), {"case_id": good_case, "kind": "payment",
                                            "amount_recovered": -100}), "negative_value"),
        (dev.insert("photo", uuid7(), {"sha256": "ABC", "owner_entity": "case",
                                       "owner_id": good_case}), "invalid_field"),
        (dev.insert("photo", uuid7(), {"sha256": "d" * 64, "owner_entity": "case",
                                       "owner_id": uuid7()}), "unknown_owner"),
        (dev.delete("site", world.site1), "role_not_allowed"),
        (dev.delete("site", uuid7()), "not_found"),
    ]


def test_each_bad_mutation_is_rejected_with_its_code_and_the_rest_applies(
        world: World) -> None:
    dev = world.device("grid1", "devA")
    table = _bad_mutations(world, dev)
    batch: list[dict[str, Any]] = []
    for m, _ in table:
        batch += [m, dev.upsert("site", world.site1, {"contact_name": f"好{len(batch)}"})]
    results = dev.sync(*batch)
    got = [(r["status"], r.get("error", {}).get("code")) for r in results]
    expected = []
    for _, code in table:
        expected += [("rejected", code), ("applied", None)]
    assert got == expected
    assert world.store.get_record("village", world.v1).data["name"] == "一村"
    assert world.store.get_record("site", world.site1).data["contact_name"] == (
        f"好{len(batch) - 2}")
    stats = world.store.device_stats("devA")
    assert stats.mutations_rejected == len(table)


def test_an_upsert_on_a_deleted_record_is_rejected(world: World) -> None:
    office = world.device("office1", "devO")
    ok(office.sync(office.delete("site", world.site2))[0])
    g2 = world.device("grid2", "devB")
    assert g2.record("site", world.site2)["deleted"] is True
    rejected(g2.sync(g2.upsert("site", world.site2, {"name": "复活"}))[0], "record_deleted")
    changes = g2.pull(0)
    (tomb,) = [c for c in changes if c["id"] == world.site2]
    assert tomb["deleted"] is True


# --- tokens ------------------------------------------------------------------------


def test_no_or_unknown_token_is_401(world: World) -> None:
    for headers, code in (({}, "auth_required"), ({"Authorization": "Basic abc"}, "auth_required"),
                          ({"Authorization": "Bearer forged"}, "token_invalid")):
        for r in (world.http.get("/api/v1/sync/pull", headers=headers),
                  world.http.post("/api/v1/sync/push", json={"device_id": "x", "mutations": []},
                                  headers=headers),
                  world.http.get("/api/v1/sync/receipt", headers=headers)):
            assert error_of(r, 401)["code"] == code


def test_wrong_password_is_401(world: World) -> None:
    for username in ("grid1", "nobody"):
        r = world.http.post("/api/v1/auth/login", json={
            "username": username, "password": "wrong", "device_id": "devA",
            "device_secret": device_secret("devA")})
        assert error_of(r, 401)["code"] == "invalid_credentials"


def test_login_answers_the_user_and_scope(world: World) -> None:
    r = world.http.post("/api/v1/auth/login", json={
        "username": "sector1", "password": "pw-治欠", "device_id": "devS",
        "device_secret": device_secret("devS"), "device_name": "华为"})
    body = r.json()
    assert body["user"]["role"] == "sector_inspector"
    assert body["user"]["scope"] == {"all": False, "village_ids": [], "department_ids": [world.d1]}
    assert body["expires_at"] == world.clock() + 30 * DAY_MS
    assert world.store.get_device("devS").name == "华为"


@pytest.mark.parametrize("device_id", ["", "dev.A", "x" * 101])
def test_login_refuses_bad_device_ids(world: World, device_id: str) -> None:
    r = world.http.post("/api/v1/auth/login", json={
        "username": "grid1", "password": "pw-治欠", "device_id": device_id})
    assert error_of(r, 400)["code"] == "invalid_device_id"


def test_an_expired_token_is_401_and_a_new_login_works(make_app_client, clock) -> None:
    app = make_app_client(token_ttl_ms=3600_000)
    world = World(app.client, app.store, clock).seed()
    dev = world.device("grid1", "devA")
    m = dev.upsert("site", world.site1, {"contact_name": "过期前"})
    clock.advance(3600_000)
    before = world.store.max_rev()
    for r in (dev.push_response(m), dev.pull_response(0)):
        assert error_of(r, 401)["code"] == "token_expired"
    assert world.store.max_rev() == before
    dev.headers = world.login("grid1", "devA")
    ok(dev.sync(m)[0])  # the queued mutation still goes through


def test_a_revoked_device_is_401(world: World) -> None:
    a = world.device("grid1", "devA")
    other = world.device("grid1", "devA2")
    assert revoke_device(world.store, "devA", world.clock()) == 1
    assert error_of(a.pull_response(0), 401)["code"] == "token_revoked"
    assert error_of(a.push_response(), 401)["code"] == "token_revoked"
    assert other.pull_response(0).status_code == 200  # only that device
    # and it stays revoked (issue #14): no login from it until an admin enables it
    r = world.http.post("/api/v1/auth/login", json={
        "username": "grid1", "password": PASSWORD, "device_id": "devA",
        "device_secret": device_secret("devA")})
    assert error_of(r, 403)["code"] == "device_revoked"
    admin = world.login("admin", "admin-pc")
    assert world.http.post("/api/v1/admin/devices/devA/enable", headers=admin).status_code == 200
    a.headers = world.login("grid1", "devA")
    assert a.pull_response(0).status_code == 200


def test_a_token_pushing_for_another_device_is_401(world: World) -> None:
    a = world.device("grid1", "devA")
    world.device("grid1", "devB")
    before = state_of(world)
    m = a.upsert("site", world.site1, {"contact_name": "冒名"})
    r = a.push_response(m, device_id="devB")
    assert error_of(r, 401)["code"] == "device_mismatch"
    assert state_of(world) == before


def test_a_phone_handed_to_another_user_loses_the_old_login(world: World) -> None:
    a = world.device("grid1", "devA")
    world.login("grid2", "devA")
    assert error_of(a.pull_response(0), 401)["code"] == "token_revoked"


def test_a_receipt_of_another_device_needs_the_office(world: World) -> None:
    a = world.device("grid1", "devA")
    world.device("grid2", "devB")
    r = world.http.get("/api/v1/sync/receipt", params={"device_id": "devB"}, headers=a.headers)
    assert error_of(r, 403)["code"] == "forbidden"
    office = world.device("office1", "devO")
    r = world.http.get("/api/v1/sync/receipt", params={"device_id": "devB"},
                       headers=office.headers)
    assert r.status_code == 200 and r.json()["device_id"] == "devB"
    r = world.http.get("/api/v1/sync/receipt", params={"device_id": "nope"},
                       headers=office.headers)
    assert error_of(r, 404)["code"] == "not_found"


@pytest.mark.parametrize("query", ["since=abc", "since=-1", "limit=0", "limit=10001",
                                   "limit=x"])
def test_bad_pull_parameters_are_400(world: World, query: str) -> None:
    dev = world.device("grid1", "devA")
    r = world.http.get(f"/api/v1/sync/pull?{query}", headers=dev.headers)
    err = error_of(r, 400)
    assert err["code"] == "invalid_parameter"
    assert err["details"]["path"] == query.split("=")[0]
