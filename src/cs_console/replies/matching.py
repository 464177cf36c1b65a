"""How reply text and what people type are compared: folding, pinyin and keywords.

Folding makes text comparable: lowercase, diacritics removed (``hoàn tiền`` ->
``hoan tien``); Chinese text is also spelled as toneless pinyin (``发货`` -> ``fahuo``)
and its initials (``fh``). :func:`keyword_in` says whether a reply's keyword occurs in
a customer's message. :mod:`cs_console.replies.search` builds its index from these.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

#: Runs of Chinese characters (CJK unified ideographs, extension A, compatibility).
HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_COMBINING_RE = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
#: The words of a folded customer's message (apostrophes kept: "don't").
MESSAGE_WORD_RE = re.compile(r"[a-z0-9']+")
_MIN_STEM = 3
# Letters NFKD does not decompose but people type without their stroke.
_STROKES = str.maketrans({"đ": "d", "ł": "l", "ø": "o", "ħ": "h", "ß": "ss", "’": "'"})


def fold(text: str) -> str:
    """Fold text for matching: lowercase, no diacritics, single spaces.

    ``"Hoàn TIỀN"`` -> ``"hoan tien"``, ``"đơn"`` -> ``"don"``; Chinese is unchanged.

    Args:
        text: any text.
    """
    if text.isascii():
        return " ".join(text.lower().split())
    folded = unicodedata.normalize("NFKD", text.casefold().translate(_STROKES))
    return " ".join(_COMBINING_RE.sub("", folded).split())


@lru_cache(maxsize=65536)
def _run_pinyin(run: str) -> tuple[str, str]:
    # Replies repeat the same phrases (发货, 退款) over and over, and pypinyin is pure
    # Python: caching the runs makes rebuilding the index after an edit cheap.
    from pypinyin import Style, lazy_pinyin

    full = "".join(lazy_pinyin(run, style=Style.NORMAL))
    initials = "".join(lazy_pinyin(run, style=Style.FIRST_LETTER))
    return full, initials


def pinyin_forms(text: str) -> tuple[str, str]:
    """Return ``(full pinyin, initials)`` of the Chinese in ``text``, toneless.

    Each run of Chinese characters becomes one word (``已发货`` -> ``yifahuo`` /
    ``yfh``) so a query matches inside a phrase but not across punctuation.

    Args:
        text: any text; non-Chinese parts are left out.
    """
    runs = HAN_RE.findall(text)
    if not runs:
        return "", ""
    forms = [_run_pinyin(run) for run in runs]
    return " ".join(full for full, _ in forms), " ".join(initials for _, initials in forms)


def stem(word: str) -> str:
    """Drop a common English ending: moving, moved, moves -> mov; shipped -> ship."""
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= _MIN_STEM:
            word = word[: -len(suffix)]
            if suffix in ("ing", "ed") and len(word) > _MIN_STEM and word[-1] == word[-2]:
                word = word[:-1]
            break
    return word


def keyword_in(keyword: str, message: str, stemmed_message: str) -> bool:
    """Whether a folded keyword occurs in a folded message (see ``keyword_matches``)."""
    if not keyword:
        return False
    if HAN_RE.search(keyword):
        return keyword in message
    start = message.find(keyword)
    while start != -1:
        if start == 0 or not message[start - 1].isalnum():
            # Very short keywords ("sf", "ems") must be whole words.
            end = start + len(keyword)
            if len(keyword) > 3 or end == len(message) or not message[end].isalnum():
                return True
        start = message.find(keyword, start + 1)
    words = MESSAGE_WORD_RE.findall(keyword)
    if not words:
        return False
    return " " + " ".join(stem(word) for word in words) + " " in stemmed_message
