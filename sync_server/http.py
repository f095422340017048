"""Small HTTP helpers shared by the controllers: body limits, encodings, JSON."""

from __future__ import annotations

import io
import threading
import zlib
from typing import Any, TypeVar
from urllib.parse import quote

import msgspec
import zstandard
from litestar import MediaType, Request, Response

from shared_schema.wire import encoder
from sync_server.domain.errors import DomainError
from sync_server.errors import validation_error
from sync_server.settings import Settings

T = TypeVar("T")

#: Bodies of at least this many bytes are compressed (zstd or gzip) for clients
#: that accept it.
GZIP_MIN_BYTES = 1024
#: Level 6 with memLevel 9: pull pages shrink well for a CPU cost paid while the
#: device writes the previous page (it prefetches); measured in docs/performance.md.
GZIP_RESPONSE_LEVEL = 6
GZIP_MEM_LEVEL = 9
#: zstd level of responses, chosen by measurement on the bench's pull pages
#: (docs/performance.md, "Encoding choice"): level 1 is smaller than gzip 6 for a fraction of its
#: CPU; higher levels cost more CPU for little or nothing.
ZSTD_RESPONSE_LEVEL = 1
#: A zstd request body may not ask for a larger window than this (a frame's
#: window is memory the server allocates before reading a byte of it).
ZSTD_MAX_WINDOW = 1 << 23
#: Sync responses say which request codings the server takes (RFC 7694), in
#: its order of preference; devices that only look for "gzip" still find it.
ACCEPTS = {"Accept-Encoding": "zstd, gzip"}
#: Request body codings the server decodes; anything else: 415 ``unsupported_encoding``.
REQUEST_CODINGS = ("identity", "gzip", "x-gzip", "zstd")
#: JSON bodies may nest objects and arrays this deep at most (400 ``too_deep``):
#: a push is 5 deep to an answer's value; Python's own limit (~1000) would
#: otherwise end a deeper body in a RecursionError, here or on each later pull.
MAX_JSON_DEPTH = 64
#: Integer query parameters fit signed 64-bit integers (the database's).
#: Integer query parameters fit signed 64-bit integers (the database's).
INT64_MAX = 2**63 - 1

_local = threading.local()


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing with 413 before parsing once it passes ``limit``,
    and with 415 a Content-Encoding it does not decode (before reading it)."""
    coding = request.headers.get("content-encoding", "").strip().lower() or "identity"
    if coding not in REQUEST_CODINGS:
        raise DomainError("unsupported_encoding",
                          f"Content-Encoding {coding[:40]!r} is not supported; send identity, "
                          "gzip or zstd", got=coding[:40], supported=list(REQUEST_CODINGS),
                          headers={"Accept-Encoding": "zstd, gzip"})
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise DomainError("too_large", f"the body is over the limit of {limit} bytes",
                          limit=limit, got=int(declared))
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise DomainError("too_large", f"the body is over the limit of {limit} bytes",
                              limit=limit)
        chunks.append(chunk)
    body = b"".join(chunks)
    if coding in ("gzip", "x-gzip"):
        body = _gunzip(body, limit)
    elif coding == "zstd":
        body = _unzstd(body, limit)
    return body


def _gunzip(body: bytes, limit: int) -> bytes:
    """A gzip request body, inflated; the size limit holds for the inflated bytes."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise DomainError("malformed_json", f"the gzip body cannot be inflated: {exc}") from None
    if len(out) > limit:
        raise DomainError("too_large", f"the body is over the limit of {limit} bytes",
                          limit=limit)
    if not inflater.eof:
        raise DomainError("malformed_json", "the gzip body is truncated")
    return out


def _unzstd(body: bytes, limit: int) -> bytes:
    """A zstd request body, decompressed; the size limit holds for the
    decompressed bytes (read at most ``limit + 1`` of them, as ``_gunzip``)."""
    d = zstandard.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW)
    try:
        out = d.stream_reader(io.BytesIO(body), read_across_frames=True).read(limit + 1)
    except zstandard.ZstdError as exc:
        raise DomainError("malformed_json", f"the zstd body cannot be decompressed: {exc}") from None
    if len(out) > limit:
        raise DomainError("too_large", f"the body is over the limit of {limit} bytes",
                          limit=limit)
    # The stream reader stops quietly at the end of a truncated frame: check
    # that every frame ends (their output is known to fit in ``limit`` now).
    rest = body
    try:
        while True:
            frame = d.decompressobj()
            frame.decompress(rest)
            if not frame.eof:
                raise DomainError("malformed_json", "the zstd body is truncated")
            rest = frame.unused_data
            if not rest:
                break
    except zstandard.ZstdError as exc:
        raise DomainError("malformed_json", f"the zstd body cannot be decompressed: {exc}") from None
    return out


def _codings(request: Request) -> dict[str, float]:
    """The client's Accept-Encoding as {coding: q}."""
    out: dict[str, float] = {}
    for part in request.headers.get("accept-encoding", "").lower().split(","):
        name, _, params = part.strip().partition(";")
        name = name.strip()
        if not name:
            continue
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0
        if name == "x-gzip":
            name = "gzip"
        out[name] = max(q, out.get(name, 0.0)) if name in out else q
    return out


def response_coding(request: Request) -> str | None:
    """The coding of a large sync answer for this client: ``"zstd"`` when its
    Accept-Encoding lists zstd (with a non-zero q, not below gzip's), else
    ``"gzip"`` when it lists gzip or ``*`` as before, else None (identity)."""
    codings = _codings(request)
    gzip_q = codings.get("gzip", codings.get("*", 0.0))
    zstd_q = codings.get("zstd", 0.0)
    if zstd_q > 0 and zstd_q >= gzip_q:
        return "zstd"
    if gzip_q > 0:
        return "gzip"
    return None


def accepts_gzip(request: Request) -> bool:
    """Does the client's Accept-Encoding list gzip (with a non-zero q)?"""
    codings = _codings(request)
    return codings.get("gzip", codings.get("*", 0.0)) > 0


def _zstd(body: bytes) -> bytes:
    compressor = getattr(_local, "zstd", None)  # not to be shared between threads
    if compressor is None:
        compressor = _local.zstd = zstandard.ZstdCompressor(level=ZSTD_RESPONSE_LEVEL)
    return compressor.compress(body)


def decode(body: bytes, decoder: msgspec.json.Decoder) -> Any:
    """A JSON body as ``decoder``'s type: 400 ``malformed_json`` (not JSON, or a
    string that is not UTF-8), ``invalid_body`` (wrong shape) or ``too_deep``
    (nested past ``MAX_JSON_DEPTH``)."""
    try:
        if not body.isascii():
            # The decoder skips unknown keys and their values unchecked: a key
            # that is not UTF-8 would be ignored, not refused.
            body.decode("utf-8")  # skipped for ASCII, the common case
        value = decoder.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise validation_error(exc) from None
    except UnicodeDecodeError as exc:
        raise DomainError("malformed_json", f"the body is not valid UTF-8 at byte {exc.start}", path="$") from None
    except RecursionError:
        raise _too_deep() from None
    if too_deep(value, MAX_JSON_DEPTH):
        raise _too_deep()
    return value


def _too_deep() -> DomainError:
    return DomainError("too_deep", f"the body nests objects and arrays more than "
                       f"{MAX_JSON_DEPTH} deep", limit=MAX_JSON_DEPTH, path="$")


_LEAVES = frozenset({str, int, float, bool, type(None)})


def too_deep(value: Any, limit: int) -> bool:
    """Does ``value`` (decoded JSON: dicts, lists, msgspec Structs) nest more
    than ``limit`` containers deep? It looks only into containers, and its own
    recursion is at most ``limit`` calls deep."""
    return _deeper([value], limit + 1)


def _deeper(v: Any, budget: int) -> bool:
    for c in (v.values() if type(v) is dict else v):
        t = type(c)
        if t in _LEAVES:
            continue
        if budget <= 1:
            return True
        if t is dict or t is list or t is tuple:
            if _deeper(c, budget - 1):
                return True
        elif isinstance(c, msgspec.Struct):
            if _deeper([getattr(c, f) for f in c.__struct_fields__], budget - 1):
                return True
    return False


def json_response(obj: Any, status: int = 200, headers: dict[str, str] | None = None,
                  gzip: bool = False, coding: str | None = None) -> Response:
    """``obj`` as JSON; with ``coding`` (``response_coding``: what the client
    accepts) large bodies are sent with ``Content-Encoding: zstd`` or ``gzip``.
    ``gzip=True`` is ``coding="gzip"``."""
    body = encoder.encode(obj)
    if coding is None and gzip:
        coding = "gzip"
    if coding is not None and len(body) >= GZIP_MIN_BYTES:
        if coding == "zstd":
            body = _zstd(body)
        else:
            z = zlib.compressobj(GZIP_RESPONSE_LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS,
                                 GZIP_MEM_LEVEL)
            body = z.compress(body) + z.flush()
            coding = "gzip"
        headers = {**(headers or {}), "Content-Encoding": coding, "Vary": "Accept-Encoding"}
    return Response(content=body, status_code=status, media_type=MediaType.JSON,
                    headers=headers)


def client_address(request: Request, settings: Settings) -> str:
    """The client's address for login back-off and the audit log: the
    connection's peer. ``X-Forwarded-For`` counts only when that peer is one
    of ``settings.trusted_proxies``: then the rightmost address in it that is
    not itself a trusted proxy (what the nearest untrusted hop said)."""
    peer = request.client.host if request.client else ""
    trusted = settings.trusted_proxies
    if not trusted or peer not in trusted:
        return peer
    hops = [h.strip() for h in ",".join(request.headers.getall("x-forwarded-for", []))
            .split(",") if h.strip()]
    for hop in reversed(hops):
        if hop not in trusted:
            return hop[:64]
    return peer


def disposition(filename: str, fallback: str, *, inline: bool = False) -> str:
    """``Content-Disposition`` for a file named in Chinese: ``fallback`` (ASCII)
    for old clients, the real name in ``filename*`` (RFC 6266)."""
    return (f"{'inline' if inline else 'attachment'}; filename=\"{fallback}\"; "
            f"filename*=UTF-8''{quote(filename)}")
