"""The pass-through pull types encode to the same JSON as the typed ones, and
the typed decoder reads them: server and device may use either."""

from __future__ import annotations

import msgspec

from shared_schema.wire import (
    Change,
    PullResponse,
    RawChange,
    RawPullResponse,
    encoder,
    pull_response_decoder,
)

DATA = {"id": "s1", "name": "龙湖·春江天玺三期", "lat": 29.66, "answers": {"C01": {"answer": "yes"}}}
REVS = {"name": 7, "answers.C01": 9}


def test_raw_pull_page_is_the_same_json_as_the_typed_one() -> None:
    typed = PullResponse(changes=[
        Change(entity="site", id="s1", rev=9, deleted=False, data=DATA, field_revs=REVS,
               hlc="1764140000000.0001.dev"),
        Change(entity="case", id="c1", rev=10, deleted=True, data={"id": "c1"}, field_revs={})],
        cursor=10, has_more=False, server_time_ms=1764140000123)
    raw = RawPullResponse(changes=[
        RawChange(entity="site", id="s1", rev=9, deleted=False,
                  data=msgspec.Raw(msgspec.json.encode(DATA)),
                  field_revs=msgspec.Raw(msgspec.json.encode(REVS)),
                  hlc="1764140000000.0001.dev"),
        RawChange(entity="case", id="c1", rev=10, deleted=True,
                  data=msgspec.Raw(b'{"id":"c1"}'), field_revs=msgspec.Raw(b"{}"))],
        cursor=10, has_more=False, server_time_ms=1764140000123)
    assert encoder.encode(raw) == encoder.encode(typed)
    assert pull_response_decoder.decode(encoder.encode(raw)) == typed
    back = msgspec.json.decode(encoder.encode(typed), type=RawPullResponse)
    assert bytes(back.changes[0].data) == msgspec.json.encode(DATA)
