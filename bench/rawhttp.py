"""A light HTTP/1.1 client for the 200-device benchmark: one keep-alive
connection per simulated device, all driven by one asyncio loop.

The simulated devices share the server's two cores. As 200 httpx threads they
took 2.0-2.8 s of CPU in the timed rounds (about 2 ms per request, most of it
threads contending for the GIL), CPU that phones in the field do not take from
the server. This client writes a request as one buffer and reads the answer by
its Content-Length (or chunks), nothing more, so the load generator stays out
of the measurement; the requests on the wire are what a device sends (method,
path, Authorization, a JSON body, the same Accept-Encoding as httpx).
"""

from __future__ import annotations

import asyncio
import gzip

import zstandard

#: What httpx 0.28 asks for (the device's client), so the server compresses as it would.
ACCEPT_ENCODING = "gzip, deflate, br, zstd"


class TransportError(Exception):
    """The connection broke before a whole response arrived (retried by the caller)."""


class Connection:
    """One keep-alive HTTP/1.1 connection to ``host:port``."""

    def __init__(self, host: str, port: int, headers: dict[str, str] | None = None) -> None:
        self.host, self.port = host, port
        fixed = {"Host": f"{host}:{port}", "Accept": "*/*", "Accept-Encoding": ACCEPT_ENCODING,
                 "Connection": "keep-alive", "User-Agent": "wage-patrol-bench",
                 **(headers or {})}
        self._fixed = "".join(f"{k}: {v}\r\n" for k, v in fixed.items())
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            try:
                await self._writer.wait_closed()
            except OSError:
                pass
        self._reader = self._writer = None

    async def request(self, method: str, target: str, body: bytes = b"",
                      content_type: str | None = None) -> tuple[int, bytes]:
        """Send one request, return (status, body decoded from its Content-Encoding)."""
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        head = f"{method} {target} HTTP/1.1\r\n{self._fixed}"
        if content_type:
            head += f"Content-Type: {content_type}\r\n"
        if body or method in ("POST", "PUT", "PATCH"):
            head += f"Content-Length: {len(body)}\r\n"
        try:
            self._writer.write(head.encode("latin-1") + b"\r\n" + body)
            status, headers, payload = await self._response()
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            await self.close()
            raise TransportError(f"{type(exc).__name__}: {exc}") from exc
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, _decoded(payload, headers.get("content-encoding", ""))

    async def _response(self) -> tuple[int, dict[str, str], bytes]:
        assert self._reader is not None
        line = await self._reader.readline()
        if not line:
            raise asyncio.IncompleteReadError(b"", None)
        status = int(line.split(b" ", 2)[1])
        headers: dict[str, str] = {}
        while True:
            line = await self._reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            return status, headers, await self._reader.readexactly(int(headers["content-length"]))
        if headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await self._reader.readline()).split(b";")[0], 16)
                parts.append(await self._reader.readexactly(size + 2))
                if size == 0:
                    return status, headers, b"".join(p[:-2] for p in parts)
        return status, headers, b""


def _decoded(body: bytes, coding: str) -> bytes:
    coding = coding.lower()
    if not body or coding in ("", "identity"):
        return body
    if coding == "zstd":
        return zstandard.ZstdDecompressor().decompressobj().decompress(body)
    if coding == "gzip":
        return gzip.decompress(body)
    raise ValueError(f"unexpected Content-Encoding {coding!r}")


async def send(conn: Connection, method: str, target: str, body: bytes = b"",
               content_type: str | None = None, retries: list[str] | None = None,
               attempts: int = 5) -> tuple[int, bytes]:
    """As the device's ApiClient: a broken connection (e.g. a keep-alive one the
    server closed) is retried with the same body, after a short pause."""
    for attempt in range(attempts):
        try:
            return await conn.request(method, target, body, content_type)
        except TransportError as exc:
            if attempt == attempts - 1:
                raise
            if retries is not None:
                retries.append(str(exc))
            await asyncio.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")
