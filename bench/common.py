"""Shared pieces of the Wage Patrol benchmark: the seeded server, the uvicorn
subprocess, byte-counting HTTP transport, the peer's documents as our
mutations, and /proc memory readings.

Nothing here is imported by the product; the benchmark drives the product
through its public entry points (``sync-server serve``, ``field_app.core.Device``).
"""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import httpx
import msgspec

ROOT = Path(__file__).resolve().parents[1]
#: The product tree under test: this checkout, or another (e.g. ``git archive HEAD``
#: unpacked somewhere) to measure a "before" with the same benchmark code.
SRC = Path(os.environ.get("BENCH_SRC", ROOT)).resolve()
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))
PASSWORD = "bench-pw-治欠"
VILLAGE = "0190a000-0000-7000-8000-000000000001"
DEPARTMENT = "0190a000-0000-7000-8000-000000000002"


# --- memory ------------------------------------------------------------------


def proc_hwm_mb(pid: int) -> float:
    """Peak resident set (VmHWM) of a process, in MB."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    for line in text.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def self_peak_mb() -> float:
    """This process's own peak RSS (VmHWM). Not ``ru_maxrss``: on Linux that
    carries the parent's peak over fork+exec, so a phase started by a big
    orchestrator would report the orchestrator's memory."""
    return proc_hwm_mb(os.getpid()) or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_s(pid: int) -> float:
    try:
        f = Path(f"/proc/{pid}/stat").read_text().split(") ")[1].split()
    except OSError:
        return 0.0
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def group_pids(pgid: int) -> list[int]:
    """The live processes of a process group: a server's supervisor and its workers."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            f = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if f[0] != "Z" and int(f[2]) == pgid:
            out.append(int(entry.name))
    return out or [pgid]


def group_cpu_s(pgid: int) -> float:
    """CPU seconds of every live process of a server (one process or N workers)."""
    return sum(cpu_s(pid) for pid in group_pids(pgid))


# --- the peer's documents as inspections ---------------------------------------


def load_docs(data_dir: Path, n: int) -> list[dict[str, Any]]:
    return msgspec.json.decode((data_dir / f"inspections_{n}.json").read_bytes())


def checklist_codes() -> list[tuple[str, str]]:
    """The first 20 yes/no(/na) items of the construction template: the peer's
    CHK-01..CHK-20 map onto them in order."""
    from shared_schema.checklists import load_templates

    t = load_templates()["tpl-construction-v1"]
    out = []
    for item in t.items:
        if item.answer in ("yes_no", "yes_no_na"):
            out.append((item.code, item.answer))
    return out[:20]


def doc_fields(doc: dict[str, Any], codes: list[tuple[str, str]]) -> dict[str, Any]:
    """One peer document → the fields of one inspection upsert, answers included."""
    answers = {}
    for (code, kind), item in zip(codes, doc["checklist"], strict=False):
        a = item["answer"]
        if a == "na" and kind != "yes_no_na":
            a = "no"
        ans: dict[str, Any] = {"answer": a}
        if item["note"]:
            ans["note"] = item["note"]
        answers[code] = ans
    fields: dict[str, Any] = {
        "site_id": doc["site_id"], "template_id": "tpl-construction-v1",
        "state": "draft", "lat": doc["lat"], "lon": doc["lon"], "answers": answers,
    }
    if doc["notes"]:
        fields["notes"] = doc["notes"]
    return fields


def peer_sites(docs: list[dict[str, Any]]) -> list[str]:
    return sorted({d["site_id"] for d in docs})


# --- the server ------------------------------------------------------------------


@contextmanager
def registry_writer(store: Any, now: int) -> Iterator[Any]:
    """A transaction of ``store`` with the checklist templates published, as
    a ``ServerWriter`` at ``now`` for the registry records a seed adds."""
    from sync_server.domain.registry.service import ServerWriter, publish_templates

    with store.transaction() as tx:
        publish_templates(tx, now)
        yield ServerWriter(tx, now)


def seed(db: Path | str, site_ids: list[str]) -> dict[str, str]:
    """A fresh server database (a SQLite file or a PostgreSQL URL): one village,
    one department, the peer's sites (construction), a grid officer of the
    village and an office user."""
    from sync_server.domain.auth.service import create_user
    from sync_server.store import open_store

    now = int(time.time() * 1000)
    store = open_store(str(db))
    try:
        store.migrate()
        with registry_writer(store, now) as w:
            w.upsert("village", VILLAGE, {"name": "回龙坝村", "kind": "village"})
            w.upsert("department", DEPARTMENT, {"name": "住建办", "sectors": ["construction"]})
            for i, sid in enumerate(site_ids):
                w.upsert("site", sid, {"name": f"工地{i:04d}", "kind": "construction",
                                       "village_id": VILLAGE, "department_id": DEPARTMENT,
                                       "status": "active"})
        users = {}
        for name, role, scope in (("grid1", "grid_officer", {"village_ids": [VILLAGE]}),
                                  ("office1", "office", {})):
            users[name] = create_user(store, name, PASSWORD, role, now_ms=now, **scope).id
        return users
    finally:
        store.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``sync-server serve`` on 127.0.0.1 (one process, or ``--workers N``), in its
    own process group; stopped on exit. ``db``: a SQLite file, or a PostgreSQL
    URL with ``folder`` for the log and the photos."""

    def __init__(self, db: Path | str, extra_env: dict[str, str] | None = None,
                 workers: int = 1, folder: Path | None = None) -> None:
        self.db = db
        self.folder = folder or Path(db).parent
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.extra_env = extra_env or {}
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "Server":
        env = {**os.environ, "PYTHONPATH": str(SRC), **self.extra_env}
        exe = str(Path(sys.executable).parent / "sync-server")
        cmd = [exe, "serve", "--db", str(self.db), "--host", "127.0.0.1", "--port", str(self.port)]
        if self.workers != 1:
            cmd += ["--workers", str(self.workers)]
        if "://" in str(self.db):  # a database URL: the photos in a folder beside the log
            cmd += ["--blobs", str(self.folder / "blobs")]
        self.log = open(self.folder / "server.log", "wb")
        prof = os.environ.get("BENCH_PROFILE")
        if prof:  # server-side py-spy collapsed stacks (all threads), written on stop
            Path(prof).mkdir(parents=True, exist_ok=True)
            out = Path(prof) / f"server-{self.db.parent.name}.folded"
            gil = ["--gil"] if os.environ.get("BENCH_PROFILE_GIL") else []  # CPU only
            cmd = [str(Path(sys.executable).parent / "py-spy"), "record", "-f", "raw", "-r", "200",
                   *gil, "-o", str(out), "--", *cmd]
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {(self.folder / 'server.log').read_text()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError("server did not start")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def hwm_mb(self) -> float:
        """Peak RSS of the server: its processes' peaks added up."""
        return sum(proc_hwm_mb(pid) for pid in group_pids(self.pid))

    def cpu_s(self) -> float:
        return group_cpu_s(self.pid)

    def reset_peak(self) -> None:
        for pid in group_pids(self.pid):
            try:
                Path(f"/proc/{pid}/clear_refs").write_text("5")
            except OSError:
                pass

    def __exit__(self, *exc: Any) -> None:
        if self.proc is not None and self.proc.poll() is None:
            if os.environ.get("BENCH_PROFILE"):
                import signal

                self.proc.send_signal(signal.SIGINT)  # py-spy writes its output on ^C
                try:
                    self.proc.wait(30)
                except subprocess.TimeoutExpired:
                    pass
        if self.proc is not None and self.proc.poll() is None:
            import signal

            os.killpg(self.proc.pid, signal.SIGTERM)  # the supervisor and its workers
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.log.close()


# --- bytes on the wire ------------------------------------------------------------


class _CountingStream(httpx.SyncByteStream):
    def __init__(self, inner: Any, meter: "Meter") -> None:
        self.inner = inner
        self.meter = meter

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.inner:
            self.meter.down += len(chunk)
            yield chunk

    def close(self) -> None:
        self.inner.close()


class Meter(httpx.HTTPTransport):
    """An httpx transport counting HTTP/1.1 bytes as sent: request line,
    headers and body up; status line, headers and the (possibly compressed)
    body down. TCP/IP framing is not counted (the peer counts socket bytes,
    which are the same HTTP/1.1 bytes)."""

    def __init__(self) -> None:
        super().__init__()
        self.up = 0
        self.down = 0
        self.requests = 0
        self.bodies_up: list[tuple[bytes, dict[str, str]]] = []
        self.keep_bodies = False

    @staticmethod
    def _headers_len(headers: httpx.Headers) -> int:
        return sum(len(k) + len(v) + 4 for k, v in headers.raw) + 2

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        self.requests += 1
        self.up += len(request.method) + len(request.url.raw_path) + 11
        self.up += self._headers_len(request.headers) + len(body)
        if self.keep_bodies and body:
            self.bodies_up.append((body, dict(request.headers)))
        response = super().handle_request(request)
        self.down += 17 + len(response.reason_phrase or "") + self._headers_len(response.headers)
        response.stream = _CountingStream(response.stream, self)
        return response
