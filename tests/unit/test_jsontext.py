"""jsontext: orjson's speed with the standard library's reach."""

from __future__ import annotations

import json
import math

import pytest

from boxk8s import jsontext


def test_the_text_is_compact_utf8_as_the_standard_library_wrote_it() -> None:
    value = {"a": [1, 2.5, None, True], "é": "ü💥", "n": {"x": ""}}
    assert jsontext.dumps(value) == json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    assert jsontext.dumps_bytes(value) == jsontext.dumps(value).encode()
    assert jsontext.loads(jsontext.dumps_bytes(value)) == value


def test_what_orjson_refuses_the_standard_library_does() -> None:
    assert jsontext.dumps({"big": 2**70}) == '{"big":1180591620717411303424}'
    assert jsontext.loads('{"big":1180591620717411303424}') == {"big": 2**70}
    assert jsontext.dumps({1: "a"}) == '{"1":"a"}'
    # a lone surrogate: escaped in text, refused as UTF-8 bytes (the API writes U+FFFD instead)
    assert jsontext.dumps({"s": "\ud800"}) == '{"s":"\\ud800"}'
    with pytest.raises(UnicodeEncodeError):
        jsontext.dumps_bytes({"s": "\ud800"})
    assert jsontext.loads('"\\ud800"') == "\ud800"


@pytest.mark.parametrize("text", ["[NaN]", "[Infinity]", "[-Infinity]", "[1e400]"])
def test_strict_refuses_what_is_not_json_and_stored_rows_are_still_read(text: str) -> None:
    with pytest.raises(ValueError):
        jsontext.loads(text, strict=True)
    value = jsontext.loads(text)[0]
    assert math.isnan(value) or math.isinf(value)


def test_garbage_raises_a_value_error_either_way() -> None:
    for strict in (False, True):
        with pytest.raises(ValueError):
            jsontext.loads("{", strict=strict)
