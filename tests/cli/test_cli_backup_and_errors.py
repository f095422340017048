"""``backup``, and the exit codes every command keeps: 0 ok, 1 user error, 2 usage."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ENTITIES = ("village", "department", "site", "user", "case", "checklist_template")
SCRIPT = Path(sys.executable).parent / "sync-server"


def counts(api, path):
    with api.store(path) as store:
        return ({e: store.count_records(e) for e in ENTITIES}, len(store.list_users()),
                store.max_rev())


def test_backup_copies_everything(db, api, cli, tmp_path):
    backup = tmp_path / "backups" / "2025-10-09"
    res = cli("backup", backup, "--db", db)
    assert res.code == 0, res.err
    assert "integrity ok" in res.out and str(backup) in res.out
    target = backup / "database.sqlite3"  # beside manifest.json and photos/
    assert target.is_file() and target.stat().st_size > 0
    conn = sqlite3.connect(target)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    assert counts(api, target) == counts(api, db)
    with api.client(target) as client:  # the copy is a working server database
        api.login(client, "grid1")


def test_backup_while_the_server_holds_the_database(db, api, cli, tmp_path):
    with api.client(db) as client:
        api.login(client, "office1")
        assert cli("backup", tmp_path / "live", "--db", db).code == 0
    with api.store(tmp_path / "live" / "database.sqlite3") as store:
        assert "dev-1" in [d.device_id for d in store.list_devices()]


def test_backup_refuses_to_overwrite(db, cli, tmp_path):
    target = tmp_path / "b.db"
    target.write_bytes(b"keep me")
    res = cli("backup", target, "--db", db)
    assert res.code == 1 and "already exists" in res.err
    assert target.read_bytes() == b"keep me"


@pytest.mark.parametrize("argv", [
    ["user", "list"], ["demo-info"], ["backup", "{tmp}/b.db"], ["import-sites", "{tmp}/x.csv"],
    ["user", "revoke-device", "d1"], ["user", "set-scope", "grid1", "--no-villages"],
])
def test_missing_database_is_a_user_error(cli, tmp_path, argv):
    argv = [a.format(tmp=tmp_path) for a in argv]
    res = cli(*argv, "--db", tmp_path / "missing.db")
    assert res.code == 1
    assert res.err.startswith("sync-server: error: no database at") and res.err.count("\n") == 1
    assert not (tmp_path / "missing.db").exists()


def test_not_a_database_is_a_user_error(cli, tmp_path):
    path = tmp_path / "notes.db"
    path.write_bytes(b"this is not sqlite" * 100)
    res = cli("user", "list", "--db", path)
    assert res.code == 1 and "not a database" in res.err


@pytest.mark.parametrize("argv", [
    [], ["user"], ["frobnicate"], ["serve", "--port", "99999", "--db", "x.db"],
    ["user", "add", "x", "--db", "x.db"], ["import-sites", "--db", "x.db"],
])
def test_usage_errors_exit_2(cli, argv, monkeypatch):
    monkeypatch.delenv("WAGE_PATROL_DB", raising=False)
    res = cli(*argv)
    assert res.code == 2 and "usage:" in res.err


def test_db_defaults_to_the_environment(db, cli, monkeypatch):
    monkeypatch.setenv("WAGE_PATROL_DB", str(db))
    res = cli("user", "list")
    assert res.code == 0 and "grid1" in res.out


def test_help_exits_0(cli):
    assert cli("--help").code == 0
    assert cli("user", "add", "--help").code == 0


def test_console_script_exit_codes(db, tmp_path):
    ok = subprocess.run([SCRIPT, "user", "list", "--db", db], capture_output=True, text=True)
    assert ok.returncode == 0 and "sector1" in ok.stdout
    bad = subprocess.run([SCRIPT, "user", "list", "--db", tmp_path / "none.db"],
                         capture_output=True, text=True)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    usage = subprocess.run([SCRIPT, "user", "add"], capture_output=True, text=True)
    assert usage.returncode == 2
