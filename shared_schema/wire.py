"""Wire messages of sync protocol version 1 (../docs/protocol.md).

Every request and response body the device and the server exchange is one
of these Structs. Decoding goes through the module-level decoders at the
bottom, so a malformed body fails with msgspec's path (``$.mutations[0].hlc``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from shared_schema.base import WireStruct
from shared_schema.roles import Role

PROTOCOL_VERSION = 1
SUPPORTED_PROTOCOLS = (0, 1)  # current and previous



# --- errors -----------------------------------------------------------------


class ErrorInfo(WireStruct, kw_only=True):
    code: str
    message: str
    details: dict[str, Any] = {}


class ErrorBody(WireStruct, kw_only=True):
    """``{"error": {"code", "message", "details"}}`` — the one error shape."""

    error: ErrorInfo


# --- auth -------------------------------------------------------------------


def Documented(**checks: Any) -> msgspec.Meta:
    """JSON Schema checks a field documents but the decoder does not make:
    the server makes them itself, each with its own error code.
    ``required=True``: a field with a default that the server requires."""
    return msgspec.Meta(extra_json_schema=checks)


class LoginRequest(WireStruct, kw_only=True):
    username: str
    password: str
    #: 1-100 characters without ``.``: checked by the server (400 ``invalid_device_id``).
    device_id: Annotated[str, Documented(minLength=1, maxLength=100, pattern=r"^[^.]*$")]
    device_name: str = ""
    protocol: int = PROTOCOL_VERSION
    #: The random secret the device made on first open (protocol 1.1): the
    #: server binds its hash to ``device_id`` at the first login and refuses
    #: the id with any other secret (409 ``device_id_taken``). 32-200
    #: characters: checked by the server (400 ``device_secret_required``).
    device_secret: Annotated[str, Documented(minLength=32, maxLength=200, required=True)] = ""


class Scope(WireStruct, kw_only=True, omit_defaults=False):
    """Always sent whole: ``all: false`` and empty lists are meaningful."""

    all: bool = False
    village_ids: list[str] = []
    department_ids: list[str] = []


class UserInfo(WireStruct, kw_only=True):
    id: str
    username: str
    display_name: str
    role: Role
    scope: Scope


class LoginResponse(WireStruct, kw_only=True):
    token: str
    expires_at: int  # unix ms
    user: UserInfo
    server_time_ms: int = 0


# --- push -------------------------------------------------------------------


class _MutationBase(WireStruct, tag_field="op", kw_only=True):
    id: str
    seq: int
    hlc: str
    entity: str
    entity_id: str
    fields: dict[str, Any] = {}


class Upsert(_MutationBase, tag="upsert", kw_only=True):
    """Create a record or change some of its fields (per-field merge)."""

    base: dict[str, int] = {}


class Insert(_MutationBase, tag="insert", kw_only=True):
    """Append to an insert-only entity (photo, case_event)."""


class Delete(_MutationBase, tag="delete", kw_only=True):
    """Tombstone a record; it is then pulled with ``deleted: true``."""

    base: dict[str, int] = {}


Mutation = Upsert | Insert | Delete
MutationOp = Literal["upsert", "insert", "delete"]


class PushRequest(WireStruct, kw_only=True):
    device_id: str
    mutations: list[Mutation]
    client_time_ms: int = 0
    #: One of ``SUPPORTED_PROTOCOLS``: checked by the server (400 ``unsupported_protocol``).
    protocol: Annotated[int, Documented(enum=list(SUPPORTED_PROTOCOLS))] = PROTOCOL_VERSION


ResultStatus = Literal["applied", "merged", "duplicate", "rejected"]


class ConflictRef(WireStruct, kw_only=True):
    field: str
    conflict_id: str


class MutationResult(WireStruct, kw_only=True):
    id: str
    status: ResultStatus
    conflicts: list[ConflictRef] = []
    error: ErrorInfo | None = None
    hlc: str | None = None  # set only when the server re-stamped a skewed HLC


class PushResponse(WireStruct, kw_only=True):
    results: list[MutationResult]
    server_time_ms: int
    cursor_hint: int
    clock_skewed: bool = False


# --- pull -------------------------------------------------------------------


class Change(WireStruct, kw_only=True):
    entity: str
    id: str
    rev: int
    deleted: bool
    data: dict[str, Any]
    field_revs: dict[str, int]
    hlc: str | None = None  # the newest HLC among the record's fields


class PullResponse(WireStruct, kw_only=True):
    changes: list[Change]
    cursor: int
    has_more: bool
    server_time_ms: int = 0


class RawChange(WireStruct, kw_only=True):
    """``Change`` with ``data`` and ``field_revs`` kept as JSON text: the same
    bytes on the wire. The server sends the stored JSON through unchanged and
    a device stores a record as it came; neither turns it into Python values
    and back."""

    entity: str
    id: str
    rev: int
    deleted: bool
    data: msgspec.Raw
    field_revs: msgspec.Raw
    hlc: str | None = None


class RawPullResponse(WireStruct, kw_only=True):
    """``PullResponse`` of ``RawChange``: the same JSON."""

    changes: list[RawChange]
    cursor: int
    has_more: bool
    server_time_ms: int = 0


# --- receipt ----------------------------------------------------------------


class Receipt(WireStruct, kw_only=True):
    device_id: str
    mutations_received: int
    last_seq: int
    mutations_applied: int
    mutations_rejected: int
    photos_received: int
    photos_verified: list[str]
    photos_missing: list[str]
    last_push_ms: int | None = None
    last_pull_ms: int | None = None
    clock_offset_ms: int | None = None
    clock_skewed: bool = False


# --- decoders (one per message, module level) ---------------------------------

login_request_decoder = msgspec.json.Decoder(LoginRequest)
push_request_decoder = msgspec.json.Decoder(PushRequest)
push_response_decoder = msgspec.json.Decoder(PushResponse)
pull_response_decoder = msgspec.json.Decoder(PullResponse)
login_response_decoder = msgspec.json.Decoder(LoginResponse)
receipt_decoder = msgspec.json.Decoder(Receipt)
error_decoder = msgspec.json.Decoder(ErrorBody)
encoder = msgspec.json.Encoder()


def mutation_fingerprint(m: Mutation) -> bytes:
    """Canonical bytes of everything a mutation says, for replay detection."""
    return msgspec.json.encode(m, order="sorted")
