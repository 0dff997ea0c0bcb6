"""Warning headers as endpoints/filters/warning.go's recorder writes them (its own test tables)."""

from __future__ import annotations

import pytest

from boxk8s.api.warning_headers import plan_warning_headers


@pytest.mark.parametrize(("texts", "expected"), [
    ([], []),
    ([""], []),
    (["mytext"], ['299 - "mytext"']),
    (["mytext", "mytext"], ['299 - "mytext"']),
    (["mytext1", "mytext2", "mytext3"], ['299 - "mytext1"', '299 - "mytext2"', '299 - "mytext3"']),
    (["my\ntext"], []),  # a control character: the warning is dropped
    (["a\x00b", "ok", "\x85", "\ud800"], ['299 - "ok"']),  # C0, C1 and a lone surrogate (not UTF-8)
    (['say "hi" \\ bye'], ['299 - "say \\"hi\\" \\\\ bye"']),
])
def test_add_warning(texts: list[str], expected: list[str]) -> None:
    assert plan_warning_headers(texts) == expected


def test_truncation() -> None:
    """TestTruncation, with its limits of 25 runes in all and 5 per item."""
    texts = ["aaaaaaaaaa", "aaaaaaaaaa", "bb", "ccc", "Iñtërnâtiô"]
    assert plan_warning_headers(texts, 25, 5) == ['299 - "aaaaaaaaaa"', '299 - "bb"', '299 - "ccc"',
                                                  '299 - "Iñtërnâtiô"']
    texts += ["e", "ffffffffff", "ffffffffff", "gggggggggg", "h"]
    assert plan_warning_headers(texts, 25, 5) == ['299 - "aaaaa"', '299 - "bb"', '299 - "ccc"', '299 - "Iñtër"',
                                                  '299 - "e"', '299 - "fffff"', '299 - "ggggg"']


def test_the_default_limits() -> None:
    many = [f"unknown field \"{i:04d}{'x' * 100}\"" for i in range(100)]
    headers = plan_warning_headers(many)
    assert sum(len(h) for h in headers) < 4096 + 100 * 12 and all(len(h) <= 256 + 8 for h in headers)
