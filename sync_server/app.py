"""``create_app(settings) -> Litestar``: the one way the server is built."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator

from anyio import CapacityLimiter, to_thread
from litestar import Litestar, get

from sync_server.domain.auth.controller import AuthController
from sync_server.domain.auth.passwords import SCRYPT_THREADS
from sync_server.domain.sync.controller import SyncController
from sync_server.domain.office.controller import CONTROLLERS as OFFICE_CONTROLLERS
from sync_server.domain.calendar import service as calendar
from sync_server.domain.registry.service import publish_calendar, publish_templates
from sync_server.domain.reports.controller import ReportController
from sync_server.domain.uploads.controller import BlobController, UploadController
from sync_server.domain.uploads.service import BlobStore
from sync_server.errors import EXCEPTION_HANDLERS
from sync_server.openapi import openapi_config
from sync_server.settings import Settings
from sync_server.store.sqlite import SqliteStore


@get("/healthz", summary="Liveness", include_in_schema=False)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


def create_app(settings: Settings) -> Litestar:
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        store = SqliteStore(settings.db_path)
        store.migrate()
        now = settings.now_ms()
        with store.transaction() as tx:
            publish_templates(tx, now)
            publish_calendar(tx, now, calendar.to_builtins(calendar.current_data(store)))
        app.state.store = store
        # Request work runs on anyio's worker threads: a few per core. Logins wait
        # for scrypt (its pool runs one per core) behind a limiter of their own, so
        # a login storm does not hold the threads pushes and pulls need.
        to_thread.current_default_thread_limiter().total_tokens = settings.worker_thread_limit
        app.state.login_limiter = CapacityLimiter(2 * SCRYPT_THREADS)
        app.state.blobs = BlobStore(settings.blob_path)
        try:
            yield
        finally:
            store.close()

    app = Litestar(
        route_handlers=[AuthController, SyncController, UploadController, BlobController,
                        *OFFICE_CONTROLLERS, ReportController, healthz],
        lifespan=[lifespan],
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=openapi_config(),
        request_max_body_size=1024 * 1024,
        debug=False,
    )
    app.state.settings = settings
    return app


def app_from_env() -> Litestar:
    """Factory for ``uvicorn --factory sync_server.app:app_from_env`` (WAGE_PATROL_* env)."""
    return create_app(Settings.from_env())
