"""Convergence, property-based: hypothesis drives 2–5 real field devices
(``field_app.core.Device``) of different roles and scopes against a real
server on 127.0.0.1 through random offline work, random sync interleavings
and random faults, then checks after a final fault-free sync that

* every device equals the server for every record it may see;
* every acknowledged mutation was applied exactly once (the server's ledger);
* every value a user typed is current, kept in a conflict record, or was
  overwritten later by an edit made on top of it (a clean edit or the same
  device's own later edit) — and refused ones wait in the device's quarantine;
* every case status on the server is the legal fold of its events.

Faults: the request is lost before the server (``refuse``), the response is
lost after the commit (``drop``), 503, and the device process "killed"
between local writes — an exception raised inside a local transaction (while
recording, or while storing a push's answer after the server committed),
after which the device is reopened from its folder as a new process would.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, \
    run_state_machine_as_test

from device.support import PASSWORD, FaultTransport, LiveServer, fast_settings, small_jpeg
from field_app.core import Device
from field_app.core import store as device_store
from field_app.core.errors import DeviceError
from shared_schema import cases

from .conftest import FIGURES, SOAK, size
from .views import device_view, server_view

USERS = ("grid1", "grid2", "sector1", "office1", "grid1")
EDITABLE = ("contractor", "contact_phone", "address", "builder")
TOTALS = {"examples": 0, "steps": 0, "faults": 0, "kills": 0, "syncs": 0,
          "mutations_checked": 0, "typed_values_checked": 0, "conflicts": 0,
          "quarantined": 0, "cases_folded": 0}


class Killed(BaseException):
    """The process died here: nothing below it runs, the transaction is lost."""


class KillAt:
    """Make one method of the device's local ``Tx`` die once."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.original = getattr(device_store.Tx, name)

    def __enter__(self) -> "KillAt":
        def dying(*args: Any, **kwargs: Any) -> Any:
            setattr(device_store.Tx, self.name, self.original)
            raise Killed(self.name)
        setattr(device_store.Tx, self.name, dying)
        return self

    def __exit__(self, *exc: Any) -> None:
        setattr(device_store.Tx, self.name, self.original)


class Field:
    def __init__(self, username: str, folder: Path, url: str, seed: int) -> None:
        self.username = username
        self.folder = folder
        self.url = url
        self.transport = FaultTransport(seed=seed)
        self.dev = self.open()
        self.dev.login(url, username, PASSWORD)
        assert self.dev.sync().ok
        self.role = self.dev.status().role
        with self.dev.store.read() as tx:
            self.user_id = tx.get("user")["id"]
        self.typed: list[tuple[str, str, str, Any, str]] = []  # entity, id, field, value, mut

    def open(self) -> Device:
        return Device.open(self.folder, fast_settings(transport=self.transport, max_attempts=2))

    def reopen(self) -> None:
        try:
            self.dev.close()
        except Exception:
            pass
        self.dev = self.open()

    def last_mutation(self) -> str:
        with self.dev.store.read() as tx:
            row = tx.q("SELECT id FROM outbox ORDER BY seq DESC LIMIT 1").fetchone()
        return row[0] if row else ""


class Convergence(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="wp-converge-"))
        self.server = LiveServer(self.tmp / "server")
        self.town = self.server.town
        self.fields: list[Field] = []
        TOTALS["examples"] += 1

    # --- setup --------------------------------------------------------------------
    @precondition(lambda self: not self.fields)
    @rule(n=st.integers(2, 5), seed=st.integers(0, 10_000))
    def start_devices(self, n: int, seed: int) -> None:
        for i in range(n):
            self.fields.append(Field(USERS[i], self.tmp / f"dev{i}", self.server.url, seed + i))

    def pick(self, i: int) -> Field:
        return self.fields[i % len(self.fields)]

    def attempt(self, f: Field, action: Any, typed: list[tuple[str, str, str, Any]]) -> None:
        """Run one recording action; note what the user typed if it was kept."""
        TOTALS["steps"] += 1
        try:
            action()
        except DeviceError:
            return  # refused before anything was written: nothing typed is kept
        mut = f.last_mutation()
        for entity, id, name, value in typed:
            f.typed.append((entity, id, name, value, mut))

    # --- offline work ---------------------------------------------------------------
    @precondition(lambda self: self.fields)
    @rule(i=st.integers(0, 4), s=st.integers(0, 99), name=st.sampled_from(EDITABLE),
          value=st.text("甲乙丙丁abc123", min_size=1, max_size=6))
    def edit_site(self, i: int, s: int, name: str, value: str) -> None:
        f = self.pick(i)
        sites = f.dev.sites()
        if not sites:
            return
        site = sites[s % len(sites)]["id"]
        self.attempt(f, lambda: f.dev.update_site(site, **{name: value}),
                     [("site", site, name, value)])

    @precondition(lambda self: self.fields)
    @rule(i=st.integers(0, 4), name=st.sampled_from(("contractor", "builder")),
          value=st.text("甲乙丙丁", min_size=1, max_size=3))
    def edit_shared_site(self, i: int, name: str, value: str) -> None:
        """Site 1 is seen by grid1, sector1 and the office: edits collide."""
        f = self.pick(i)
        site = self.town.site1
        if f.dev.get("site", site) is None:
            return
        self.attempt(f, lambda: f.dev.update_site(site, **{name: value}),
                     [("site", site, name, value)])

    @precondition(lambda self: self.fields)
    @rule(i=st.integers(0, 4), name=st.text("工地厂", min_size=1, max_size=4))
    def create_site(self, i: int, name: str) -> None:
        f = self.pick(i)
        t = self.town
        village, dept = {"grid2": (t.v2, t.d2)}.get(f.username, (t.v1, t.d1))
        box: list[str] = []
        self.attempt(f, lambda: box.append(f.dev.create_site(
            name=name, kind="construction", village_id=village, department_id=dept)), [])

    @precondition(lambda self: self.fields)
    @rule(i=st.integers(0, 4), s=st.integers(0, 99), item=st.integers(0, 5),
          answer=st.sampled_from(["yes", "no"]), note=st.text("好坏", max_size=3))
    def answer(self, i: int, s: int, item: int, answer: str, note: str) -> None:
        f = self.pick(i)
        if f.role not in ("grid_officer", "sector_inspector"):
            return
        mine = [x for x in f.dev.inspections() if x.get("state") == "draft"
                and x.get("inspector_id") == f.user_id]
        if not mine or s % 3 == 0:
            sites = [x for x in f.dev.sites() if x.get("kind") == "construction"]
            if not sites:
                return
            try:
                insp = f.dev.start_inspection(sites[s % len(sites)]["id"])
            except DeviceError:
                return
        else:
            insp = mine[s % len(mine)]["id"]
        code = ["C01", "C02", "C03", "C05", "C11", "C12"][item]
        self.attempt(f, lambda: f.dev.answer(insp, code, answer, note=note or None),
                     [("inspection", insp, f"answers.{code}", answer)])

    @precondition(lambda self: self.fields)
    @rule(i=st.integers(0, 4), s=st.integers(0, 99), workers=st.integers(0, 12),
          title=st.text("欠薪三月", min_size=1, max_size=5))
    def open_case(self, i: int, s: int, workers: int, title: str) -> None:
        f = self.pick(i)
        sites = f.dev.sites()
        if not sites:
            return
        site = sites[s % len(sites)]["id"]
        self.attempt(f, lambda: f.dev.open_case(site_id=site, title=title, sector="construction",
                                                workers_owed=workers, amount_owed=1000 * workers,
                                                complainant_name="王五"), [])

    @precondition(lambda self: self.fields)
    @rule(i=st.integers(0, 4), c=st.integers(0, 99), k=st.integers(0, 20),
          title=st.text("改标题", min_size=1, max_size=4))
    def case_work(self, i: int, c: int, k: int, title: str) -> None:
        f = self.pick(i)
        found = f.dev.cases()
        if not found:
            return
        case = found[c % len(found)]
        if k % 4 == 0:
            self.attempt(f, lambda: f.dev.update_case(case["id"], title=title),
                         [("case", case["id"], "title", title)])
            return
        state = cases.CaseState(status=case.get("status") or cases.REGISTERED,
                                level=case.get("level") or "village",
                                extended=bool(case.get("extended")))
        kinds = cases.allowed_kinds(state, f.role) or ["note"]
        kind = kinds[k % len(kinds)]
        extra: dict[str, Any] = {"note": "说明"}
        if kind == "payment":
            extra["amount_recovered"] = 500
        if kind == "refer":
            extra["referral_target"] = "区劳动监察大队"
        if kind == "close":
            extra.update(evidence=["0" * 64], callback_note="回访")
        self.attempt(f, lambda: f.dev.add_case_event(case["id"], kind, **extra), [])

    @precondition(lambda self: self.fields)
    @rule(i=st.integers(0, 4), s=st.integers(0, 99), seed=st.integers(0, 50))
    def photo(self, i: int, s: int, seed: int) -> None:
        f = self.pick(i)
        owners = [x["id"] for x in f.dev.inspections() if x.get("state") == "draft"]
        owners += [x["id"] for x in f.dev.cases()]
        if not owners:
            return
        owner = owners[s % len(owners)]
        self.attempt(f, lambda: f.dev.attach_photo(owner, small_jpeg(seed, (96, 64))), [])

    # --- sync and faults ------------------------------------------------------------
    @precondition(lambda self: self.fields)
    @rule(i=st.integers(0, 4),
          plan=st.lists(st.sampled_from(["ok", "ok", "refuse", "drop", "503"]), max_size=4))
    def sync(self, i: int, plan: list[str]) -> None:
        f = self.pick(i)
        f.transport.plan = list(plan)
        TOTALS["faults"] += sum(1 for p in plan if p != "ok")
        TOTALS["syncs"] += 1
        f.dev.sync()
        f.transport.plan = []

    @precondition(lambda self: self.fields)
    @rule(i=st.integers(0, 4), s=st.integers(0, 99),
          where=st.sampled_from(["refresh", "add_mutation", "put_row", "set"]))
    def kill_while_recording(self, i: int, s: int, where: str) -> None:
        f = self.pick(i)
        sites = f.dev.sites()
        if not sites or f.role not in ("grid_officer", "sector_inspector", "office"):
            return
        site = sites[s % len(sites)]["id"]
        before = f.dev.get("site", site)
        pending = f.dev.status().pending_mutations
        try:
            with KillAt(where):
                f.dev.update_site(site, address=f"被杀{s}")
        except Killed:
            TOTALS["kills"] += 1
        f.reopen()
        assert f.dev.check() == []
        assert f.dev.store.integrity_check() == "ok"
        assert f.dev.get("site", site) == before  # the lost action left no trace
        assert f.dev.status().pending_mutations == pending

    @precondition(lambda self: self.fields)
    @rule(i=st.integers(0, 4), where=st.sampled_from(["remove_outbox", "put_row", "incr"]))
    def kill_while_storing_the_answer(self, i: int, where: str) -> None:
        """The server committed the push; the device dies before it stores
        the answer. The next sync replays the batch: duplicates, no change."""
        f = self.pick(i)
        if not f.dev.status().pending_mutations:
            return
        try:
            with KillAt(where):
                f.dev.sync()
        except Killed:
            TOTALS["kills"] += 1
        f.reopen()
        assert f.dev.check() == []

    @invariant()
    def stores_consistent(self) -> None:
        for f in self.fields:
            assert f.dev.check() == []

    # --- the final sync and the invariants ---------------------------------------------
    def teardown(self) -> None:
        try:
            if self.fields:
                self.settle_and_check()
        finally:
            for f in self.fields:
                try:
                    f.dev.close()
                except Exception:
                    pass
            self.server.stop()
            shutil.rmtree(self.tmp, ignore_errors=True)

    def settle_and_check(self) -> None:
        quarantined: dict[str, set[str]] = {}
        for f in self.fields:
            f.transport.plan, f.transport.fail_rate = [], 0.0
        for _ in range(3):
            for f in self.fields:
                report = f.dev.sync()
                assert report.ok, report
                assert f.dev.status().pending_mutations == 0
        # a person answers the quarantine: what the server refused is kept there
        for f in self.fields:
            quarantined[f.dev.device_id] = set()
            for item in f.dev.quarantine():
                quarantined[f.dev.device_id].add(item.id)
                f.dev.discard_quarantined(item.id, confirm=True)
                TOTALS["quarantined"] += 1
        for _ in range(2):
            for f in self.fields:
                assert f.dev.sync().ok
        db = sqlite3.connect(f"file:{self.server.db}?mode=ro", uri=True)
        try:
            for f in self.fields:
                self.check_device_equals_server(f)
                self.check_exactly_once(db, f, quarantined[f.dev.device_id])
                self.check_typed_values(db, f, quarantined[f.dev.device_id])
            self.check_case_statuses(db)
            TOTALS["conflicts"] += db.execute("SELECT count(*) FROM conflicts").fetchone()[0]
        finally:
            db.close()

    def check_device_equals_server(self, f: Field) -> None:
        with f.dev.store.read() as tx:
            token = tx.get("token")
        seen = server_view(self.server.url, token)
        held = device_view(f.dev)
        assert set(held) == set(seen), (f.username, set(held) ^ set(seen))
        for key, data in seen.items():
            assert held[key] == data, (f.username, key, held[key], data)

    def check_exactly_once(self, db: sqlite3.Connection, f: Field, quarantined: set[str]
                           ) -> None:
        rows = db.execute("SELECT id, seq, status FROM mutations WHERE device_id=?",
                          (f.dev.device_id,)).fetchall()
        ids = [r[0] for r in rows]
        assert len(ids) == len(set(ids))
        seqs = sorted(r[1] for r in rows)
        assert seqs == list(range(1, len(seqs) + 1)), seqs  # none lost, none twice
        with f.dev.store.read() as tx:
            acked = int(tx.get("acked_count", 0))
        applied = [r for r in rows if r[2] != "rejected"]
        assert {r[0] for r in rows if r[2] == "rejected"} == {
            q for q in quarantined if not q.startswith("photo:")}
        # the device counts an acknowledgement once, even for a replayed batch
        assert acked == len(applied), (acked, len(applied))
        TOTALS["mutations_checked"] += len(rows)
        receipt = f.dev.receipt()
        assert receipt.server.mutations_received == len(rows) and receipt.safe_to_wipe, receipt

    def check_typed_values(self, db: sqlite3.Connection, f: Field, quarantined: set[str]
                           ) -> None:
        for entity, id, name, value, mut in f.typed:
            if mut in quarantined:
                continue  # refused: the person saw it in the quarantine
            TOTALS["typed_values_checked"] += 1
            data = json.loads(db.execute("SELECT data FROM records WHERE entity=? AND id=?",
                                         (entity, id)).fetchone()[0])
            if name.startswith("answers."):
                current = (data.get("answers") or {}).get(name[8:], {}).get("answer")
                stored = [json.loads(v).get("answer") if v and v.startswith("{") else None
                          for (v,) in db.execute(
                              "SELECT winner_value FROM conflicts WHERE entity=? AND "
                              "entity_id=? AND field=? UNION ALL SELECT loser_value FROM "
                              "conflicts WHERE entity=? AND entity_id=? AND field=?",
                              (entity, id, name) * 2)]
            else:
                current = data.get(name)
                stored = [json.loads(v) if v else None for (v,) in db.execute(
                    "SELECT winner_value FROM conflicts WHERE entity=? AND entity_id=? AND "
                    "field=? UNION ALL SELECT loser_value FROM conflicts WHERE entity=? AND "
                    "entity_id=? AND field=?", (entity, id, name) * 2)]
            if current == value or value in stored:
                continue
            # else it must have been written and then overwritten by a later write
            history = db.execute(
                "SELECT rev, value FROM field_history WHERE entity=? AND id=? AND field=? "
                "ORDER BY rev", (entity, id, name)).fetchall()
            revs = [rev for rev, v in history
                    if (json.loads(v).get("answer") if name.startswith("answers.") and v
                        else (json.loads(v) if v else None)) == value]
            assert revs and revs[0] < history[-1][0], (entity, id, name, value, current,
                                                       stored, history)

    def check_case_statuses(self, db: sqlite3.Connection) -> None:
        for cid, data in db.execute("SELECT id, data FROM records WHERE entity='case'"):
            case = json.loads(data)
            events = sorted(
                (json.loads(d) for (d,) in db.execute(
                    "SELECT data FROM records WHERE entity='case_event' AND parent_id=?",
                    (cid,))), key=lambda e: e["hlc"])
            # where it started is the server's routing (by its site: #17); the events fold over it
            start = cases.CaseState(level=case["initial_level"],
                                    route=case.get("route") or cases.ROUTE_LOCAL)
            state = cases.fold(start, [
                (e["kind"], e["author_role"], e, None) for e in events])
            assert case["status"] in cases.STATUSES and case["level"] in cases.LEVELS
            assert (case["status"], case["level"]) == (state.status, state.level), (case, events)
            TOTALS["cases_folded"] += 1


def test_devices_converge_under_random_work_syncs_and_faults() -> None:
    run_state_machine_as_test(Convergence, settings=settings(
        max_examples=size(10, 100), stateful_step_count=size(40, 100), deadline=None,
        suppress_health_check=list(HealthCheck), derandomize=not SOAK, print_blob=True))
    FIGURES.record("convergence (hypothesis stateful)", **TOTALS)
