"""The ``make demo`` path: seed-demo, demo-info, then a real ``sync-server serve``
on 127.0.0.1, and every demo user logs in over HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from server.support import device_secret, free_port
from sync_server.demo import DEMO_PASSWORD, DEMO_USERS

SCRIPT = Path(sys.executable).parent / "sync-server"


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
                    "device_id": f"smoke-{u.username}",
                    "device_secret": device_secret(f"smoke-{u.username}")})
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
    text = log.read_text()
    assert "Uvicorn running on http://127.0.0.1:" in text
    assert "/api/v1/auth/login" not in text  # no line per request unless asked


def serve_once(folder: Path, *extra: str, env: dict[str, str] | None = None) -> str:
    """Start ``serve`` on a fresh database in ``folder``, ask /healthz once,
    stop it; its output."""
    folder.mkdir()
    port = free_port()
    log = folder / "serve.log"
    with open(log, "w") as log_file:
        proc = subprocess.Popen(
            [SCRIPT, "serve", "--db", folder / "s.db", "--port", str(port), *extra],
            stdout=log_file, stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})})
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc, log)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return log.read_text()


def test_access_log_is_off_unless_asked(tmp_path):
    assert "GET /healthz" not in serve_once(tmp_path / "off")
    assert "GET /healthz" in serve_once(tmp_path / "flag", "--access-log")
    assert "GET /healthz" in serve_once(tmp_path / "env", env={"WAGE_PATROL_ACCESS_LOG": "1"})


def test_a_setting_that_does_not_read_stops_serve_and_names_it(tmp_path):
    for name, value in (("WAGE_PATROL_ACCESS_LOG", "maybe"), ("WAGE_PATROL_GC_GEN0", "lots")):
        run = subprocess.run([SCRIPT, "serve", "--db", tmp_path / "s.db"], capture_output=True,
                             text=True, env={**os.environ, name: value}, timeout=60)
        assert run.returncode == 1
        assert run.stderr.startswith(f"sync-server: error: ${name}: ") and value in run.stderr
        assert not (tmp_path / "s.db").exists()  # nothing made
