"""Per-field merge: clean, equal, won and lost, as a table."""

from __future__ import annotations

import pytest

from shared_schema.merge import Author, FieldEdit, FieldState, merge_field

A = Author("u-grid1", "devA")
A_OTHER_USER = Author("u-grid9", "devA")  # same phone, another user
B = Author("u-office1", "devB")

H1 = "1764140000000.0000.devA"
H2 = "1764140000001.0000.devB"
H3 = "1764140000002.0000.devA"
H0 = "1764139999999.0000.devA"


def state(value, rev, hlc, author):
    return FieldState(value=value, rev=rev, hlc=hlc, author=author)


def edit(value, base, hlc, author):
    return FieldEdit(value=value, base=base, hlc=hlc, author=author)


# (stored, edit, outcome, write, value after, (hlc, author) kept)
CASES = [
    pytest.param(None, edit("x", 0, H1, A), "clean", True, "x", (H1, A),
                 id="never-written-field"),
    pytest.param(state(None, 0, "", None), edit("x", 0, H1, A), "clean", True, "x", (H1, A),
                 id="rev-0-is-never-written"),
    pytest.param(None, edit("x", 17, H1, A), "clean", True, "x", (H1, A),
                 id="never-written-ignores-base"),
    pytest.param(state("old", 5, H2, B), edit("new", 5, H1, A), "clean", True, "new", (H1, A),
                 id="base-is-stored-rev-lower-hlc-still-wins"),
    pytest.param(state("same", 5, H1, B), edit("same", 5, H2, A), "clean", False, "same",
                 (H2, A), id="clean-no-change"),
    pytest.param(state("mine", 9, H1, A), edit("mine again", 5, H3, A), "clean", True,
                 "mine again", (H3, A), id="own-successor-same-device"),
    pytest.param(state("mine", 9, H1, A), edit("mine again", 5, H3, A_OTHER_USER), "clean",
                 True, "mine again", (H3, A_OTHER_USER), id="own-successor-is-per-device"),
    pytest.param(state("later", 9, H3, A), edit("earlier", 5, H1, A), "lost", False, "later",
                 (H3, A), id="own-older-edit-replayed-late-loses"),
    pytest.param(state("theirs", 9, H2, B), edit("theirs", 5, H3, A), "equal", False, "theirs",
                 (H2, B), id="concurrent-equal-values"),
    pytest.param(state("theirs", 9, H1, B), edit("mine", 5, H2, A), "won", True, "mine",
                 (H2, A), id="concurrent-higher-hlc-wins"),
    pytest.param(state("theirs", 9, H2, B), edit("mine", 5, H1, A), "lost", False, "theirs",
                 (H2, B), id="concurrent-lower-hlc-loses"),
    pytest.param(state("seeded", 3, H1, None), edit("mine", 0, H2, A), "won", True, "mine",
                 (H2, A), id="no-stored-author-is-not-own"),
    pytest.param(state(1.5, 9, H1, B), edit(1.5, 0, H0, A), "equal", False, 1.5, (H1, B),
                 id="equal-numbers"),
    pytest.param(state({"answer": "yes"}, 9, H1, B), edit({"answer": "no"}, 0, H2, A), "won",
                 True, {"answer": "no"}, (H2, A), id="map-item-values"),
    pytest.param(state("x", 9, H1, B), edit(None, 0, H2, A), "won", True, None, (H2, A),
                 id="clearing-a-field-concurrently"),
]


@pytest.mark.parametrize(("stored", "incoming", "outcome", "write", "value", "kept"), CASES)
def test_merge_field(stored, incoming, outcome, write, value, kept) -> None:
    got = merge_field(stored, incoming)
    assert got.outcome == outcome
    assert got.write is write
    assert got.value == value
    assert (got.hlc, got.author) == kept
    assert got.conflict is (outcome in ("won", "lost"))


@pytest.mark.parametrize(
    ("first", "second"),
    [((H1, "a"), (H2, "b")), ((H2, "b"), (H1, "a")), ((H3, "c"), (H2, "b"))],
)
def test_concurrent_edits_converge_whatever_the_arrival_order(first, second) -> None:
    """Two devices edit from the same base: the same value wins either way."""
    authors = {H1: A, H3: A, H2: B}
    stored = state("base", 4, H0, None)

    def apply(order):
        s = stored
        for hlc, value in order:
            m = merge_field(s, edit(value, 4, hlc, authors[hlc]))
            if m.write:
                s = state(m.value, s.rev + 1, m.hlc, m.author)
        return s.value

    expected = max(first, second)[1]
    assert apply([first, second]) == apply([second, first]) == expected
