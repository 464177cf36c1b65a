"""Quick-reply search (characters, pinyin, initials, typos, diacritics) and suggestions."""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Sequence

import pytest

from cs_console.replies import Library, QuickReply, load_library, shipped_library_dir
from cs_console.replies.search import Hit, ReplyIndex, fold, pinyin_forms
from cs_console.replies.suggest import suggest


@pytest.fixture(scope="module")
def library() -> Library:
    loaded, issues = load_library([shipped_library_dir()])
    assert issues == []
    return loaded


@pytest.fixture(scope="module")
def index(library: Library) -> ReplyIndex:
    return ReplyIndex(library.replies)


def replicate(replies: Sequence[QuickReply], count: int) -> list[QuickReply]:
    """A library of ``count`` replies made of copies of ``replies`` with new ids."""
    copies: list[QuickReply] = []
    round_number = 0
    while len(copies) < count:
        for reply in replies[: count - len(copies)]:
            copies.append(
                dataclasses.replace(reply, id=f"{reply.id}.copy{round_number}", hotkey=None)
            )
        round_number += 1
    return copies


def ids(hits: list[Hit]) -> list[str]:
    return [hit.reply.id for hit in hits]


# --- folding ---------------------------------------------------------------------------


def test_fold() -> None:
    assert fold("  Hoàn   TIỀN\n") == "hoan tien"
    assert fold("Đơn hàng") == "don hang"
    assert fold("¿Dónde está?") == "¿donde esta?"
    assert fold("已发货 EMS") == "已发货 ems"
    assert pinyin_forms("已发货，EMS 单号") == ("yifahuo danhao", "yfh dh")
    assert pinyin_forms("no chinese") == ("", "")


# --- search ----------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["fh", "fahuo", "发货", "FaHuo"])
def test_chinese_by_characters_pinyin_and_initials(index: ReplyIndex, query: str) -> None:
    hits = index.search(query, language="zh-CN", limit=5)
    assert len(hits) == 5
    top = ids(hits)
    assert all(reply_id.startswith("zh-CN.") for reply_id in top)
    assert "zh-CN.shipping.ship-within-48h" in top
    assert sum(reply_id.startswith("zh-CN.shipping.") for reply_id in top) >= 2


def test_pinyin_needs_no_language_hint(index: ReplyIndex) -> None:
    assert "zh-CN.shipping.ship-within-48h" in ids(index.search("fahuo", limit=5))
    assert ids(index.search("tuikuan", limit=1))[0].startswith("zh-CN.refund.")


def test_chinese_refund(index: ReplyIndex) -> None:
    top = ids(index.search("退款", language="zh-CN", limit=5))
    assert sum(reply_id.startswith("zh-CN.refund.") for reply_id in top) >= 3


@pytest.mark.parametrize(("query", "group"), [("refnud", "refund"), ("trakcing", None)])
def test_english_typos(index: ReplyIndex, query: str, group: str | None) -> None:
    hits = index.search(query, language="en", limit=5)
    assert hits
    for hit in hits:
        assert hit.reply.language == "en"
    if group is not None:
        assert any(hit.reply.group == group for hit in hits)
    else:
        assert all("tracking" in fold(hit.reply.title + " " + hit.reply.body) for hit in hits)


def test_exact_beats_fuzzy_and_title_beats_body(index: ReplyIndex) -> None:
    exact = index.search("refund", language="en", limit=300)
    fuzzy = index.search("refnud", language="en", limit=10)
    assert exact[0].score > fuzzy[0].score

    def where(reply: QuickReply) -> str:
        if "refund" in fold(reply.title):
            return "title"
        if "refund" in fold(" ".join(reply.keywords)):
            return "keywords"
        return "body" if "refund" in fold(reply.body) else "elsewhere"

    english = [hit for hit in exact if hit.reply.language == "en"]
    title_scores = [hit.score for hit in english if where(hit.reply) == "title"]
    body_scores = [hit.score for hit in english if where(hit.reply) == "body"]
    assert title_scores
    assert body_scores
    assert min(title_scores) > max(body_scores)


def test_vietnamese_without_diacritics(index: ReplyIndex) -> None:
    top = ids(index.search("hoan tien", language="vi", limit=5))
    assert all(reply_id.startswith("vi.refund.") for reply_id in top)
    assert ids(index.search("hoàn tiền", language="vi", limit=5)) == top


@pytest.mark.parametrize("query", ["where is my parcel", "Where is my parcel??", "parcel stuck"])
def test_multi_word_query(index: ReplyIndex, query: str) -> None:
    assert ids(index.search(query, language="en", limit=3))[0] == "en.logistics.chase-courier"


def test_language_is_ranked_first(index: ReplyIndex) -> None:
    # Every language titles a reply "... 48 ..."; the conversation's wins.
    for language in ("en", "es", "vi", "zh-CN"):
        hits = index.search("48", language=language, limit=3)
        assert hits[0].reply.id == f"{language}.shipping.ship-within-48h"
    languages = {hit.reply.language for hit in index.search("48", limit=10)}
    assert languages == {"en", "es", "vi", "zh-CN"}


def test_empty_query_lists_the_language_first(index: ReplyIndex, library: Library) -> None:
    hits = index.search("  ", language="vi", limit=1000)
    vi = library.for_language("vi")
    assert [hit.reply for hit in hits[: len(vi)]] == vi
    assert len(hits) == len(library)
    assert len(index.search("", language="en", limit=7)) == 7
    assert index.search("refund", limit=0) == []


def test_no_match(index: ReplyIndex) -> None:
    assert index.search("qqqqzzzz", language="en") == []


def test_search_is_fast_with_5000_replies(library: Library) -> None:
    big = ReplyIndex(replicate(library.replies, 5000))
    assert len(big) == 5000
    queries = ["f", "fh", "fahuo", "refnud", "where is my parcel", "退款"]
    for query in queries:  # warm caches once, as the palette does on its first keystroke
        big.search(query, language="en")
    timings: dict[str, list[float]] = {query: [] for query in queries}
    for _round in range(5):
        for query in queries:
            start = time.perf_counter()
            big.search(query, language="en")
            timings[query].append((time.perf_counter() - start) * 1000)
    every = sorted(value for values in timings.values() for value in values)
    median = statistics.median(every)
    p90 = every[int(len(every) * 0.9) - 1]
    for query, values in timings.items():
        print(f"{query!r}: median {statistics.median(values):.1f} ms, max {max(values):.1f} ms")
    print(f"all {len(every)} queries: median {median:.1f} ms, p90 {p90:.1f} ms")
    # The target is 20 ms median on a 2-core machine; the bound leaves room for noisy CI.
    assert median < 40


# --- suggestions -----------------------------------------------------------------------


def suggested(
    index: ReplyIndex,
    library: Library,
    message: str | None,
    status: str | None,
    language: str,
    audience: str | None = None,
) -> list[str]:
    return [
        reply.id
        for reply in suggest(
            index,
            library,
            last_customer_message=message,
            order_status=status,
            language=language,
            audience=audience,
        )
    ]


def test_parcel_not_moving_suggests_logistics(index: ReplyIndex, library: Library) -> None:
    top = suggested(index, library, "where is my parcel? it hasn't moved for days", "shipped", "en")
    assert len(top) == 3
    first = library.get(top[0])
    assert first is not None
    assert first.group == "logistics"
    assert first.scenario == "no-tracking-update"


@pytest.mark.parametrize(
    ("message", "status", "language", "scenario"),
    [
        ("when will it ship", "awaiting-shipment", "en", "shipping-48h"),
        ("still not moved", "shipped", "en", "no-tracking-update"),
        ("I want a refund", "awaiting-shipment", "en", "refund-before-shipping"),
        ("it arrived broken", "delivered", "en", "damage-photos"),
        ("什么时候发货", "awaiting-shipment", "zh-CN", "shipping-48h"),
        ("物流没动", "shipped", "zh-CN", "no-tracking-update"),
        ("我要退款", "awaiting-shipment", "zh-CN", "refund-before-shipping"),
        ("东西坏了", "delivered", "zh-CN", "damage-photos"),
        ("tôi muốn hoàn tiền", "awaiting-shipment", "vi", "refund-before-shipping"),
        ("¿dónde está mi pedido? no se mueve", "shipped", "es", "no-tracking-update"),
        ("quiero un reembolso", "awaiting-shipment", "es", "refund-before-shipping"),
    ],
)
def test_suggestions_follow_message_and_status(
    index: ReplyIndex, library: Library, message: str, status: str, language: str, scenario: str
) -> None:
    top = suggested(index, library, message, status, language)
    assert top
    first = library.get(top[0])
    assert first is not None
    assert first.language == language
    assert first.scenario == scenario


def test_status_alone_suggests_fitting_replies(index: ReplyIndex, library: Library) -> None:
    top = suggested(index, library, None, "refund-requested", "en")
    assert len(top) == 3
    for reply_id in top:
        reply = library.get(reply_id)
        assert reply is not None
        assert reply.group == "refund"


def test_suggestions_are_deterministic_and_bounded(index: ReplyIndex, library: Library) -> None:
    runs = {
        tuple(suggested(index, library, "refund please, it is broken", "delivered", "en"))
        for _ in range(3)
    }
    assert len(runs) == 1
    assert len(next(iter(runs))) == 3
    assert suggested(index, library, None, None, "en") == []
    assert suggested(index, library, "zzzz qqqq", None, "en") == []
    assert (
        suggest(
            index,
            library,
            last_customer_message="refund",
            order_status=None,
            language="en",
            limit=0,
        )
        == []
    )


def test_audience_prefers_the_agents_desk(index: ReplyIndex, library: Library) -> None:
    top = suggested(index, library, "hello, is this in stock?", None, "en", audience="pre-sale")
    first = library.get(top[0])
    assert first is not None
    assert first.audience in ("pre-sale", "both")
