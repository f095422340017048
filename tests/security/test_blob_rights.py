"""Issue 14, finding 1 (the blob half): knowing a photo's sha256 reads nothing.

A blob is served to someone who sent its bytes, or through a live photo
record the reader may see whose creator sent them. Naming another village's
hash in a photo record of one's own, or "uploading" it through the dedupe
shortcut, does not make it readable. An upload belongs to the user who made
it, not to a device id.
"""

from __future__ import annotations

import secrets

import httpx

from server.support import AppClient, Device, ManualClock, World, error_of, ok
from shared_schema.ids import uuid7
from sync_server.domain.auth.service import token_hash
from sync_server.store.base import TokenRow

from .test_uploads import create, patch, sha  # the tus requests of these tests


def upload(world: World, dev: Device, data: bytes) -> None:
    r = create(world.http, dev, len(data), sha(data))
    assert r.status_code == 201, r.text
    if int(r.headers["Upload-Offset"]) < len(data):
        assert patch(world.http, dev, r.headers["Location"], 0, data).status_code == 204


def photo_of_village1(world: World, data: bytes) -> tuple[Device, str]:
    """grid1 records an inspection of site 1 (village 1) with this photo, sent."""
    grid1 = world.device("grid1", f"g1-{uuid7()[-12:]}")
    upload(world, grid1, data)
    insp = uuid7()
    ok(grid1.sync(grid1.upsert("inspection", insp, {"site_id": world.site1}))[0])
    ok(grid1.sync(grid1.insert("photo", uuid7(), {
        "sha256": sha(data), "owner_entity": "inspection", "owner_id": insp}))[0])
    return grid1, sha(data)


def get_blob(world: World, dev: Device, digest: str) -> httpx.Response:
    return world.http.get(f"/api/v1/blobs/{digest}", headers=dev.headers)


def test_naming_a_hash_in_ones_own_photo_record_reads_nothing(world: World) -> None:
    secret = b"\xff\xd8 village 1 complainant's wage sheet" * 20
    grid1, digest = photo_of_village1(world, secret)
    grid2 = world.device("grid2", "g2-thief")
    error_of(get_blob(world, grid2, digest), 404)
    # grid2 names the hash in a photo of a case in its own village
    case = uuid7()
    ok(grid2.sync(grid2.upsert("case", case, {"site_id": world.site2, "title": "借名",
                                              "sector": "non_construction"}))[0])
    ok(grid2.sync(grid2.insert("photo", uuid7(), {
        "sha256": digest, "owner_entity": "case", "owner_id": case}))[0])
    assert error_of(get_blob(world, grid2, digest), 404)["code"] == "not_found"
    assert world.http.head(f"/api/v1/blobs/{digest}", headers=grid2.headers).status_code == 404
    # those entitled still read it: the sender, office, the department's inspector
    assert get_blob(world, grid1, digest).content == secret
    assert get_blob(world, world.device("office1", "off-1"), digest).content == secret
    assert get_blob(world, world.device("sector1", "sec-1"), digest).content == secret


def test_the_dedupe_shortcut_is_only_for_who_sent_the_bytes(world: World) -> None:
    secret = b"\xff\xd8 village 1 photo" * 30
    grid1, digest = photo_of_village1(world, secret)
    grid2 = world.device("grid2", "g2-dedupe")
    r = create(world.http, grid2, len(secret), digest)
    assert r.status_code == 201
    assert r.headers["Upload-Offset"] == "0"  # not "complete": send the bytes
    location = r.headers["Location"]
    wrong = b"\x00" * len(secret)
    r = patch(world.http, grid2, location, 0, wrong)
    assert error_of(r, 460)["code"] == "checksum_mismatch"
    case = uuid7()
    ok(grid2.sync(grid2.upsert("case", case, {"site_id": world.site2, "title": "借名",
                                              "sector": "non_construction"}))[0])
    ok(grid2.sync(grid2.insert("photo", uuid7(), {
        "sha256": digest, "owner_entity": "case", "owner_id": case}))[0])
    error_of(get_blob(world, grid2, digest), 404)
    # the sender's own second upload (another phone) still sends nothing
    again = world.device("grid1", "g1-second-phone")
    r = create(world.http, again, len(secret), digest)
    assert r.headers["Upload-Offset"] == str(len(secret))


def test_whoever_really_holds_the_bytes_may_send_and_read_them(world: World) -> None:
    """The same photo taken twice (or forwarded): sending the bytes proves
    holding them, and the server checks every byte."""
    data = b"\xff\xd8 the same notice board" * 25
    photo_of_village1(world, data)
    grid2 = world.device("grid2", "g2-holder")
    upload(world, grid2, data)
    assert get_blob(world, grid2, sha(data)).content == data


def test_a_blob_nobody_named_is_not_the_township_s(world: World) -> None:
    data = b"\xff\xd8 not yet named" * 10
    grid1 = world.device("grid1", "g1-unnamed")
    upload(world, grid1, data)
    assert get_blob(world, grid1, sha(data)).content == data  # its sender
    error_of(get_blob(world, world.device("office1", "off-2"), sha(data)), 404)


def _token_on(app_client: AppClient, world: World, username: str, device_id: str,
              clock: ManualClock) -> dict[str, str]:
    """A login of ``username`` bound to ``device_id`` (a handed-over phone, or
    finding 1's takeover), minted in the store: the test is about what the
    upload routes do with it, whatever login then allows."""
    token = secrets.token_urlsafe(32)
    with app_client.store.transaction() as tx:
        tx.put_token(TokenRow(token_hash=token_hash(token), user_id=world.user_id(username),
                              device_id=device_id, expires_at=clock() + 10**9,
                              created_at=clock()))
    return {"Authorization": f"Bearer {token}"}


def test_an_upload_is_its_users_not_its_device_ids(app_client: AppClient, world: World,
                                                   clock: ManualClock) -> None:
    grid1 = world.device("grid1", "shared-phone")
    data = b"\xff\xd8 in progress" * 40
    r = create(world.http, grid1, len(data), sha(data))
    location = r.headers["Location"]
    assert patch(world.http, grid1, location, 0, data[:100]).status_code == 204
    other = _token_on(app_client, world, "grid2", "shared-phone", clock)
    assert world.http.head(location, headers=other).status_code == 404
    error_of(world.http.patch(location, content=data[100:], headers={
        **other, "Tus-Resumable": "1.0.0", "Upload-Offset": "100",
        "Content-Type": "application/offset+octet-stream"}), 404)
    error_of(world.http.delete(location, headers=other), 404)
    assert app_client.store.get_upload(location.rsplit("/", 1)[1]).offset == 100
    # and its blob, once sent, is not the other user's either
    assert patch(world.http, grid1, location, 100, data[100:]).status_code == 204
    error_of(world.http.get(f"/api/v1/blobs/{sha(data)}", headers=other), 404)
    assert get_blob(world, grid1, sha(data)).content == data


def test_a_handed_over_phone_sends_the_last_users_photo(app_client: AppClient, world: World,
                                                        clock: ManualClock) -> None:
    """grid1 records a photo on a phone and hands it over before it was sent;
    the next user's session sends the bytes from the same phone. The record
    stays readable by those who may see it (grid1 recorded it on that phone)."""
    grid1 = world.device("grid1", "handed-over")
    data = b"\xff\xd8 taken before the hand-over" * 20
    insp = uuid7()
    ok(grid1.sync(grid1.upsert("inspection", insp, {"site_id": world.site1}))[0])
    ok(grid1.sync(grid1.insert("photo", uuid7(), {
        "sha256": sha(data), "owner_entity": "inspection", "owner_id": insp}))[0])
    nxt = Device(world, "grid2", "handed-over",
                 _token_on(app_client, world, "grid2", "handed-over", clock))
    upload(world, nxt, data)
    assert get_blob(world, world.device("office1", "off-ho"), sha(data)).content == data
    assert get_blob(world, grid1, sha(data)).content == data
    # the sender, and who recorded the photo on that phone
    assert app_client.store.blob_holders(sha(data)) == sorted(
        [world.user_id("grid1"), world.user_id("grid2")])
