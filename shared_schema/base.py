"""The one base class every wire type in shared_schema derives from.

msgspec's schema-evolution rules apply to every subclass: new fields get
defaults, field types never change, unknown fields are ignored on decode.
``kw_only=True`` is not inherited, so each subclass repeats it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

if TYPE_CHECKING:
    from typing import dataclass_transform

    # msgspec inherits ``frozen`` at run time; type checkers only know it when
    # the transform says so, else every subclass reads as a non-frozen dataclass.
    @dataclass_transform(frozen_default=True, field_specifiers=(msgspec.field,))
    class _FrozenStruct(msgspec.Struct, frozen=True):
        pass
else:
    _FrozenStruct = msgspec.Struct


class WireStruct(_FrozenStruct, frozen=True, omit_defaults=True, kw_only=True):
    """Immutable, compact on the wire, keyword-only construction."""
