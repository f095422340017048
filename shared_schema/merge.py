"""Per-field merge and conflict detection — a pure function of values.

The server keeps, for every field of every record, the value, the revision
at which it last changed, the HLC of that write and its author. An incoming
edit names the revision it was based on. ``merge_field`` decides:

- ``clean``: the stored revision is the base (or the stored value was
  written by the same device, which is the device's own earlier edit): the
  incoming value is written.
- ``equal``: a concurrent edit that typed the same value: no conflict.
- ``won`` / ``lost``: a concurrent edit with a different value: the higher
  HLC wins, and both values go into a conflict record. Nothing typed is lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Outcome = Literal["clean", "equal", "won", "lost"]


@dataclass(frozen=True, slots=True)
class Author:
    user_id: str
    device_id: str


@dataclass(frozen=True, slots=True)
class FieldState:
    """What the store holds for one field (``rev`` 0: never written)."""

    value: Any
    rev: int
    hlc: str
    author: Author | None


@dataclass(frozen=True, slots=True)
class FieldEdit:
    value: Any
    base: int
    hlc: str
    author: Author


@dataclass(frozen=True, slots=True)
class FieldMerge:
    outcome: Outcome
    write: bool  # does the stored value (and its revision) change?
    value: Any  # the value the field holds after the merge
    hlc: str
    author: Author | None

    @property
    def conflict(self) -> bool:
        return self.outcome in ("won", "lost")


def merge_field(stored: FieldState | None, edit: FieldEdit) -> FieldMerge:
    if stored is None or stored.rev == 0:
        return FieldMerge("clean", True, edit.value, edit.hlc, edit.author)
    own_successor = (
        stored.author is not None
        and stored.author.device_id == edit.author.device_id
        and edit.hlc > stored.hlc
    )
    if stored.rev == edit.base or own_successor:
        changed = stored.value != edit.value
        return FieldMerge("clean", changed, edit.value, edit.hlc, edit.author)
    if stored.value == edit.value:
        # Concurrent but identical: keep the stored revision, no conflict.
        return FieldMerge("equal", False, stored.value, stored.hlc, stored.author)
    if edit.hlc > stored.hlc:
        return FieldMerge("won", True, edit.value, edit.hlc, edit.author)
    return FieldMerge("lost", False, stored.value, stored.hlc, stored.author)
