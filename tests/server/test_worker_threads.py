"""Requests run on a few worker threads per core (``Settings.worker_threads``),
and logins waiting for scrypt wait behind a limiter of their own: a login
storm does not hold the threads pushes and pulls need."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

from anyio import to_thread

from shared_schema.ids import uuid7
from sync_server.domain.auth import passwords
from sync_server.settings import Settings

from .support import World


def test_four_worker_threads_per_core_unless_set(monkeypatch) -> None:
    assert Settings().worker_thread_limit == 4 * max(1, os.cpu_count() or 1)
    assert Settings(worker_threads=3).worker_thread_limit == 3
    monkeypatch.setenv("WAGE_PATROL_WORKER_THREADS", "5")
    assert Settings.from_env().worker_thread_limit == 5


def test_the_app_runs_requests_on_its_limit(make_app_client) -> None:
    app = make_app_client(worker_threads=3)
    with app.client.portal() as portal:
        tokens = portal.call(lambda: to_thread.current_default_thread_limiter().total_tokens)
    assert tokens == 3
    assert app.app.state.login_limiter.total_tokens == 2 * passwords.SCRYPT_THREADS


def test_logins_stuck_in_scrypt_leave_the_threads_to_pulls_and_pushes(
        make_app_client, clock, monkeypatch) -> None:
    app = make_app_client(worker_threads=2)
    world = World(app.client, app.store, clock).seed()
    dev = world.device("grid1", uuid7())  # logged in and pulled before the storm
    gate, inside = threading.Event(), threading.Semaphore(0)
    real = passwords._scrypt

    def stuck(*args, **kwargs):  # scrypt that waits for the gate (fault injection)
        inside.release()
        assert gate.wait(60)
        return real(*args, **kwargs)

    monkeypatch.setattr(passwords, "_scrypt", stuck)
    with ThreadPoolExecutor(6) as pool:
        logins = [pool.submit(world.login, "grid2", uuid7()) for _ in range(6)]
        try:
            # as many logins in scrypt as the server has worker threads: on anyio's
            # shared limiter they would hold them all, and the pull below would wait
            for _ in range(2):
                assert inside.acquire(timeout=30)
            [result] = dev.sync(dev.upsert("site", world.site1, {"contact_name": "甲"}))
            assert result["status"] == "applied"
            dev.pull()
            assert dev.record("site", world.site1)["contact_name"] == "甲"
            assert not any(f.done() for f in logins)  # every login still waits
        finally:
            gate.set()
        assert all(f.result(timeout=60)["Authorization"].startswith("Bearer ")
                   for f in logins)


def test_the_collector_threshold_is_a_setting_and_tune_gc_sets_only_gen0(monkeypatch) -> None:
    import gc

    from sync_server.cli import tune_gc

    assert Settings().gc_gen0 == 10_000
    monkeypatch.setenv("WAGE_PATROL_GC_GEN0", "0")
    assert Settings.from_env().gc_gen0 == 0
    before = gc.get_threshold()
    try:
        tune_gc(12_345)
        assert gc.get_threshold() == (12_345, *before[1:])  # older generations as they were
        tune_gc(0)  # 0: leave the process's collector alone
        assert gc.get_threshold() == (12_345, *before[1:])
    finally:
        gc.set_threshold(*before)
