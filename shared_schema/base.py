"""The one base class every wire type in shared_schema derives from.

msgspec's schema-evolution rules apply to every subclass: new fields get
defaults, field types never change, unknown fields are ignored on decode.
``kw_only=True`` is not inherited, so each subclass repeats it.
"""

from __future__ import annotations

import msgspec


class WireStruct(msgspec.Struct, frozen=True, omit_defaults=True, kw_only=True):
    """Immutable, compact on the wire, keyword-only construction."""
