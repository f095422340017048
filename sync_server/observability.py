"""What operators see of a running server: Prometheus metrics (``/metrics``,
Litestar's own plugin), a request id on every request and log line, text or
JSON logs, and 503 + ``Retry-After`` while the database is unreachable
(docs/deploy.md "Observe").

Several worker processes: ``serve --workers N`` points prometheus_client at
one multiprocess directory (``PROMETHEUS_MULTIPROC_DIR``), so a scrape of any
worker reports the sum of all of them.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import time
import traceback
import uuid
from contextvars import ContextVar
from typing import Any

from litestar import Request, Response, get
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import Counter, Gauge

log = logging.getLogger("sync_server")

PREFIX = "wage_patrol"

#: Mutations a push answered, by result (applied, merged, duplicate, rejected).
MUTATIONS = Counter(f"{PREFIX}_mutations_total", "Mutations answered by push, by result", ["status"])
#: Uploads created (or deduplicated at creation) and completed.
UPLOADS = Counter(f"{PREFIX}_uploads_total", "tus uploads by event", ["event"])
UPLOAD_BYTES = Counter(f"{PREFIX}_upload_bytes_total", "Photo bytes received and kept")
#: Set at each scrape: what the blob store holds of unfinished uploads.
OPEN_UPLOADS = Gauge(f"{PREFIX}_open_uploads", "Unfinished uploads holding partial bytes",
                     multiprocess_mode="livemostrecent")
#: The store's connection pool, per process (summed over the live workers),
#: when the store tells (``pool_stats()``: psycopg_pool's ``get_stats()``).
POOL = {key: Gauge(f"{PREFIX}_db_pool_{name}", help_, multiprocess_mode="livesum")
        for key, name, help_ in (("pool_size", "size", "Database connections open"),
                                 ("pool_available", "available", "Database connections idle"),
                                 ("requests_waiting", "waiting", "Requests waiting for a connection"))}
UNAVAILABLE = Counter(f"{PREFIX}_database_unavailable_total",
                      "Requests answered 503 because the database was unreachable")


def count_push(results: Any) -> None:
    """Count a push's results by status (``PushResponse.results``)."""
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    for status, n in counts.items():
        MUTATIONS.labels(status).inc(n)


def prometheus_config() -> PrometheusConfig:
    """Request counts, latencies and in-flight requests per route (its path
    template: ``/api/v1/sync/push``, ``/api/v1/uploads/{upload_id:str}``)."""
    return PrometheusConfig(app_name="wage-patrol", prefix=PREFIX, group_path=True,
                            exclude=["^/metrics$"], exclude_unhandled_paths=True)


async def _refresh(request: Request) -> None:
    from anyio import to_thread

    blobs = getattr(request.app.state, "blobs", None)
    if blobs is not None:
        OPEN_UPLOADS.set(await to_thread.run_sync(blobs.partial_count))
    pool_stats = getattr(getattr(request.app.state, "store", None), "pool_stats", None)
    if callable(pool_stats):
        stats = pool_stats()
        for key, gauge in POOL.items():
            gauge.set(stats.get(key, 0))


def metrics_controller() -> type[PrometheusController]:
    """Litestar's Prometheus controller at ``/metrics``, out of the API schema,
    refreshing the gauges read at scrape time first."""

    class Metrics(PrometheusController):
        path = "/metrics"

        @get(include_in_schema=False, before_request=_refresh)
        async def get(self) -> Response:
            return await PrometheusController.get.fn(self)

    return Metrics


# --- request id -------------------------------------------------------------------

REQUEST_ID: ContextVar[str] = ContextVar("request_id", default="-")
_GOOD_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    """Take the caller's ``X-Request-ID`` (a proxy's: nginx ``$request_id``) when
    it is a sane token, else make one; every log line of the request carries
    it and the response echoes it."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        sent = next((v for k, v in scope["headers"] if k == b"x-request-id"), b"")
        text = sent.decode("latin-1")
        rid = text if _GOOD_ID.match(text) else uuid.uuid4().hex
        token = REQUEST_ID.set(rid)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0].lower() != b"x-request-id"]
                message = {**message, "headers": [*headers, (b"x-request-id", rid.encode())]}
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)

    return middleware


# --- logs -------------------------------------------------------------------------


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every record (``-`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, and
    the traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", REQUEST_ID.get()),
        }
        if record.exc_info:
            out["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return json.dumps(out, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def logging_config(log_format: str, level: str = "INFO") -> dict[str, Any]:
    """The ``logging.config.dictConfig`` of the server's processes (uvicorn's
    ``log_config``, applied in every worker): the server's, uvicorn's and
    Litestar's loggers to stderr, as text or JSON lines."""
    formatter: dict[str, Any] = ({"()": f"{__name__}.JsonFormatter"} if log_format == "json"
                                 else {"format": TEXT_FORMAT})
    handler = {"class": "logging.StreamHandler", "stream": "ext://sys.stderr",
               "formatter": "main", "filters": ["request_id"]}
    loggers = {name: {"handlers": ["main"], "level": level, "propagate": False}
               for name in ("sync_server", "uvicorn", "uvicorn.error", "uvicorn.access",
                            "litestar")}
    return {"version": 1, "disable_existing_loggers": False,
            "filters": {"request_id": {"()": f"{__name__}.RequestIdFilter"}},
            "formatters": {"main": formatter}, "handlers": {"main": handler},
            "loggers": loggers}


# --- the database is down: 503 ------------------------------------------------------

#: SQLite's words for a database it cannot reach (not a bug in a query).
_SQLITE_UNREACHABLE = ("unable to open database file", "database is locked", "disk i/o error")


def unavailable_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean "the database is unreachable": the store's
    ``StoreUnavailable`` and the engines' connection errors."""
    from sync_server.store import StoreUnavailable

    errors: list[type[BaseException]] = [StoreUnavailable, sqlite3.OperationalError]
    try:
        import psycopg
        from psycopg_pool import PoolTimeout

        errors += [psycopg.OperationalError, PoolTimeout]  # refused, gone, no free connection
    except ImportError:  # pragma: no cover - PostgreSQL is optional
        pass
    return tuple(errors)


def is_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.OperationalError):
        return any(words in str(exc).lower() for words in _SQLITE_UNREACHABLE)
    return isinstance(exc, unavailable_errors())


#: Seconds a client waits before trying again.
RETRY_AFTER_S = 5


def handle_unavailable(request: Request, exc: Exception) -> Response:
    """503 ``database_unavailable`` with ``Retry-After``: nothing was committed,
    the phone keeps its outbox and tries again; any other error of these
    classes is the usual 500."""
    from sync_server.errors import error_response, handle_unexpected

    if not is_unavailable(exc):
        return handle_unexpected(request, exc)
    UNAVAILABLE.inc()
    log.error("database unavailable on %s %s: %s", request.method, request.url.path,
              type(exc).__name__)
    return error_response(503, "database_unavailable",
                          "the server cannot reach its database; nothing was saved, try again "
                          "shortly", headers={"Retry-After": str(RETRY_AFTER_S)})
