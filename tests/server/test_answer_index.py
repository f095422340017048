"""Answers checked on a push (``rules.check_inspection``) get exactly the
verdict of ``shared_schema.checklists.validate_answer``: the indexed fast path
for yes/no items accepts nothing it would reject, and rejects with its codes."""

from __future__ import annotations

import pytest

from shared_schema.checklists import AnswerError, load_templates, validate_answer
from sync_server.domain.principal import Principal
from sync_server.domain.sync import rules
from sync_server.domain.errors import Rejection

P = Principal(user_id="u1", username="grid1", role="grid_officer", village_ids=frozenset({"v"}),
              department_ids=frozenset(), device_id="d1", scope_version=0)
ANSWERS = ["yes", "no", "na", "exempt", "maybe", "", "YES", True, False, 0, 1, 3.5, None,
           "42", 42, {"interviewed": 6, "reporting_arrears": 0}, [6, 0], ("yes",)]
VALUES = [None, "x", 5, "2024-01-31", "2024-13", "2024-02", {"a": 1}, True]
TEMPLATES = sorted(load_templates().values(), key=lambda t: t.id)
CODES = [(t, item.code) for t in TEMPLATES for item in t.items] + [(TEMPLATES[0], "NOPE")]


def _expected(template, code, answer, value):
    try:
        validate_answer(template, code, answer, value)
    except AnswerError as exc:
        return exc.code
    return None


def _got(template, code, answer, value):
    entry = {"answer": answer} if value is None else {"answer": answer, "value": value}
    try:
        rules.check_inspection(P, None, {"answers": {code: entry}}, template, {}, 0)
    except Rejection as r:
        return r.code
    return None


@pytest.mark.parametrize(("template", "code"), CODES,
                         ids=[f"{t.id}:{c}" for t, c in CODES])
def test_every_item_gets_the_verdict_of_validate_answer(template, code) -> None:
    verdicts = set()
    item = template.item(code)
    own = [{part.key: 1 for part in item.parts}] if item is not None and item.parts else []
    for answer in ANSWERS + own:
        for value in VALUES:
            expected = _expected(template, code, answer, value)
            assert _got(template, code, answer, value) == expected, (answer, value)
            verdicts.add(expected)
    assert None in verdicts or code == "NOPE"  # some answer is valid: both paths were taken
    assert verdicts - {None}  # and some are not
