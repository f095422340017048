"""kill -9 of a device process that records in a loop leaves a consistent
store: every record has its outbox mutation and vice versa, every action the
process reported done is there, and integrity_check is ok."""

from __future__ import annotations

import signal
import subprocess
import sys
from typing import Iterable

from field_app.core import Device

from .support import ROOT, LiveServer, fast_settings

RECORDER = r"""
import io, itertools, sys
from PIL import Image
from field_app.core import Device

dev = Device.open(sys.argv[1])
insp, site = sys.argv[2], sys.argv[3]
start = int(sys.argv[4])
codes = ["C01", "C02", "C03", "C05", "C11", "C12"]
for i in itertools.count(start):
    dev.answer(insp, codes[i % len(codes)], "yes" if i % 2 else "no", note=f"n{i}")
    if i % 7 == 3:
        dev.update_site(site, contact_phone=f"138{i:08d}")
    if i % 20 == 10:
        img = Image.new("RGB", (320, 240), (i % 256, 80, 160))
        buf = io.BytesIO()
        img.save(buf, "JPEG")
        dev.attach_photo(insp, buf.getvalue(), item_code="C12", caption=f"p{i}")
    print(i, flush=True)
"""


def notes_in_outbox(dev: Device) -> set[int]:
    with dev.store.read() as tx:
        out = set()
        for entry in tx.outbox():
            for item in (entry.mutation.fields.get("answers") or {}).values():
                out.add(int(item["note"][1:]))
    return out


def record_and_kill(data_dir: str, insp: str, site: str, start: int, after: int) -> list[int]:
    proc = subprocess.Popen([sys.executable, "-c", RECORDER, data_dir, insp, site, str(start)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done: list[int] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            done.append(int(line))
            if len(done) >= after:
                break
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=20)
        # The child kept working until the signal landed: what it reported
        # after we stopped reading counts as reported too.
        done += [int(line) for line in proc.stdout.read().split()]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read() if proc.stderr else ""
    return done


def kill_while_recording(server: LiveServer, make_device,
                         kill_after: Iterable[int]) -> tuple[str, str, list[int]]:
    """grid1's device starts an inspection of site 1; then, for each number
    in ``kill_after``, a child process records that many notes and is
    SIGKILLed, and the reopened store must be consistent and keep every
    action reported done. The data folder, the inspection and what was
    reported done."""
    dev = make_device("A", server, "grid1")
    insp = dev.start_inspection(server.town.site1)
    data_dir = str(dev.data_dir)
    dev.close()

    reported: list[int] = []
    start = 0
    for after in kill_after:
        reported += record_and_kill(data_dir, insp, server.town.site1, start, after)
        reopened = Device.open(data_dir, fast_settings())
        try:
            assert reopened.store.integrity_check() == "ok"
            assert reopened.check() == []
            notes = notes_in_outbox(reopened)
            assert set(reported) <= notes  # every action reported done is kept
            assert max(notes) <= reported[-1] + 1  # at most one more, committed unreported
            start = max(notes) + 1
        finally:
            reopened.close()
    return data_dir, insp, reported


def test_kill_9_leaves_a_consistent_store(server: LiveServer, make_device) -> None:
    t = server.town
    data_dir, insp, _ = kill_while_recording(server, make_device, (120, 70))

    dev = Device.open(data_dir, fast_settings())
    try:
        report = dev.sync()
        assert report.ok and report.rejected == 0, report
        assert dev.status().pending_mutations == 0
        assert dev.get("inspection", insp)["answers"] == server.record(
            "inspection", insp)["answers"]
        assert dev.get("site", t.site1)["contact_phone"] == server.record(
            "site", t.site1)["contact_phone"]
        assert dev.check() == []
    finally:
        dev.close()
