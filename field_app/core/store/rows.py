"""The device store's typed rows and its JSON coding: what ``Tx`` reads and writes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from shared_schema.wire import Mutation

_enc = msgspec.json.Encoder()
_dec = msgspec.json.Decoder()
mutation_decoder = msgspec.json.Decoder(Mutation)


def dumps(value: Any) -> str:
    return _enc.encode(value).decode()


def loads(text: str | bytes | None) -> Any:
    return None if text is None else _dec.decode(text)



@dataclass(slots=True)
class RecordRow:
    entity: str
    id: str
    data: dict[str, Any]
    server: dict[str, Any] | None = None
    field_revs: dict[str, int] | None = None
    server_rev: int = 0
    server_hlc: str | None = None
    deleted: bool = False
    seen_gen: int = 0

    def base_for(self, keys: list[str]) -> dict[str, int]:
        revs = self.field_revs or {}
        return {k: revs.get(k, 0) for k in keys}



@dataclass(slots=True)
class ServerPart:
    """What a row holds of the server: its values (None: known only here),
    field revisions (stored JSON text), revision and HLC."""

    server: dict[str, Any] | None
    field_revs: str = "{}"
    server_rev: int = 0
    server_hlc: str | None = None

    def revs(self) -> dict[str, int]:
        return loads(self.field_revs) or {}


@dataclass(slots=True)
class OutboxEntry:
    seq: int
    mutation: Mutation
    attempts: int = 0
    body: bytes = b""  # the stored wire JSON, when read for a push



@dataclass(slots=True)
class QuarantineRow:
    id: str
    kind: str
    seq: int | None
    entity: str | None
    entity_id: str | None
    op: str | None
    mutation: Mutation | None
    code: str
    message: str
    details: dict[str, Any]
    state: str
    created_at: int


@dataclass(slots=True)
class PhotoRow:
    sha256: str
    path: str
    bytes: int
    state: str
    upload_url: str | None
    attempts: int
    last_error: str | None
    created_at: int

