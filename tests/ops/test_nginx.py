"""Debian's nginx (``/usr/sbin/nginx``) in front of the server on loopback,
with a certificate made here by ``openssl``, configured by the documented
template (deploy/nginx.conf.template): push, pull and a resumable tus
upload through TLS, request ids end to end, /metrics kept inside."""

from __future__ import annotations

import json
import os
import shutil
import signal
import ssl
import subprocess
import time
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from ops.conftest import photo, sha, tus_metadata
from ops.servers import ROOT, ServeProcess
from server.support import ManualClock, World, free_port
from sync_server.store import open_store

NGINX = "/usr/sbin/nginx"
TEMPLATE = ROOT / "deploy" / "nginx.conf.template"


def render(template: Path, **values: str) -> str:
    """What docs/deploy.md does with sed: every @@NAME@@ replaced."""
    text = template.read_text()
    for name, value in values.items():
        text = text.replace(f"@@{name}@@", value)
    assert "@@" not in text.split("\n", 6)[-1], "a placeholder was left"
    return text


def make_certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


class Nginx:
    def __init__(self, folder: Path, site: str) -> None:
        self.folder = folder
        (folder / "site.conf").write_text(site.replace("/var/log/nginx/", f"{folder}/"))
        temp = "\n".join(f"    {kind}_temp_path {folder}/{kind};"
                         for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        user = "user root;\n" if os.geteuid() == 0 else ""
        (folder / "nginx.conf").write_text(
            f"{user}worker_processes 1;\npid {folder}/nginx.pid;\nerror_log {folder}/error.log;\n"
            f"events {{ worker_connections 64; }}\n"
            f"http {{\n{temp}\n    access_log {folder}/access.log;\n"
            f"    include {folder}/site.conf;\n}}\n")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, port: int) -> None:
        conf = str(self.folder / "nginx.conf")
        test = subprocess.run([NGINX, "-t", "-e", str(self.folder / "error.log"), "-c", conf],
                              capture_output=True, text=True)
        assert test.returncode == 0, test.stderr
        self.proc = subprocess.Popen([NGINX, "-e", str(self.folder / "error.log"), "-c", conf,
                                      "-g", "daemon off;"], start_new_session=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with __import__("socket").create_connection(("127.0.0.1", port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("nginx did not listen: " + (self.folder / "error.log").read_text())

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGQUIT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(20)


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[tuple[httpx.Client, World, Path]]:
    if not os.path.exists(NGINX) or shutil.which("openssl") is None:
        pytest.fail("these tests need Debian's nginx and openssl (.ci/run installs nginx)")
    db = tmp_path / "srv" / "s.db"
    db.parent.mkdir()
    store = open_store(str(db))
    store.migrate()
    world = World(httpx.Client(), store, ManualClock(int(time.time() * 1000))).seed()
    store.close()
    server = ServeProcess("--db", str(db), "--log-format", "json", "--access-log",
                          env={"WAGE_PATROL_TRUSTED_PROXIES": "127.0.0.1"}, log=tmp_path / "serve.log")
    cert, key = make_certificate(tmp_path)
    port = free_port()
    nginx = Nginx(tmp_path, render(TEMPLATE, SERVER_NAME="localhost", LISTEN=f"127.0.0.1:{port}",
                                   CERT=str(cert), KEY=str(key), UPSTREAM=f"127.0.0.1:{server.port}",
                                   MAX_BODY="21m"))
    with server.start():
        nginx.start(port)
        try:
            tls = ssl.create_default_context(cafile=str(cert))
            with httpx.Client(base_url=f"https://localhost:{port}", verify=tls, timeout=60) as http:
                world.http = http
                yield http, world, tmp_path
        finally:
            nginx.stop()


def test_push_pull_and_a_resumed_upload_through_nginx_tls(proxied) -> None:
    http, world, folder = proxied
    grid = world.device("grid1", "via-nginx")
    office = world.device("office1", "via-nginx-2")
    grid.push(grid.upsert("site", world.site1, {"contact_phone": "13522223333"}))
    office.pull()
    assert office.record("site", world.site1)["contact_phone"] == "13522223333"

    data = photo(3_000_000, seed=11)
    r = http.post("/api/v1/uploads", headers={**grid.headers, "Tus-Resumable": "1.0.0",
                                              "Upload-Length": str(len(data)),
                                              "Upload-Metadata": tus_metadata(data)})
    assert r.status_code == 201, r.text
    location = r.headers["Location"]
    # the connection is cut after a third of the bytes: nginx streams them on
    # unbuffered, the server keeps what arrived, HEAD says where to resume
    cut = 1_000_000

    def first_part() -> Iterator[bytes]:
        for start in range(0, cut, 100_000):
            yield data[start:start + 100_000]
        raise ConnectionError("signal lost")

    with pytest.raises(ConnectionError):
        http.patch(location, content=first_part(), headers={
            **grid.headers, "Tus-Resumable": "1.0.0", "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream"})
    offset = 0
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the server settles the cut request
        head = http.head(location, headers={**grid.headers, "Tus-Resumable": "1.0.0"})
        if head.status_code == 200 and int(head.headers["Upload-Offset"]) > 0:
            offset = int(head.headers["Upload-Offset"])
            break
        time.sleep(0.2)
    assert 0 < offset <= cut
    r = http.patch(location, content=data[offset:], headers={
        **grid.headers, "Tus-Resumable": "1.0.0", "Upload-Offset": str(offset),
        "Content-Type": "application/offset+octet-stream"})
    assert r.status_code == 204, r.text
    got = http.get(f"/api/v1/blobs/{sha(data)}", headers=grid.headers)
    assert got.status_code == 200 and got.content == data


def test_request_ids_and_metrics_behind_nginx(proxied) -> None:
    http, world, folder = proxied
    r = http.get("/healthz", headers={"X-Request-ID": "phone-abc-1"})
    assert r.headers["X-Request-ID"] == "phone-abc-1"
    made = http.get("/healthz").headers["X-Request-ID"]
    assert len(made) == 32  # nginx's $request_id, taken by the server
    time.sleep(0.2)
    log = (folder / "wage-patrol.access.log").read_text()
    assert "rid=phone-abc-1" in log and f"rid={made}" in log
    # the server's own lines are JSON and carry the same ids
    lines = [json.loads(line) for line in (folder / "serve.log").read_text().splitlines()
             if line.startswith("{")]
    access = {e["request_id"]: e for e in lines if e["logger"] == "uvicorn.access"}
    assert {"phone-abc-1", made} <= set(access)
    assert "GET /healthz" in access["phone-abc-1"]["message"]
    assert http.get("/metrics").status_code == 403
    assert http.get("/readyz").json()["status"] == "ready"
