"""Shortcuts on the push path give what the general code gives."""

from __future__ import annotations

import uuid

import pytest

from shared_schema.hlc import Hlc
from shared_schema.ids import is_uuid, uuid7
from sync_server.domain.sync import apply

SPELLINGS = [
    str(uuid.uuid4()), uuid7(), str(uuid.uuid4()).upper(), "{" + str(uuid.uuid4()) + "}",
    "urn:uuid:" + str(uuid.uuid4()), uuid.uuid4().hex, str(uuid.uuid4()) + "\n",
    str(uuid.uuid4())[:-1], str(uuid.uuid4()) + "0", "g" + str(uuid.uuid4())[1:], "", "x",
    "１" + str(uuid.uuid4())[1:], "12345678-1234-1234-1234-1234567890ab",
]


@pytest.mark.parametrize("text", SPELLINGS)
def test_the_canonical_uuid_shortcut_accepts_only_what_is_uuid_accepts(text) -> None:
    if apply._CANONICAL_UUID.fullmatch(text):
        assert is_uuid(text)


def test_the_canonical_uuid_shortcut_takes_the_usual_spelling() -> None:
    assert apply._CANONICAL_UUID.fullmatch(uuid7())
    assert not apply._CANONICAL_UUID.fullmatch(str(uuid.uuid4()) + "\n")


class _Settings:
    max_clock_skew_ms = 60_000


class _P:
    device_id = "dev1"


class _B:
    def __init__(self, last=None) -> None:
        self.p, self.settings, self.now = _P(), _Settings(), 1_700_000_000_000
        self.last_hlc, self.skewed = last, False


class _M:
    def __init__(self, hlc: str) -> None:
        self.hlc = hlc


def _stamp(b: _B, m: _M) -> tuple[str, bool]:
    """``_stamp`` as the push calls it: on the HLC ``_check`` parsed."""
    return apply.stamp(b, m, Hlc.parse(m.hlc))


@pytest.mark.parametrize("hlc", ["1700000000000.0000.dev1", "1699999999999.0042.dev1",
                                 "0000000000001.9999.dev1"])
def test_an_hlc_kept_as_sent_is_its_canonical_text(hlc) -> None:
    assert _stamp(_B(), _M(hlc)) == (hlc, False)


def test_an_hlc_in_other_digits_is_stored_in_ascii() -> None:
    text = "١٧٠٠٠٠٠٠٠٠٠٠٠.0000.dev1"  # Arabic-Indic digits: isdigit(), int() reads them
    assert _stamp(_B(), _M(text)) == ("1700000000000.0000.dev1", False)


def test_an_hlc_too_far_ahead_is_restamped() -> None:
    b = _B()
    got, restamped = _stamp(b, _M("1800000000000.0005.dev1"))
    assert (got, restamped, b.skewed) == ("1700000000000.0005.dev1", True, True)
