"""JSON request bodies: typed handler parameters, read and decoded by the server's own rules.

A handler declares its body as ``data: SomeRequest`` (a msgspec Struct), so
Litestar documents it in ``/schema/openapi.json``. ``WireBody`` (the app's
DTO) decodes it strictly with ``http.decode`` (400 ``malformed_json``,
``invalid_body`` with the path, ``unknown_field``, ``too_deep``), and
``WireRequest`` reads it with ``http.read_body`` (415 before reading an
encoding the server does not decode, 413 once past the handler's limit, the
gzip or zstd body inflated under that limit). A handler whose body is large
declares ``data: Deferred[SomeRequest]``: the same checks, decoded by
``Deferred.decode`` on the worker thread instead of the event loop.
"""

from __future__ import annotations

from typing import Any, ClassVar, Generator, Generic, TypeVar, get_args

import msgspec
from litestar import Request
from litestar.dto import AbstractDTO
from litestar.typing import FieldDefinition

from sync_server.http import decode, read_body

T = TypeVar("T")

#: A body's limit unless its handler names one (``opt={"max_body": …}``).
DEFAULT_MAX_BODY = 256 * 1024


class WireRequest(Request):
    """A request whose ``body()`` is read under the handler's limit:
    ``opt["max_body"]`` bytes, or the ``Settings`` field it names."""

    async def body(self) -> bytes:
        if "wire_body" not in self.state:
            limit = self.route_handler.opt.get("max_body", DEFAULT_MAX_BODY)
            if isinstance(limit, str):
                limit = getattr(self.app.state.settings, limit)
            self.state.wire_body = await read_body(self, limit)
        return self.state.wire_body


class Deferred(Generic[T]):
    """A body read and checked for size and encoding, decoded later (on a
    worker thread) into ``T``."""

    __slots__ = ("_body", "_decoder")

    def __init__(self, body: bytes, decoder: msgspec.json.Decoder) -> None:
        self._body = body
        self._decoder = decoder

    def decode(self) -> T:
        return decode(self._body, self._decoder)


#: JSON Schema keywords of a field's ``Meta(extra_json_schema=…)`` that the
#: OpenAPI document takes: checks the server makes itself (with their own
#: error codes), documented on the field without msgspec enforcing them.
_CHECKS = {"minLength": "min_length", "maxLength": "max_length", "pattern": "pattern",
           "minimum": "minimum", "maximum": "maximum", "enum": "enum"}


def _document_checks(schema_creator: Any, ref: Any, target: type) -> None:
    """Copy the documented checks of ``target``'s fields (msgspec's own JSON
    Schema, which Litestar's does not read them from) into its schema."""
    if not isinstance(target, type) or not issubclass(target, msgspec.Struct):
        return
    _, defs = msgspec.json.schema_components([target])
    own = defs.get(target.__name__, {}).get("properties", {})
    schema = schema_creator.schema_registry.from_reference(ref).schema
    if target.__struct_config__.forbid_unknown_fields:  # 400 ``unknown_field``
        schema.additional_properties = False
    for name, prop in own.items():
        field = (schema.properties or {}).get(name)
        for key, attr in _CHECKS.items():
            if key in prop and field is not None and hasattr(field, attr):
                setattr(field, attr, prop[key])
        if prop.get("required") is True and name not in (schema.required or []):
            schema.required = [*(schema.required or []), name]


class WireBody(AbstractDTO[Any]):
    """The body of every handler that takes ``data``: its declared type is
    what the OpenAPI document shows and what the body is decoded into."""

    #: handler id → (decoder, deferred?)
    _bodies: ClassVar[dict[str, tuple[msgspec.json.Decoder, bool]]] = {}

    @staticmethod
    def _target(field_definition: FieldDefinition) -> tuple[Any, bool]:
        annotation = field_definition.annotation
        if getattr(annotation, "__origin__", None) is Deferred:
            return get_args(annotation)[0], True
        return annotation, False

    @classmethod
    def create_for_field_definition(cls, field_definition: FieldDefinition, handler_id: str,
                                    backend_cls: Any = None) -> None:
        if field_definition.name == "data":
            target, deferred = cls._target(field_definition)
            cls._bodies[handler_id] = (msgspec.json.Decoder(target), deferred)

    @classmethod
    def create_openapi_schema(cls, field_definition: FieldDefinition, handler_id: str,
                              schema_creator: Any) -> Any:
        target, _ = cls._target(field_definition)
        ref = schema_creator.for_field_definition(FieldDefinition.from_annotation(target))
        _document_checks(schema_creator, ref, target)
        return ref

    @classmethod
    def generate_field_definitions(cls, model_type: type[Any]) -> Generator[Any, None, None]:
        yield from ()  # no field-by-field transfer: the body is decoded whole

    @classmethod
    def detect_nested_field(cls, field_definition: FieldDefinition) -> bool:
        return False

    def decode_bytes(self, value: bytes) -> Any:
        decoder, deferred = self._bodies[self.asgi_connection.route_handler.handler_id]
        if deferred:
            return Deferred(value, decoder)
        return decode(value, decoder)

    def decode_builtins(self, value: dict[str, Any]) -> Any:
        raise NotImplementedError("bodies are decoded from their bytes")
