"""The ``make demo`` path: seed-demo, demo-info, then a real ``sync-server serve``
on 127.0.0.1, and every demo user logs in over HTTP."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from sync_server.demo import DEMO_PASSWORD, DEMO_USERS

SCRIPT = Path(sys.executable).parent / "sync-server"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(base: str, proc: subprocess.Popen, log: Path, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}: {log.read_text()}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("server did not become healthy in time")


def test_make_demo_path(tmp_path):
    db = tmp_path / "demo" / "server.db"
    port = free_port()
    seed = subprocess.run([SCRIPT, "seed-demo", "--db", db], capture_output=True, text=True)
    assert seed.returncode == 0, seed.stderr
    info = subprocess.run([SCRIPT, "demo-info", "--db", db, "--port", str(port)],
                          capture_output=True, text=True)
    assert info.returncode == 0 and f"http://127.0.0.1:{port}" in info.stdout
    log = tmp_path / "server.log"
    with open(log, "w") as log_file:
        proc = subprocess.Popen(
            [SCRIPT, "serve", "--db", db, "--host", "127.0.0.1", "--port", str(port),
             "--blobs", tmp_path / "blobs"],
            stdout=log_file, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_healthy(base, proc, log)
        with httpx.Client(base_url=base, timeout=10.0) as client:
            for u in DEMO_USERS:
                res = client.post("/api/v1/auth/login", json={
                    "username": u.username, "password": DEMO_PASSWORD,
                    "device_id": f"smoke-{u.username}"})
                assert res.status_code == 200, res.text
                token = res.json()["token"]
                pull = client.get("/api/v1/sync/pull", params={"since": 0},
                                  headers={"Authorization": f"Bearer {token}"})
                assert pull.status_code == 200 and pull.json()["changes"]
            assert client.get("/schema/openapi.json").status_code == 200
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert "Uvicorn running on http://127.0.0.1:" in log.read_text()
