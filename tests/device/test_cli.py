"""The ``field-app`` command line: global --data-dir, one-line errors, exit codes."""

from __future__ import annotations

import json
import subprocess

from field_app.cli import main, parse_set
from field_app.core import Device

from .support import PASSWORD, ROOT, LiveServer, fast_settings


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv), settings=fast_settings(max_attempts=2))
    out, err = capsys.readouterr()
    return code, out, err


def test_login_sync_status_receipt_quarantine(server: LiveServer, tmp_path, capsys) -> None:
    t = server.town
    d = str(tmp_path / "phone")
    code, out, err = run(capsys, "--data-dir", d, "login", server.url, "grid1", PASSWORD)
    assert code == 0 and "grid1" in out and err == ""

    code, out, err = run(capsys, "--data-dir", d, "sync")
    assert code == 0
    assert out.count("\n") == 1 and out.startswith("synced: ") and "pulled" in out
    assert "pull" in err  # progress goes to stderr

    with Device.open(d, fast_settings()) as dev:
        dev.create_site(name="越界", kind="factory", village_id=t.v2)
        dev.update_site(t.site1, contact_name="冯十二")
    code, out, _ = run(capsys, "--data-dir", d, "status", "--json")
    status = json.loads(out)
    assert code == 0 and status["pending_mutations"] == 2
    assert status["login_state"] == "logged_in" and status["username"] == "grid1"

    code, out, _ = run(capsys, "--data-dir", d, "sync", "--quiet")
    assert code == 0 and "rejected 1" in out and "pushed 1" in out

    code, out, _ = run(capsys, "--data-dir", d, "quarantine")
    assert code == 0 and "out_of_scope" in out
    qid = out.split()[0]
    code, out, _ = run(capsys, "--data-dir", d, "quarantine", "list", "--json")
    assert json.loads(out)[0]["id"] == qid

    code, out, _ = run(capsys, "--data-dir", d, "quarantine", "retry", qid,
                       "--set", f"village_id={t.v1}", "--set", "contract_amount=5000000")
    assert code == 0 and "queued again" in out
    code, out, _ = run(capsys, "--data-dir", d, "sync")
    assert code == 0 and "rejected 0" in out
    site = [r for r in server.store.records("site") if r.data["name"] == "越界"][0]
    assert site.data["village_id"] == t.v1 and site.data["contract_amount"] == 5_000_000

    code, out, _ = run(capsys, "--data-dir", d, "receipt")
    assert code == 0 and "safe to wipe: yes" in out
    code, out, _ = run(capsys, "--data-dir", d, "receipt", "--json")
    assert json.loads(out)["server"]["mutations_received"] == 3

    code, out, _ = run(capsys, "--data-dir", d, "status")
    assert code == 0 and "pending changes: 0" in out


def test_errors_are_one_line_with_exit_codes(tmp_path, capsys) -> None:
    d = str(tmp_path / "phone")
    code, out, err = run(capsys, "--data-dir", d, "sync")
    assert code == 3 and "login required" in out
    code, _, err = run(capsys, "--data-dir", d, "receipt")
    assert code == 3 and err.count("\n") == 1 and err.startswith("field-app: login required")
    code, _, err = run(capsys, "--data-dir", d, "quarantine", "retry", "nope")
    assert code == 1 and err.count("\n") == 1 and "nothing open in the quarantine" in err
    code, _, err = run(capsys, "--data-dir", d, "frobnicate")
    assert code == 1 and err.count("\n") == 1
    code, _, err = run(capsys, "--data-dir", d)
    assert code == 1 and "command is required" in err
    code, _, err = run(capsys, "--data-dir", d, "login", "http://127.0.0.1:9", "u", "p")
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err
    code, _, err = run(capsys, "--data-dir", d, "quarantine", "retry", "x", "--set", "novalue")
    assert code == 1 and "FIELD=VALUE" in err


def test_parse_set_reads_json_or_text() -> None:
    assert parse_set(["a=12", "b=true", "c=abc", 'd="12"', "e=0192-ab", "f={\"x\": 1}"]) == {
        "a": 12, "b": True, "c": "abc", "d": "12", "e": "0192-ab", "f": {"x": 1}}


def test_console_script_runs(tmp_path) -> None:
    exe = ROOT / ".venv" / "bin" / "field-app"
    r = subprocess.run([str(exe), "--data-dir", str(tmp_path / "p"), "status", "--json"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["login_state"] == "logged_out"
    r = subprocess.run([str(exe), "--data-dir", str(tmp_path / "p"), "sync"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 3 and "Traceback" not in r.stderr
