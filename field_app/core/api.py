"""The device's HTTP client: one httpx.Client, error mapping and back-off.

Every call is classified once, here:

* 2xx/3xx and item-level 4xx → returned to the caller, which decides;
* 401 → ``LoginRequired`` with the server's code (token_expired, …);
* network errors, timeouts, 408, 429 and 5xx → retryable: ``with_retries``
  waits ``settings.backoff_s(n)`` (exponential, full jitter) and tries again,
  up to ``settings.max_attempts``, then raises ``NetworkError``.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

import httpx
import msgspec

from field_app.core.errors import LoginRequired, NetworkError, ServerError
from field_app.core.settings import DeviceSettings
from shared_schema.wire import error_decoder

try:  # a pinned dependency; a build without it (a phone's package set) uses gzip
    import zstandard  # noqa: F401  (httpx decodes zstd answers with it)
    ZSTD = True
except ImportError:  # pragma: no cover
    ZSTD = False

T = TypeVar("T")
#: What the device takes in answers, zstd first (httpx decodes both; zstd
#: through ``zstandard``). A server that does not offer zstd answers gzip.
ACCEPT_ENCODING = "zstd, gzip" if ZSTD else "gzip"
#: 423: the server is writing the same upload for another request (``upload_busy``).
RETRY_STATUSES = frozenset({408, 423, 425, 429})


class Retryable(Exception):
    """A failure worth trying again after a pause."""


def error_of(response: httpx.Response) -> tuple[str, str, dict[str, Any]]:
    """(code, message, details) of an error response, whatever its body."""
    try:
        info = error_decoder.decode(response.content).error
        return info.code, info.message, dict(info.details)
    except (msgspec.DecodeError, msgspec.ValidationError):
        text = response.text[:200] if response.content else ""
        return f"http_{response.status_code}", text or f"HTTP {response.status_code}", {}


class ApiClient:
    def __init__(self, base_url: str, settings: DeviceSettings, token: str | None = None) -> None:
        self.settings = settings
        self.token = token
        #: The coding of push bodies: what the server said it takes
        #: (``Accept-Encoding`` on a response, RFC 7694), zstd preferred, else
        #: gzip, else None (plain JSON); a sync learns it from its first pull.
        self.request_coding: str | None = None
        timeout = httpx.Timeout(settings.read_timeout_s, connect=settings.connect_timeout_s)
        kwargs: dict[str, Any] = {"base_url": base_url.rstrip("/"), "timeout": timeout,
                                  "headers": {"Accept-Encoding": ACCEPT_ENCODING}}
        if settings.transport is not None:
            kwargs["transport"] = settings.transport
        self.http = httpx.Client(**kwargs)

    @property
    def gzip_requests(self) -> bool:
        """The server takes compressed request bodies (zstd or gzip)."""
        return self.request_coding is not None

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> "ApiClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, method: str, url: str, *, auth: bool = True, **kwargs: Any) -> httpx.Response:
        """One request. Raises ``Retryable`` or ``LoginRequired``; returns any
        other response (the caller reads 4xx bodies with ``error_of``)."""
        headers = dict(kwargs.pop("headers", None) or {})
        if auth and self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            response = self.http.request(method, url, headers=headers, **kwargs)
        except httpx.TransportError as exc:  # connect, read, write, timeouts, protocol
            raise Retryable(f"{type(exc).__name__}: {exc or 'connection failed'}") from exc
        # The body is read (and cached in the response). httpx links a response
        # and its stream both ways: left so, a response (a pull page of
        # megabytes) lives until the cycle collector happens to run.
        response.stream = httpx.ByteStream(b"")
        offered = response.headers.get("accept-encoding")
        if offered:
            codings = {c.split(";")[0].strip() for c in offered.lower().split(",")}
            self.request_coding = ("zstd" if ZSTD and "zstd" in codings
                                   else "gzip" if "gzip" in codings else None)
        if response.status_code == 401 and auth:
            code, message, _ = error_of(response)
            raise LoginRequired(code, message)
        if response.status_code >= 500 or response.status_code in RETRY_STATUSES:
            code, message, _ = error_of(response)
            raise Retryable(f"HTTP {response.status_code} {code}: {message}")
        return response

    def with_retries(self, step: Callable[[], T], what: str) -> T:
        """Run ``step`` until it stops raising ``Retryable``, backing off in between."""
        attempts = max(1, self.settings.max_attempts)
        for attempt in range(attempts):
            try:
                return step()
            except Retryable as exc:
                last = str(exc)
                if attempt + 1 >= attempts:
                    break
                self.settings.sleep(self.settings.backoff_s(attempt))
        raise NetworkError("network", f"{what} failed after {attempts} attempts: {last}",
                           attempts=attempts)

    def call(self, method: str, url: str, what: str, **kwargs: Any) -> httpx.Response:
        """``send`` with retries, for requests whose body can be sent again."""
        return self.with_retries(lambda: self.send(method, url, **kwargs), what)


def expect_ok(response: httpx.Response, what: str) -> httpx.Response:
    """Raise ``ServerError`` for a 4xx answer about the request as a whole."""
    if response.status_code >= 400:
        code, message, details = error_of(response)
        raise ServerError(code, f"{what}: {message}", response.status_code, **details)
    return response
