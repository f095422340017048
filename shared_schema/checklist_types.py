"""The typed shape of an inspection checklist template: its items, groups,
header fields and the extra values an answer may carry (wire Structs decoded
from ``shared_schema/templates/*.json``), and the code lists they use.
The rules that read templates and answers are in ``shared_schema.checklists``,
which re-exports these names."""

from __future__ import annotations

from typing import Literal, get_args

import msgspec

from shared_schema.base import WireStruct

AnswerType = Literal["yes_no", "yes_no_na", "yes_no_exempt", "number", "numbers", "text"]
ValueType = Literal["number", "text", "date", "month", "numbers"]
PhotoRule = Literal["none", "optional", "required"]
YesNo = Literal["yes", "no"]
TemplateKind = Literal["construction", "enterprise"]
HeadcountKind = Literal["on_site", "real_name", "contracts", "migrant", "interviewed"]
# 六项制度: real-name registration, wage deposit, dedicated wage account,
# payroll through the bank, rights information board, full monthly payment.
SixSystem = Literal[
    "real_name", "deposit", "account", "bank_payroll", "notice_board", "monthly_full_pay"
]

HEADCOUNT_KINDS: tuple[str, ...] = get_args(HeadcountKind)
SIX_SYSTEMS: tuple[str, ...] = get_args(SixSystem)

Number = int | float


class LocalizedText(WireStruct, kw_only=True):
    zh: str
    en: str


class ValuePart(WireStruct, kw_only=True):
    """One named number inside a ``numbers`` answer or value."""

    key: str
    label: LocalizedText
    min: Number | None = None
    max: Number | None = None
    integer: bool = False
    # Key of a sibling part this one may not exceed.
    at_most: str | None = None
    # This part is the named headcount (see ``headcounts``).
    headcount: HeadcountKind | None = None


class ValueSpec(WireStruct, kw_only=True):
    """The optional extra value an inspector may record with an answer."""

    type: ValueType
    label: LocalizedText
    min: Number | None = None
    max: Number | None = None
    integer: bool = False
    parts: tuple[ValuePart, ...] = ()


class ChecklistItem(WireStruct, kw_only=True):
    code: str
    label: LocalizedText
    answer: AnswerType
    # Legal basis as a readable Chinese citation; None where the reference gives none.
    basis: str | None = None
    # The compliant answer of a yes/no item; None for number, numbers and text items.
    good: YesNo | None = None
    # Bounds and whole-number rule of a ``number`` answer.
    min: Number | None = None
    max: Number | None = None
    integer: bool = False
    # The named numbers of a ``numbers`` answer.
    parts: tuple[ValuePart, ...] = ()
    value: ValueSpec | None = None
    photo: PhotoRule = "none"
    photo_hint: LocalizedText | None = None
    # Code of the parent item ("with" on the wire): C22a-c belong to C22.
    parent: str | None = msgspec.field(default=None, name="with")
    headcount: HeadcountKind | None = None
    six_systems: SixSystem | None = None


class ChecklistGroup(WireStruct, kw_only=True):
    code: str
    label: LocalizedText
    items: tuple[str, ...]


class HeaderField(WireStruct, kw_only=True):
    """A field of the inspection header (project, parties, inspectors), not an item."""

    code: str
    label: LocalizedText
    basis: str | None = None
    # Where the value is kept (v2 templates): "site.<field>" (the registry's
    # fact, shown) or "inspection.<field>" (typed in the wizard); None: not kept.
    field: str | None = None


class ChecklistTemplate(WireStruct, kw_only=True):
    id: str
    kind: TemplateKind
    version: int
    site_kinds: tuple[str, ...]
    title: LocalizedText
    header: tuple[HeaderField, ...] = ()
    groups: tuple[ChecklistGroup, ...] = ()
    items: tuple[ChecklistItem, ...] = ()

    def item(self, code: str) -> ChecklistItem | None:
        """The item with this code, or None."""
        for item in self.items:
            if item.code == code:
                return item
        return None
