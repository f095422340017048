"""``create_app(settings) -> Litestar``: the one way the server is built."""

from __future__ import annotations

import asyncio
import logging
import shutil
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator

from anyio import CapacityLimiter, to_thread
from litestar import Litestar, Request, Response, get

from sync_server.domain.auth.controller import AuthController
from sync_server.domain.auth.passwords import SCRYPT_THREADS
from sync_server.domain.sync.controller import SyncController
from sync_server.domain.office.controller import CONTROLLERS as OFFICE_CONTROLLERS
from sync_server.domain.office.routing import CaseRoutingController  # #17 cases
from sync_server.domain.calendar import service as calendar
from sync_server.domain.incidents.controller import AlertController, alerts_header  # --- #17 incidents
from sync_server.domain.registry.service import publish_calendar, publish_templates
from sync_server.domain.reports.controller import ReportController
from sync_server.domain.documents.controller import CONTROLLERS as DOCUMENT_CONTROLLERS  # --- #17 documents ---
from sync_server.domain.calendar.controller import CalendarCoverageController  # --- #17 documents ---
from sync_server.domain.risk.controller import RiskController  # --- #17 warnings ---
from sync_server.domain.uploads.controller import BlobController, UploadController
from sync_server.domain.uploads import service as uploads
from sync_server.blobs import BlobStore, open_blobs
from sync_server import observability
from sync_server.body import WireBody, WireRequest
from sync_server.dependencies import DEPENDENCIES
from sync_server.errors import EXCEPTION_HANDLERS, error_response
from sync_server.http import json_response
from sync_server.openapi import openapi_config
from sync_server.settings import Settings
from sync_server.store import SyncStore, open_store


log = logging.getLogger("sync_server")


@get("/healthz", summary="Liveness", include_in_schema=False)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


def readiness(store: SyncStore, blobs: BlobStore, settings: Settings) -> dict[str, Any]:
    """What ``/readyz`` reports: the database answers, its migrations are
    current, the blob store takes writes (``BlobStore.writable``: a file in the
    directory, or a PostgreSQL primary that lets this role insert), and the
    free space of the disks holding the database and the blobs (the smaller,
    of those this machine can see) is at least ``min_free_bytes``."""
    checks: dict[str, Any] = {}
    try:
        store.max_rev()
        checks["database"] = "ok"
        pending = store.pending_migrations()
        checks["migrations"] = "current" if not pending else "pending: " + ", ".join(pending)
    except Exception as exc:  # reported, not raised
        checks["database"] = f"unreachable: {type(exc).__name__}"
        checks["migrations"] = "unknown"
    checks["blobs"] = "writable" if blobs.writable() else "not writable"
    checks["blob_store"] = blobs.kind
    free = blobs.free_bytes()
    try:
        if not settings.database_url:  # PostgreSQL's disk: the blob store's view, if any
            free = min(free, shutil.disk_usage(Path(settings.db_path).parent).free)
    except OSError:
        pass
    checks["free_bytes"] = free
    checks["min_free_bytes"] = settings.min_free_bytes
    # --- #17 documents: a calendar ending within a year is a warning, not unreadiness
    checks["calendar"] = calendar.readiness_note(store, settings.now_ms())
    checks["ready"] = (checks["database"] == "ok" and checks["migrations"] == "current"
                       and checks["blobs"] == "writable" and free >= settings.min_free_bytes)
    return checks


@get("/readyz", summary="Readiness", include_in_schema=False)
async def readyz(request: Request) -> Response:
    s = request.app.state
    checks = await to_thread.run_sync(readiness, s.store, s.blobs, s.settings)
    if not checks.pop("ready"):
        return error_response(503, "not_ready", "the server cannot take writes now: "
                              "see details", checks, headers={"Retry-After": "30"})
    return json_response({"status": "ready", **checks}, headers={"Cache-Control": "no-store"})


async def _collector(app: Litestar, settings: Settings) -> None:
    """``uploads.collect`` every ``gc_interval_ms``; a failure is logged, the next
    round tries again."""
    while True:
        await asyncio.sleep(settings.gc_interval_ms / 1000)
        try:
            await to_thread.run_sync(uploads.collect, app.state.store, app.state.blobs,
                                     settings)
        except Exception:  # the server goes on; the log says why
            log.exception("the periodic collection failed")
        app.state.gc_rounds += 1


def create_app(settings: Settings) -> Litestar:
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        store = open_store(settings.database, **settings.store_options)
        store.migrate()
        now = settings.now_ms()
        with store.transaction() as tx:
            publish_templates(tx, now)
            publish_calendar(tx, now, calendar.to_builtins(calendar.current_data(store)))
        if not calendar.coverage_now(store, now).covered:  # --- #17 documents ---
            log.warning("%s", calendar.readiness_note(store, now))
        app.state.store = store
        # Request work runs on anyio's worker threads: a few per core. Logins wait
        # for scrypt (its pool runs one per core) behind a limiter of their own, so
        # a login storm does not hold the threads pushes and pulls need.
        to_thread.current_default_thread_limiter().total_tokens = settings.worker_thread_limit
        app.state.login_limiter = CapacityLimiter(2 * SCRYPT_THREADS)
        app.state.blobs = open_blobs(settings.blob_location)
        app.state.gc_rounds = 0
        collector = (asyncio.get_running_loop().create_task(_collector(app, settings))
                     if settings.gc_interval_ms > 0 else None)
        try:
            yield
        finally:
            if collector is not None:
                collector.cancel()
                try:
                    await collector
                except asyncio.CancelledError:
                    pass
            app.state.blobs.close()
            store.close()

    # --- #18 ops: request id, metrics, 503 while the database is down ---
    ops_handlers: list[Any] = [observability.metrics_controller()] if settings.metrics else []
    ops_middleware: list[Any] = [observability.request_id_middleware]
    if settings.metrics:
        ops_middleware.append(observability.prometheus_config().middleware)
    handlers: dict[Any, Any] = {**EXCEPTION_HANDLERS, **{
        e: observability.handle_unavailable for e in observability.unavailable_errors()}}
    app = Litestar(
        route_handlers=[AuthController, SyncController, UploadController, BlobController,
                        *OFFICE_CONTROLLERS, ReportController, healthz, readyz, *ops_handlers,
                        *DOCUMENT_CONTROLLERS, CalendarCoverageController,  # --- #17 documents ---
                        AlertController,  # --- #17 incidents ---
                        RiskController,  # --- #17 warnings ---
                        CaseRoutingController],  # --- #17 cases ---
        middleware=ops_middleware,
        before_send=[alerts_header],  # --- #17 incidents: the unacknowledged alerts header
        dependencies=DEPENDENCIES,
        request_class=WireRequest,
        dto=WireBody,
        return_dto=None,
        lifespan=[lifespan],
        exception_handlers=handlers,
        openapi_config=openapi_config(),
        request_max_body_size=1024 * 1024,
        debug=False,
    )
    app.state.settings = settings
    return app


def app_from_env() -> Litestar:
    """Factory for ``uvicorn --factory sync_server.app:app_from_env`` (WAGE_PATROL_* env)."""
    return create_app(Settings.from_env())
