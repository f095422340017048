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

It runs on the embedded default (SQLite, the server in a thread) and on
PostgreSQL behind ``sync-server serve --workers 2``, where consecutive
requests of one device land on either worker. The checks read the server's
truth through the store contract, the same on both engines.
"""

from __future__ import annotations

import shutil
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, \
    run_state_machine_as_test

from device.support import PASSWORD, FaultTransport, LiveServer, fast_settings, small_jpeg
from field_app.core import Device
from field_app.core import store as device_store
from field_app.core.errors import DeviceError
from shared_schema import cases

from .conftest import FIGURES, SOAK, size
from .engines import PG_2W, SQLITE, LaunchedServer, ServerSpec, fresh_database, opened
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
        self.sent: dict[str, int] = {}  # every mutation it ever queued: id -> seq

    def sync(self) -> Any:
        """Sync, noting first every mutation waiting in the outbox."""
        with self.dev.store.read() as tx:
            self.sent.update(tx.q("SELECT id, seq FROM outbox").fetchall())
        return self.dev.sync()

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
    spec: ServerSpec = SQLITE

    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="wp-converge-"))
        self.stack = ExitStack()
        self.server: LiveServer | LaunchedServer
        if self.spec == SQLITE:  # the embedded default: the server in a thread
            self.server = LiveServer(self.tmp / "server")
            self.location = str(self.server.db)
        else:
            self.location = self.stack.enter_context(
                fresh_database(self.spec, self.tmp / "server"))
            self.server = LaunchedServer(self.location, self.tmp / "server",
                                         workers=self.spec.workers)
            self.server.start()
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
        f.sync()
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
                f.sync()
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
            self.stack.close()
            shutil.rmtree(self.tmp, ignore_errors=True)

    def settle_and_check(self) -> None:
        quarantined: dict[str, set[str]] = {}
        for f in self.fields:
            f.transport.plan, f.transport.fail_rate = [], 0.0
        for _ in range(3):
            for f in self.fields:
                report = f.sync()
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
                assert f.sync().ok
        with opened(self.location) as store:
            for f in self.fields:
                self.check_device_equals_server(f)
                self.check_exactly_once(store, f, quarantined[f.dev.device_id])
                self.check_typed_values(store, f, quarantined[f.dev.device_id])
            self.check_case_statuses(store)
            TOTALS["conflicts"] += len(store.list_conflicts())

    def check_device_equals_server(self, f: Field) -> None:
        with f.dev.store.read() as tx:
            token = tx.get("token")
        seen = server_view(self.server.url, token)
        held = device_view(f.dev)
        assert set(held) == set(seen), (f.username, set(held) ^ set(seen))
        for key, data in seen.items():
            assert held[key] == data, (f.username, key, held[key], data)

    def check_exactly_once(self, store: Any, f: Field, quarantined: set[str]) -> None:
        stats = store.device_stats(f.dev.device_id)
        entries = {id: store.get_mutation(id) for id in f.sent}
        assert all(entries.values()), [id for id, e in entries.items() if e is None]  # none lost
        assert {id: e.seq for id, e in entries.items()} == f.sent
        seqs = sorted(f.sent.values())
        assert seqs == list(range(1, len(seqs) + 1)), seqs  # none lost, none twice
        # nothing in the ledger beyond what the device sent
        assert (stats.mutations_received, stats.last_seq) == (len(seqs), len(seqs)), stats
        with f.dev.store.read() as tx:
            acked = int(tx.get("acked_count", 0))
        rejected = {id for id, e in entries.items() if e.status == "rejected"}
        assert rejected == {q for q in quarantined if not q.startswith("photo:")}
        # the device counts an acknowledgement once, even for a replayed batch
        applied = len(entries) - len(rejected)
        assert acked == applied == stats.mutations_applied, (acked, applied, stats)
        TOTALS["mutations_checked"] += len(entries)
        receipt = f.dev.receipt()
        assert receipt.server.mutations_received == len(entries) and receipt.safe_to_wipe, receipt

    def check_typed_values(self, store: Any, f: Field, quarantined: set[str]) -> None:
        conflicts: dict[tuple[str, str, str], list[Any]] = {}
        for c in store.list_conflicts():
            conflicts.setdefault((c.entity, c.entity_id, c.field), []).extend(
                [c.winner_value, c.loser_value])
        for entity, id, name, value, mut in f.typed:
            if mut in quarantined:
                continue  # refused: the person saw it in the quarantine
            TOTALS["typed_values_checked"] += 1
            data = store.get_record(entity, id).data
            answer = name.startswith("answers.")

            def typed(v: Any, answer: bool = answer) -> Any:
                return (v.get("answer") if isinstance(v, dict) else None) if answer else v

            if answer:
                current = (data.get("answers") or {}).get(name[8:], {}).get("answer")
            else:
                current = data.get(name)
            stored = [typed(v) for v in conflicts.get((entity, id, name), [])]
            if current == value or value in stored:
                continue
            # else it must have been written and then overwritten by a later write
            history = sorted((h.rev, h.value) for h in store.field_history(entity, id)
                             if h.field == name)
            revs = [rev for rev, v in history if typed(v) == value]
            assert revs and revs[0] < history[-1][0], (entity, id, name, value, current,
                                                       stored, history)

    def check_case_statuses(self, store: Any) -> None:
        for rec in store.records("case"):
            case = rec.data
            events = sorted((e.data for e in store.children_of(rec.id, "case_event")),
                            key=lambda e: e["hlc"])
            # where it started is the server's routing (by its site: #17); the events fold over it
            start = cases.CaseState(level=case["initial_level"],
                                    route=case.get("route") or cases.ROUTE_LOCAL)
            state = cases.fold(start, [
                (e["kind"], e["author_role"], e, None) for e in events])
            assert case["status"] in cases.STATUSES and case["level"] in cases.LEVELS
            assert (case["status"], case["level"]) == (state.status, state.level), (case, events)
            TOTALS["cases_folded"] += 1


@pytest.mark.parametrize("spec", [SQLITE, PG_2W], ids=lambda s: s.id)
def test_devices_converge_under_random_work_syncs_and_faults(spec: ServerSpec) -> None:
    for k in TOTALS:
        TOTALS[k] = 0
    machine = type(f"Convergence_{spec.id.replace('-', '_')}", (Convergence,), {"spec": spec})
    # A fresh database and two worker processes per example on PostgreSQL: fewer examples.
    examples, steps = (size(10, 100), size(40, 100)) if spec == SQLITE else (size(4, 40),
                                                                             size(60, 100))
    run_state_machine_as_test(machine, settings=settings(
        max_examples=examples, stateful_step_count=steps, deadline=None,
        suppress_health_check=list(HealthCheck), derandomize=not SOAK, print_blob=True))
    FIGURES.record(f"convergence (hypothesis stateful, {spec.id})", **TOTALS)
