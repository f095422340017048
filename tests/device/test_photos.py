"""The photo pipeline (size, orientation, EXIF) and resumable tus uploads."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import time

import httpx
import pytest
from PIL import Image

from field_app.core import Device, DeviceError
from field_app.core.photos import process_photo

from .support import FaultTransport, LiveServer, camera_jpeg, fast_settings, small_jpeg

EXIF_TIME_MS = int(dt.datetime(2025, 11, 26, 10, 30, tzinfo=dt.timezone(
    dt.timedelta(hours=8))).timestamp() * 1000)


def blob(server: LiveServer, dev: Device, sha: str) -> bytes:
    with dev.store.read() as tx:
        token = tx.get("token")
    r = httpx.get(f"{server.url}/api/v1/blobs/{sha}",
                  headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    return r.content


def test_camera_photo_is_turned_downscaled_and_small(server: LiveServer, make_device,
                                                      big_camera_photo: bytes) -> None:
    raw = big_camera_photo
    with Image.open(io.BytesIO(raw)) as original:
        assert original.size == (4000, 3000)
        assert original.getexif()[0x0112] == 6
    dev = make_device("A", server, "grid1")
    insp = dev.start_inspection(server.town.site1)
    photo_id = dev.attach_photo(insp, raw, caption="全景", item_code="C08")

    record = dev.get("photo", photo_id)
    stored = dev.photo_path(record["sha256"]).read_bytes()
    assert hashlib.sha256(stored).hexdigest() == record["sha256"]
    assert record["bytes"] == len(stored) <= 400_000
    with Image.open(io.BytesIO(stored)) as img:
        assert img.format == "JPEG"
        assert img.size == (1200, 1600)  # turned upright: width and height swapped
        assert max(img.size) <= 1600
        assert 0x0112 not in img.getexif()  # no orientation left to apply
        rgb = img.convert("RGB")
        # Orientation 6: the sensor's top-left corner shows at the top right.
        r, g, b = rgb.getpixel((img.width - 20, 20))
        assert r > 200 and g < 60 and b < 60
        r, g, b = rgb.getpixel((20, 20))
        assert not (r > 200 and g < 60 and b < 60)
    # Capture time and position from EXIF.
    assert record["taken_at"] == EXIF_TIME_MS
    assert abs(record["lat"] - 29.66) < 1e-6 and abs(record["lon"] - 106.38) < 1e-6
    assert record["owner_entity"] == "inspection" and record["item_code"] == "C08"
    assert not (dev.data_dir / "photos" / "originals").exists()


def test_arguments_win_over_exif_and_originals_on_request(server: LiveServer, make_device
                                                          ) -> None:
    raw = camera_jpeg(800, 600, orientation=1, seed=5)
    dev = make_device("A", server, "grid1", keep_originals=True, photo_max_px=400)
    case = dev.open_case(site_id=server.town.site1, title="线索", sector="construction")
    pid = dev.attach_photo(case, raw, lat=29.5, lon=106.5, taken_at=1_700_000_000_000)
    rec = dev.get("photo", pid)
    assert (rec["lat"], rec["lon"], rec["taken_at"]) == (29.5, 106.5, 1_700_000_000_000)
    assert rec["owner_entity"] == "case"
    with Image.open(dev.photo_path(rec["sha256"])) as img:
        assert img.size == (400, 300)
    kept = dev.data_dir / "photos" / "originals" / f"{rec['sha256']}.orig"
    assert kept.read_bytes() == raw


def test_quality_steps_down_to_meet_the_byte_budget() -> None:
    raw = camera_jpeg(1600, 1200, orientation=1, seed=7, gps=False)
    free = process_photo(raw, max_px=1600, quality=95)
    capped = process_photo(raw, max_px=1600, quality=95, max_bytes=len(free.data) // 2)
    assert capped.quality < 95 and len(capped.data) < len(free.data)
    assert free.taken_at == EXIF_TIME_MS and free.lat is None


def test_upload_cut_resumes_from_server_offset(server: LiveServer, make_device,
                                               big_camera_photo: bytes) -> None:
    cut = FaultTransport()
    dev = make_device("A", server, "grid1", transport=cut, upload_chunk_bytes=64 * 1024,
                      max_attempts=2)
    insp = dev.start_inspection(server.town.site1)
    pid = dev.attach_photo(insp, big_camera_photo, item_code="C08")
    sha = dev.get("photo", pid)["sha256"]
    length = dev.photo_path(sha).stat().st_size
    assert length > 3 * 64 * 1024

    # The third PATCH is cut after 20,000 bytes, and the signal is gone.
    cut.cut_on_patch_number = 3
    cut.cut_patch_after = 20_000
    report = dev.sync()
    assert report.errors and report.pushed == 2 and report.photos_uploaded == 0
    with dev.store.read() as tx:
        queued = tx.photo(sha)
    assert queued.state == "pending" and queued.upload_url  # persisted for a restart
    upload_id = queued.upload_url.rsplit("/", 1)[1]

    # The server's offset once it has finished with the cut request.
    offsets: list[int] = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        offsets.append(server.store.get_upload(upload_id).offset)
        if len(offsets) >= 5 and len(set(offsets[-5:])) == 1:
            break
        time.sleep(0.02)
    server_offset = offsets[-1]
    assert 2 * 64 * 1024 <= server_offset < length

    # The app restarts (new process, same data folder) with signal again.
    dev.close()
    online = FaultTransport()
    again = Device.open(dev.data_dir, fast_settings(transport=online,
                                                    upload_chunk_bytes=64 * 1024))
    try:
        report = again.sync()
        assert report.ok and report.photos_uploaded == 1, report
        assert online.patch_bytes == length - server_offset  # not from zero
        assert report.bytes_uploaded == length - server_offset
        assert not [x for x in online.log if x[0] == "POST" and "uploads" in x[1]]
        assert ("HEAD", queued.upload_url, "200") in online.log
        got = blob(server, again, sha)
        assert hashlib.sha256(got).hexdigest() == sha
        assert got == again.photo_path(sha).read_bytes()
        assert again.receipt().server.photos_verified == [sha]
    finally:
        again.close()


def test_same_photo_is_not_sent_twice(server: LiveServer, make_device) -> None:
    raw = small_jpeg(42)
    a = make_device("A", server, "grid1")
    t1 = FaultTransport()
    b = make_device("B", server, "grid1", transport=t1)
    for dev in (a, b):
        insp = dev.start_inspection(server.town.site1)
        dev.attach_photo(insp, raw)
    assert a.sync().photos_uploaded == 1
    before = t1.patch_bytes
    report = b.sync()
    assert report.ok and report.photos_uploaded == 1
    assert t1.patch_bytes == before  # the server already had it: dedupe
    assert b.status().pending_photos == 0


def test_a_refused_photo_is_quarantined_and_the_rest_goes_on(make_server, make_device,
                                                             big_camera_photo: bytes) -> None:
    server = make_server(max_upload_bytes=150_000)
    dev = make_device("A", server, "grid1")
    insp = dev.start_inspection(server.town.site1)
    big = dev.get("photo", dev.attach_photo(insp, big_camera_photo))["sha256"]
    small = dev.get("photo", dev.attach_photo(insp, small_jpeg(9)))["sha256"]
    report = dev.sync()
    assert report.photos_uploaded == 1 and report.rejected == 1
    assert report.pushed == 3  # the records went through
    [q] = dev.quarantine()
    assert (q.id, q.kind, q.code) == (f"photo:{big}", "photo", "too_large")
    assert server.store.has_blob(small) and not server.store.has_blob(big)
    # Retry is allowed (say the server's limit was raised); discard needs consent.
    dev.retry_quarantined(q.id)
    assert dev.status().pending_photos == 1 and dev.quarantine() == []
    assert dev.sync().rejected == 1
    dev.discard_quarantined(f"photo:{big}", confirm=True)
    assert dev.status().pending_photos == 0 and dev.quarantine() == []


# --- a photo of a draft deleted (or replaced) -------------------------------------------------


def test_a_photo_deleted_offline_leaves_the_queue_and_the_count(server: LiveServer,
                                                                make_device) -> None:
    """Taken and deleted before any sync: the item's count drops at once, the
    bytes are not uploaded, and the server holds the photo as a tombstone."""
    dev = make_device("A", server, "grid1")
    insp = dev.start_inspection(server.town.site1)
    gone = dev.attach_photo(insp, small_jpeg(1), item_code="C08")
    kept = dev.attach_photo(insp, small_jpeg(2), item_code="C08")
    assert dev.photo_counts(insp) == {"C08": 2}
    dev.delete_photo(gone)
    assert dev.photo_counts(insp) == {"C08": 1}
    assert [p["id"] for p in dev.photos(insp)] == [kept]
    assert dev.status().pending_photos == 1  # only the kept one waits
    sha_gone = dev.get("photo", gone)["sha256"]
    assert dev.photo_path(sha_gone).exists()  # the local file is left alone
    report = dev.sync()
    assert report.ok and report.photos_uploaded == 1 and report.rejected == 0
    assert server.store.get_record("photo", gone).deleted is True
    assert server.store.get_record("photo", kept).deleted is False
    assert not server.store.has_blob(sha_gone)
    assert dev.receipt().safe_to_wipe
    assert dev.check() == []


def test_a_photo_deleted_after_upload_and_replaced(server: LiveServer, make_device) -> None:
    dev = make_device("A", server, "grid1")
    insp = dev.start_inspection(server.town.site1)
    old = dev.attach_photo(insp, small_jpeg(3), item_code="C08")
    assert dev.sync().photos_uploaded == 1
    dev.delete_photo(old)
    new = dev.attach_photo(insp, small_jpeg(4), item_code="C08")  # the replacement
    assert [p["id"] for p in dev.photos(insp)] == [new]
    assert dev.sync().ok
    assert server.store.get_record("photo", old).deleted is True
    assert server.store.has_blob(dev.get("photo", new)["sha256"])
    assert dev.get("photo", old) is not None and dev.get("photo", old)["deleted"] is True


def test_the_same_bytes_on_two_items_stay_queued_for_the_other(server: LiveServer,
                                                              make_device) -> None:
    dev = make_device("A", server, "grid1")
    insp = dev.start_inspection(server.town.site1)
    raw = small_jpeg(5)
    a = dev.attach_photo(insp, raw, item_code="C08")
    dev.attach_photo(insp, raw, item_code="C04")
    dev.delete_photo(a)
    assert dev.status().pending_photos == 1
    assert dev.sync().photos_uploaded == 1


def test_only_a_draft_s_photo_by_its_author_is_deleted(server: LiveServer,
                                                       make_device) -> None:
    dev = make_device("A", server, "grid1")
    insp = dev.start_inspection(server.town.site1)
    pid = dev.attach_photo(insp, small_jpeg(6), item_code="C08")
    case = dev.open_case(site_id=server.town.site1, sector="construction", title="欠薪")
    case_photo = dev.attach_photo(case, small_jpeg(7))
    with pytest.raises(DeviceError) as exc:
        dev.delete_photo(case_photo)
    assert exc.value.code == "wrong_op"
    with dev.store.write() as tx:  # as if submitted (the submit check needs every item)
        row = tx.row("inspection", insp)
        dev.outbox.edit(tx, row, {"state": "submitted"})
    with pytest.raises(DeviceError) as exc:
        dev.delete_photo(pid)
    assert exc.value.code == "inspection_submitted"
    with pytest.raises(DeviceError) as exc:
        dev.delete_photo("no-such-photo")
    assert exc.value.code == "unknown_photo"
    assert dev.photo_counts(insp) == {"C08": 1}


def test_a_refused_delete_is_quarantined_and_discarding_it_gives_the_photo_back(
        server: LiveServer, make_device) -> None:
    """The server's inspection was submitted meanwhile (from another phone of
    the author): this phone's delete is refused and quarantined with the
    reason; discarding it shows the photo again and re-queues its upload."""
    dev = make_device("A", server, "grid1")
    insp = dev.start_inspection(server.town.site1)
    pid = dev.attach_photo(insp, small_jpeg(8), item_code="C08")
    assert dev.sync().ok
    # the server's inspection is submitted behind this phone's back (a second phone)
    from sync_server.domain.registry.service import ServerWriter
    with server.store.transaction() as tx:
        ServerWriter(tx, int(time.time() * 1000)).upsert("inspection", insp,
                                                         {"state": "submitted"})
    with dev.store.write() as tx:  # the photo's bytes were never sent: pending again
        tx.update_photo(dev.get("photo", pid)["sha256"], state="pending")
    dev.delete_photo(pid)
    assert dev.status().pending_photos == 0
    report = dev.sync()
    assert report.rejected == 1
    [q] = dev.quarantine()
    assert (q.code, q.entity, q.entity_id, q.op) == ("inspection_submitted", "photo", pid,
                                                     "delete")
    assert dev.photos(insp) == []  # still shown as the user left it, until they decide
    dev.discard_quarantined(q.id, confirm=True)
    assert [p["id"] for p in dev.photos(insp)] == [pid]
    assert dev.status().pending_photos == 1
