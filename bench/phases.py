"""Device-side phases of the benchmark. Each runs in its own process (so its
peak RSS is its own) and prints one JSON line. The orchestrator (run.py)
starts and stops the server around them.

    python bench/phases.py push  --url U --docs DATA/inspections_N.json --dir D
    python bench/phases.py pull  --url U --dir D --user office1 --expect N
    python bench/phases.py concurrent --url U --devices 200 --mutations 5 --sites a,b
    python bench/phases.py photo --dir D
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import io
import json
import os
import random
import secrets
import signal
import statistics
import subprocess
import sys
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: F401  (puts the product tree under test on sys.path)

import httpx
import msgspec

from common import PASSWORD, Meter, checklist_codes, doc_fields, group_cpu_s, self_peak_mb
from rawhttp import Connection, send
from field_app.core import Device, DeviceSettings
from field_app.core.api import ApiClient
from field_app.core.reports import SyncReport


def _noop(_: Any) -> None:
    pass


def _device(path: Path, url: str, user: str, meter: Meter | None = None) -> Device:
    extra: dict[str, Any] = {"transport": meter} if meter else {}
    if os.environ.get("BENCH_PUSH_BATCH"):  # another device batch size than the default
        extra["batch_size"] = int(os.environ["BENCH_PUSH_BATCH"])
    settings = DeviceSettings(**extra)
    dev = Device.open(path, settings)
    dev.login(url, user, PASSWORD)
    return dev


#: zstd levels measured for the encoding table (docs/performance.md).
ZSTD_LEVELS = (1, 2, 3, 4, 5, 6, 9, 12)


def encodings(bodies: list[bytes]) -> dict[str, Any]:
    """Sizes of the same messages as JSON / msgpack, raw / gzip / zstd, and
    the CPU each compression costs (``compress_ms``: process time of
    compressing all of them once; ``decompress_ms``: of inflating them)."""
    import zstandard

    out: dict[str, Any] = {"json": 0, "json_gzip6": 0, "json_gzip1": 0,
                           "msgpack": 0, "msgpack_gzip6": 0, "msgpack_zstd3": 0}
    for lv in ZSTD_LEVELS:
        out[f"json_zstd{lv}"] = 0
    compress_s: dict[str, float] = {}
    decompress_s: dict[str, float] = {}
    zc = {lv: zstandard.ZstdCompressor(level=lv) for lv in ZSTD_LEVELS}
    zd = zstandard.ZstdDecompressor()

    def timed(key: str, fn: Any, data: bytes) -> bytes:
        t = time.process_time()
        r = fn(data)
        compress_s[key] = compress_s.get(key, 0.0) + time.process_time() - t
        return r

    def inflate(key: str, fn: Any, data: bytes) -> None:
        t = time.process_time()
        fn(data)
        decompress_s[key] = decompress_s.get(key, 0.0) + time.process_time() - t

    for b in bodies:
        obj = msgspec.json.decode(b)
        mp = msgspec.msgpack.encode(obj)
        out["json"] += len(b)
        for lv in (1, 6):
            # the server's settings: zlib level, memLevel 9, gzip wrapper
            def gz(d: bytes, lv: int = lv) -> bytes:
                z = zlib.compressobj(lv, zlib.DEFLATED, 16 + zlib.MAX_WBITS, 9)
                return z.compress(d) + z.flush()
            c = timed(f"json_gzip{lv}", gz, b)
            out[f"json_gzip{lv}"] += len(c)
            inflate(f"json_gzip{lv}", gzip.decompress, c)
        for lv in ZSTD_LEVELS:
            c = timed(f"json_zstd{lv}", zc[lv].compress, b)
            out[f"json_zstd{lv}"] += len(c)
            inflate(f"json_zstd{lv}", zd.decompress, c)
        out["msgpack"] += len(mp)
        out["msgpack_gzip6"] += len(gzip.compress(mp, 6))
        out["msgpack_zstd3"] += len(zc[3].compress(mp))
    out["compress_ms"] = {k: round(v * 1000, 1) for k, v in compress_s.items()}
    out["decompress_ms"] = {k: round(v * 1000, 1) for k, v in decompress_s.items()}
    return out


def _inflate(body: bytes, coding: str | None) -> bytes:
    """A request body as JSON again, whatever the device compressed it with."""
    if coding == "gzip":
        return gzip.decompress(body)
    if coding == "zstd":
        import zstandard

        return zstandard.ZstdDecompressor().decompressobj().decompress(body)
    return body


# --- push --------------------------------------------------------------------


def phase_push(a: argparse.Namespace) -> dict[str, Any]:
    docs = msgspec.json.decode(Path(a.docs).read_bytes())
    n = len(docs)
    meter = Meter()
    dev = _device(Path(a.dir) / "pusher", a.url, "grid1", meter)
    try:
        dev.pull()  # the registry mirror: the peer's 500 sites (not timed)
        codes = checklist_codes()
        t = time.perf_counter()
        with dev.store.write() as tx:  # recording: one upsert per document (not timed)
            for d in docs:
                dev.outbox.upsert(tx, "inspection", d["_id"], doc_fields(d, codes),
                                  {"site_id": 0})
        record_s = time.perf_counter() - t
        client = dev._client()
        with dev.store.read() as tx:
            token = tx.get("token")
        api = ApiClient(a.url, dev.settings, token)
        report = SyncReport()
        try:
            client.pull(api, report, _noop)  # as every sync starts (nothing new here)
            meter.up = meter.down = meter.requests = 0
            meter.keep_bodies = True
            t = time.perf_counter()
            client.push(api, report, _noop)
            dt = time.perf_counter() - t
        finally:
            api.close()
        with dev.store.read() as tx:
            left = tx.count("outbox")
            quarantined = tx.count("quarantine")
        bodies = [b for b, h in meter.bodies_up]
        raw_bodies = [_inflate(b, h.get("content-encoding")) for b, h in meter.bodies_up]
        return {
            "docs": n, "seconds": round(dt, 4), "docs_per_s": round(n / dt, 1),
            "acknowledged": report.pushed, "rejected": report.rejected, "outbox_left": left,
            "quarantined": quarantined, "requests": meter.requests,
            "wire_bytes_up": meter.up, "wire_bytes_down": meter.down,
            "body_bytes_up_sent": sum(len(b) for b in bodies),
            "encodings_up": encodings(raw_bodies),
            "device_record_s": round(record_s, 3),
            "device_peak_rss_mb": round(self_peak_mb(), 1),
        }
    finally:
        dev.close()


# --- pull --------------------------------------------------------------------


def phase_pull(a: argparse.Namespace) -> dict[str, Any]:
    meter = Meter()
    dev = _device(Path(a.dir) / f"puller-{a.user}", a.url, a.user, meter)
    try:
        meter.up = meter.down = meter.requests = 0
        t, c = time.perf_counter(), time.process_time()
        report = dev.pull()
        dt, cpu = time.perf_counter() - t, time.process_time() - c
        assert report.ok, report.errors
        with dev.store.read() as tx:
            count = tx.count("records", "entity='inspection'")
            total = tx.count("records")
        out = {
            "docs": a.expect, "seconds": round(dt, 4), "docs_per_s": round(a.expect / dt, 1),
            "device_cpu_s": round(cpu, 2), "changes_pulled": report.pulled, "inspections_on_device": count,
            "records_on_device": total, "requests": meter.requests,
            "wire_bytes_up": meter.up, "wire_bytes_down": meter.down,
            "device_peak_rss_mb": round(self_peak_mb(), 1),
        }
        if a.encodings:
            # What the same pages weigh in other encodings (one extra, untimed read).
            with dev.store.read() as tx:
                token = tx.get("token")
            bodies = []
            since = 0
            with httpx.Client(base_url=a.url, timeout=120,
                              headers={"Authorization": f"Bearer {token}",
                                       "Accept-Encoding": "identity"}) as h:
                for _ in range(100000):
                    r = h.get("/api/v1/sync/pull", params={"since": since, "limit": 1000})
                    bodies.append(r.content)
                    page = msgspec.json.decode(r.content)
                    since = page["cursor"]
                    if not page["has_more"]:
                        break
            out["encodings_down"] = encodings(bodies)
        return out
    finally:
        dev.close()


# --- 200 concurrent devices ------------------------------------------------------


def phase_concurrent(a: argparse.Namespace) -> dict[str, Any]:
    """Each simulated device: log in (not timed), then ``rounds`` times push
    ``mutations`` new inspections and pull since its cursor. One keep-alive
    connection per device, all on one asyncio loop (``rawhttp``), released
    together once every device has its registry; bounded by rounds."""
    plan = json.loads(Path(a.sites).read_text())  # device i -> its village's sites
    codes = checklist_codes()
    rng = random.Random(7)
    n = a.devices
    from shared_schema.hlc import HybridClock
    from shared_schema.ids import uuid7

    logins: list[dict[str, str]] = [{} for _ in range(n)]
    dev_ids = [uuid7() for _ in range(n)]

    def login(i: int) -> None:
        with httpx.Client(base_url=a.url, timeout=120) as h:
            r = h.post("/api/v1/auth/login", json={
                "username": f"dev{i:03d}", "password": PASSWORD, "device_id": dev_ids[i],
                "device_secret": secrets.token_urlsafe(32)})
            r.raise_for_status()
            logins[i] = {"Authorization": "Bearer " + r.json()["token"]}

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(login, range(n)))

    push_lat: list[float] = []
    pull_lat: list[float] = []
    errors: list[str] = []
    sent: dict[str, str] = {}  # mutation id -> entity id
    statuses: list[str] = []
    # CPU seconds of the server and of this client process in the timed part only
    # (from the moment all devices are released; logins and first pulls excluded).
    timed: dict[str, float] = {}

    spy: list[subprocess.Popen] = []
    db_cpu = None
    if a.db_url:  # PostgreSQL: its backends' CPU is part of the server's
        from pgdb import BackendCpu

        db_cpu = BackendCpu(a.db_url)

    def released() -> None:
        timed["t0"] = time.perf_counter()
        timed["client0"] = time.process_time()
        if db_cpu:
            db_cpu.start()
        if a.server_pid:
            timed["server0"] = group_cpu_s(a.server_pid)
            # BENCH_PROFILE_ROUNDS=file: py-spy of the server in the timed rounds only
            # (BENCH_PROFILE_ROUNDS_ARGS: py-spy options, default --gil = CPU in Python)
            out = os.environ.get("BENCH_PROFILE_ROUNDS")
            if out:
                opts = os.environ.get("BENCH_PROFILE_ROUNDS_ARGS", "--gil").split()
                spy.append(subprocess.Popen(
                    [str(Path(sys.executable).parent / "py-spy"), "record", *opts, "-r", "200",
                     "-f", "raw", "-o", out, "--pid", str(a.server_pid)],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    retries: list[str] = []
    host, port = urlsplit(a.url).hostname or "127.0.0.1", urlsplit(a.url).port or 80
    ready = [0]
    go = asyncio.Event()
    json_type = "application/json"

    def arrive() -> None:
        """A device is ready (or failed before it was): the last one releases all."""
        ready[0] += 1
        if ready[0] == n:
            released()
            go.set()

    async def run(i: int) -> None:
        clock = HybridClock(dev_ids[i])
        conn = Connection(host, port, logins[i])
        seq = 0
        cursor = 0
        arrived = False
        try:
            # The device already holds the registry (its first sync, not timed).
            for _ in range(100):
                status, body = await send(conn, "GET", f"{PULL}?since={cursor}&limit=10000")
                if status != 200:
                    raise RuntimeError(f"first pull {status}: {body[:200]!r}")
                page = page_decoder.decode(body)
                cursor = page.cursor
                if not page.has_more:
                    break
            arrived = True
            arrive()
            await asyncio.wait_for(go.wait(), 300)
            for _ in range(a.rounds):
                muts = []
                for _ in range(a.mutations):
                    seq += 1
                    eid = uuid7()
                    doc = {"site_id": rng.choice(plan[i]), "lat": 29.5, "lon": 106.4, "notes": "",
                           "checklist": [{"answer": "yes", "note": ""}] * 20}
                    muts.append({"op": "upsert", "id": uuid7(), "seq": seq,
                                 "hlc": str(clock.tick()), "entity": "inspection",
                                 "entity_id": eid, "fields": doc_fields(doc, codes),
                                 "base": {}})
                body = msgspec.json.encode({"protocol": 1, "device_id": dev_ids[i],
                                            "client_time_ms": int(time.time() * 1000),
                                            "mutations": muts})
                t = time.perf_counter()
                status, answer = await send(conn, "POST", PUSH, body, json_type, retries)
                push_lat.append(time.perf_counter() - t)
                if status != 200:
                    errors.append(f"push {status}: {answer[:200]!r}")
                else:
                    statuses.extend(r.status for r in push_decoder.decode(answer).results)
                    for m in muts:
                        sent[m["id"]] = m["entity_id"]
                t = time.perf_counter()
                status, answer = await send(conn, "GET", f"{PULL}?since={cursor}&limit=1000",
                                            retries=retries)
                pull_lat.append(time.perf_counter() - t)
                if status != 200:
                    errors.append(f"pull {status}: {answer[:200]!r}")
                else:
                    cursor = page_decoder.decode(answer).cursor
        except Exception as exc:  # counted as an error
            errors.append(f"{type(exc).__name__}: {exc}")
            if not arrived:
                arrive()
        finally:
            await conn.close()

    async def devices() -> None:
        await asyncio.gather(*(run(i) for i in range(n)))

    t0 = time.perf_counter()
    asyncio.run(devices())
    wall = time.perf_counter() - t0
    for p in spy:
        p.send_signal(signal.SIGINT)  # py-spy writes its output on ^C
        p.wait(60)
    if "t0" in timed:
        timed["rounds_wall_s"] = round(time.perf_counter() - timed["t0"], 3)
        timed["client_cpu_rounds_s"] = round(time.process_time() - timed["client0"], 2)
        if a.server_pid:
            timed["server_cpu_rounds_s"] = round(group_cpu_s(a.server_pid) - timed["server0"], 2)
        if db_cpu:
            timed["db_cpu_rounds_s"] = db_cpu.stop()

    def pct(xs: list[float], p: float) -> float:
        if not xs:
            return float("nan")
        xs = sorted(xs)
        return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]

    return {
        "devices": n, "rounds": a.rounds, "mutations_per_push": a.mutations,
        **{k: v for k, v in timed.items() if not k.endswith("0")},
        "pushes": len(push_lat), "pulls": len(pull_lat), "wall_s": round(wall, 3),
        "push_p50_s": round(pct(push_lat, 50), 4), "push_p99_s": round(pct(push_lat, 99), 4),
        "push_max_s": round(max(push_lat), 4) if push_lat else None,
        "pull_p50_s": round(pct(pull_lat, 50), 4), "pull_p99_s": round(pct(pull_lat, 99), 4),
        "errors": len(errors), "error_samples": errors[:5],
        "transport_retries": len(retries), "retry_samples": retries[:3],
        "mutations_sent": len(sent), "entity_ids": sorted(set(sent.values()))[:0],
        "status_counts": {s: statuses.count(s) for s in set(statuses)},
        "sent_ids_file": _dump_ids(a.dir, sent),
        "device_peak_rss_mb": round(self_peak_mb(), 1),
        "latency_mean_push_s": round(statistics.mean(push_lat), 4) if push_lat else None,
    }


class _Page(msgspec.Struct):
    cursor: int
    has_more: bool


class _Result(msgspec.Struct):
    status: str


class _PushAnswer(msgspec.Struct):
    results: list[_Result]


page_decoder = msgspec.json.Decoder(_Page)
push_decoder = msgspec.json.Decoder(_PushAnswer)
PUSH, PULL = "/api/v1/sync/push", "/api/v1/sync/pull"


def _dump_ids(directory: str, sent: dict[str, str]) -> str:
    path = Path(directory) / "concurrent_sent.json"
    path.write_bytes(msgspec.json.encode(sent))
    return str(path)


# --- photo -------------------------------------------------------------------------


def make_12mp_jpeg(path: Path) -> bytes:
    """A deterministic 4000x3000 camera-like JPEG (gradients, texture, edges, EXIF)."""
    from PIL import Image, ImageDraw, ImageFilter

    if path.exists():
        return path.read_bytes()
    w, h = 4000, 3000
    rnd = random.Random(12)
    small = Image.effect_noise((w // 8, h // 8), 60).convert("L")
    base = Image.merge("RGB", (
        Image.linear_gradient("L").resize((w // 8, h // 8)),
        small,
        Image.linear_gradient("L").rotate(90).resize((w // 8, h // 8)),
    )).resize((w, h), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(base)
    for _ in range(400):  # scaffolding, signs, people: hard edges
        x, y = rnd.randrange(w), rnd.randrange(h)
        draw.rectangle([x, y, x + rnd.randrange(20, 400), y + rnd.randrange(20, 300)],
                       outline=tuple(rnd.randrange(256) for _ in range(3)),
                       width=rnd.randrange(2, 12))
    noise = Image.effect_noise((w, h), 18).convert("RGB")
    img = Image.blend(base, noise, 0.12).filter(ImageFilter.SMOOTH)
    exif = Image.Exif()
    exif[0x0110] = "bench-camera"
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=92, exif=exif.tobytes())
    path.write_bytes(buf.getvalue())
    return buf.getvalue()


def phase_photo(a: argparse.Namespace) -> dict[str, Any]:
    from field_app.core.photos import process_photo

    raw = make_12mp_jpeg(Path(a.dir) / "camera_12mp.jpg")
    s = DeviceSettings()
    times = []
    out = None
    for _ in range(a.reps):
        t = time.perf_counter()
        out = process_photo(raw, s.photo_max_px, s.jpeg_quality, s.photo_max_bytes)
        times.append(time.perf_counter() - t)
    assert out is not None
    return {"input_bytes": len(raw), "input_px": "4000x3000", "reps": a.reps,
            "seconds_median": round(statistics.median(times), 4),
            "seconds_max": round(max(times), 4),
            "output_bytes": len(out.data), "output_px": f"{out.width}x{out.height}",
            "quality": out.quality, "device_peak_rss_mb": round(self_peak_mb(), 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("phase", choices=["push", "pull", "concurrent", "photo"])
    ap.add_argument("--url")
    ap.add_argument("--docs")
    ap.add_argument("--dir", required=True)
    ap.add_argument("--user", default="office1")
    ap.add_argument("--expect", type=int, default=0)
    ap.add_argument("--encodings", action="store_true")
    ap.add_argument("--devices", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--mutations", type=int, default=5)
    ap.add_argument("--sites", default="")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--server-pid", type=int, default=0)
    ap.add_argument("--db-url", default="", help="the server's PostgreSQL database (its CPU)")
    a = ap.parse_args()
    fn = {"push": phase_push, "pull": phase_pull, "concurrent": phase_concurrent,
          "photo": phase_photo}[a.phase]
    prof = os.environ.get("BENCH_PROFILE")  # a folder: device-side pyinstrument HTML
    if prof:
        from pyinstrument import Profiler

        with Profiler() as p:
            result = fn(a)
        Path(prof).mkdir(parents=True, exist_ok=True)
        Path(prof, f"device-{a.phase}.txt").write_text(p.output_text(show_all=False))
    else:
        result = fn(a)
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
