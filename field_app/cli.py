"""``field-app``: the device from a terminal (support staff, scripts, tests).

    field-app --data-dir DIR login URL USER PASSWORD
    field-app --data-dir DIR sync
    field-app --data-dir DIR status [--json]
    field-app --data-dir DIR receipt [--json]
    field-app --data-dir DIR quarantine [list] [--json]
    field-app --data-dir DIR quarantine retry ID [--set FIELD=VALUE ...]
    field-app --data-dir DIR quarantine discard ID --yes
    field-app --data-dir DIR ui [--port 8550] [--host 127.0.0.1]

Exit codes: 0 ok, 1 error, 3 login required. Errors are one line on stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from typing import Any, NoReturn, Sequence, TextIO

import msgspec

from field_app.core import Device, DeviceError, DeviceSettings, LoginRequired, SyncProgress

EXIT_OK, EXIT_ERROR, EXIT_LOGIN = 0, 1, 3
DATA_DIR_ENV = ("FLET_APP_STORAGE_DATA", "WAGE_PATROL_DATA_DIR")


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 1, no usage dump
        raise UsageError(f"{message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="field-app", description="Wage Patrol (治欠巡查) field device.")
    p.add_argument("--data-dir", metavar="DIR",
                   help="the device's data folder (default: $FLET_APP_STORAGE_DATA, "
                        "$WAGE_PATROL_DATA_DIR, or ./field-app-data)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    login = sub.add_parser("login", help="log in once (online); the token is kept for offline work")
    login.add_argument("url")
    login.add_argument("username")
    login.add_argument("password")
    sync = sub.add_parser("sync", help="pull, push the outbox, upload photos")
    sync.add_argument("--quiet", action="store_true", help="no progress, only the summary")
    status = sub.add_parser("status", help="what is waiting on this device")
    status.add_argument("--json", action="store_true")
    receipt = sub.add_parser("receipt", help="the server's receipt for this device")
    receipt.add_argument("--json", action="store_true")
    q = sub.add_parser("quarantine", help="changes the server refused: list, retry, discard")
    q.add_argument("--json", action="store_true")
    qsub = q.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    qlist = qsub.add_parser("list", help="list open items (the default)")
    qlist.add_argument("--json", action="store_true")
    retry = qsub.add_parser("retry", help="queue an item again, fixed with --set")
    retry.add_argument("id")
    retry.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                       help="write a field (VALUE is JSON if it parses, else text)")
    discard = qsub.add_parser("discard", help="drop an item for good")
    discard.add_argument("id")
    discard.add_argument("--yes", action="store_true", help="confirm: the change is lost")
    ui = sub.add_parser("ui", help="run the app's screens in web mode (offline, no CDN)")
    ui.add_argument("--port", type=int, default=8550, help="port (default 8550)")
    ui.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    return p


def parse_set(pairs: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            raise UsageError(f"--set needs FIELD=VALUE, got {pair!r}")
        try:
            out[name] = msgspec.json.decode(raw)
        except msgspec.DecodeError:
            out[name] = raw
    return out


def _when(ms: int | None) -> str:
    if ms is None:
        return "never"
    return dt.datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


def _json(obj: Any, out: TextIO) -> None:
    out.write(msgspec.json.format(msgspec.json.encode(obj)).decode() + "\n")


class _ProgressPrinter:
    def __init__(self, err: TextIO) -> None:
        self.err = err
        self.tty = err.isatty()
        self.phase = ""

    def __call__(self, p: SyncProgress) -> None:
        if p.phase == "done":
            if self.tty and self.phase:
                self.err.write("\n")
            return
        total = f"/{p.records_total}" if p.records_total is not None else ""
        line = f"{p.phase}: {p.records_done}{total}"
        if p.bytes_total:
            line += f" ({p.bytes_done // 1024}/{p.bytes_total // 1024} KiB)"
        if self.tty:
            self.err.write("\r" + line.ljust(60))
        elif p.phase != self.phase:
            self.err.write(line + "\n")
        self.err.flush()
        self.phase = p.phase


def run(args: argparse.Namespace, out: TextIO, err: TextIO,
        settings: DeviceSettings | None = None) -> int:
    data_dir = args.data_dir or next(
        (os.environ[n] for n in DATA_DIR_ENV if os.environ.get(n)), "field-app-data")
    if args.command == "ui":
        from field_app.ui.field.app import run as run_ui  # Flet is only imported for the UI

        out.write(f"field app on http://{args.host}:{args.port}/ (data: {data_dir}); "
                  "Ctrl-C stops it\n")
        out.flush()
        run_ui(data_dir, host=args.host, port=args.port, settings=settings)
        return EXIT_OK
    with Device.open(data_dir, settings) as dev:
        if args.command == "login":
            user = dev.login(args.url, args.username, args.password)
            out.write(f"logged in as {user.username} ({user.role}) on {args.url}; "
                      f"device {dev.device_id}\n")
            return EXIT_OK
        if args.command == "sync":
            report = dev.sync(progress=None if args.quiet else _ProgressPrinter(err))
            out.write(report.summary() + "\n")
            if report.login_required:
                return EXIT_LOGIN
            return EXIT_ERROR if report.errors else EXIT_OK
        if args.command == "status":
            s = dev.status()
            if args.json:
                _json(s, out)
                return EXIT_OK
            who = f"{s.username} ({s.role})" if s.username else "nobody"
            login = s.login_state + (f" ({s.login_reason})" if s.login_reason else "")
            for label, value in (
                ("device", s.device_id), ("data dir", s.data_dir), ("user", who),
                ("login", login), ("server", s.server_url or "-"),
                ("pending changes", s.pending_mutations), ("pending photos", s.pending_photos),
                ("quarantined", s.quarantined),
                ("last sync", _when(s.last_sync_ms) + (
                    "" if s.last_sync_ok is None else (" ok" if s.last_sync_ok else " incomplete"))),
                ("cursor", s.cursor),
                ("clock offset", "unknown" if s.clock_offset_ms is None
                 else f"{s.clock_offset_ms} ms"),
            ):
                out.write(f"{label:>16}: {value}\n")
            return EXIT_OK
        if args.command == "receipt":
            r = dev.receipt()
            if args.json:
                _json(r, out)
                return EXIT_OK
            sv = r.server
            out.write(f"server holds {sv.mutations_received} change(s) from this device "
                      f"(last seq {sv.last_seq}; {sv.mutations_applied} applied, "
                      f"{sv.mutations_rejected} rejected), {sv.photos_received} photo(s)\n")
            out.write(f"this device: {r.local_acknowledged} acknowledged, {r.local_rejected} "
                      f"rejected, {r.pending_mutations} waiting, {r.quarantined} quarantined, "
                      f"{r.pending_photos} photo(s) waiting\n")
            for problem in r.problems:
                out.write(f"  ! {problem}\n")
            out.write("safe to wipe: " + ("yes" if r.safe_to_wipe else "no") + "\n")
            return EXIT_OK
        if args.command == "quarantine":
            action = args.action or "list"
            if action == "list":
                items = dev.quarantine()
                if args.json:
                    _json(items, out)
                    return EXIT_OK
                if not items:
                    out.write("quarantine is empty\n")
                for q in items:
                    what = (f"{q.op} {q.entity} {q.entity_id}" if q.kind == "mutation"
                            else "photo upload")
                    out.write(f"{q.id}  {q.code}: {q.message} [{what}]\n")
                return EXIT_OK
            if action == "retry":
                new_id = dev.retry_quarantined(args.id, **parse_set(args.set))
                out.write(f"queued again as {new_id}; run `field-app sync`\n")
                return EXIT_OK
            if action == "discard":
                if not args.yes:
                    raise UsageError("discarding loses the change for good: add --yes to confirm")
                dev.discard_quarantined(args.id, confirm=True)
                out.write(f"discarded {args.id}\n")
                return EXIT_OK
    raise UsageError("a command is required")


def main(argv: Sequence[str] | None = None, out: TextIO | None = None,
         err: TextIO | None = None, settings: DeviceSettings | None = None) -> int:
    """The console script. ``settings`` is for tests (e.g. back-off without waiting)."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        args = build_parser().parse_args(argv)
        if not args.command:
            raise UsageError("a command is required (see field-app --help)")
        return run(args, out, err, settings)
    except LoginRequired as exc:
        err.write(f"field-app: login required: {exc.message} "
                  "(run `field-app login URL USER PASSWORD`)\n")
        return EXIT_LOGIN
    except DeviceError as exc:
        err.write(f"field-app: error: {exc.message}\n")
        return EXIT_ERROR
    except UsageError as exc:
        err.write(f"field-app: error: {exc}\n")
        return EXIT_ERROR
    except KeyboardInterrupt:
        err.write("field-app: interrupted; everything recorded is kept\n")
        return EXIT_ERROR
    except Exception as exc:  # never a traceback for a person at a terminal
        err.write(f"field-app: unexpected error: {type(exc).__name__}: {exc}\n")
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
