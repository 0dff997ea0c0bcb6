"""`Warning` response headers as the apiserver writes them (endpoints/filters/warning.go's recorder over
apimachinery's net.NewWarningHeader): each text once, in order; a text that is not valid UTF-8 or holds a
control character is dropped (it cannot travel in a header); past 4096 runes in all, every text is cut
to 256 runes and what no longer fits is dropped."""

from __future__ import annotations

from collections.abc import Sequence

TRUNCATE_AT_TOTAL_RUNES = 4 * 1024
TRUNCATE_ITEM_RUNES = 256


def _valid(text: str) -> bool:
    """NewWarningHeader: valid UTF-8 (no lone surrogates here) and no unicode.IsControl rune (C0, DEL, C1)."""
    return not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or 0xD800 <= ord(c) <= 0xDFFF for c in text)


def _header(text: str) -> str:
    """`299 - "text"` (makeQuotedString: backslashes and quotes escaped)."""
    return '299 - "' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def plan_warning_headers(texts: Sequence[str], total: int = TRUNCATE_AT_TOTAL_RUNES,
                         item: int = TRUNCATE_ITEM_RUNES) -> list[str]:
    """The Warning header values for the texts added to one response, in the order they were added."""
    ordered: list[str] = []
    out: list[str] = []
    written, truncating = 0, False
    for text in texts:
        if not text:
            continue
        if written >= total and truncating:
            break
        if text in ordered:
            continue
        ordered.append(text)
        if truncating:
            text = text[:item]
        if not _valid(text):
            continue
        if written + len(text) <= total or truncating:
            written += len(text)
            out.append(text)
            continue
        truncating, written, out = True, 0, []  # replay everything so far, cut short
        for earlier in ordered:
            cut = earlier[:item]
            if _valid(cut):
                written += len(cut)
                out.append(cut)
    return [_header(t) for t in out]
