"""Search over quick replies: substring, pinyin and typo-tolerant matching.

Everything a query is compared with is folded once, when the index is built:
lowercase, diacritics removed (``hoàn tiền`` -> ``hoan tien``), and Chinese text
also as toneless pinyin (``发货`` -> ``fahuo``) and initials (``fh``). A query then
costs a few substring scans over those strings plus one rapidfuzz pass over the
vocabulary, which keeps it within a few milliseconds for thousands of replies.
The pinyin forms wait for the first query that could be pinyin: pypinyin's phrase
tables take 60 MB and half a second to load, and many agents never type pinyin.
Folding, pinyin and keyword matching are in :mod:`cs_console.replies.matching`.

Ranking, best first: the exact query in a title, in keywords, in group/scenario,
in the body; pinyin and initials just below their text counterparts; then replies
holding every word of a multi-word query; then fuzzy word matches ("refnud").
The caller's language gets a small boost and wins ties; the rest keeps library order.
"""

from __future__ import annotations

import bisect
import math
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from cs_console.replies.library import QuickReply
from cs_console.replies.matching import (
    HAN_RE,
    MESSAGE_WORD_RE,
    fold,
    keyword_in,
    pinyin_forms,
    stem,
)

# Folding and pinyin live beside this module; importers of this one keep finding them here.
__all__ = ["Hit", "ReplyIndex", "fold", "pinyin_forms"]

# Field weights of an exact substring hit. Titles beat keywords beat group and
# scenario beat bodies; pinyin sits a little below the characters it spells.
_TITLE, _KEYWORDS, _META, _BODY = 100.0, 96.0, 90.0, 80.0
_PY_TITLE, _PY_KEYWORDS, _PY_BODY = 94.0, 92.0, 76.0
_INI_TITLE, _INI_KEYWORDS, _INI_BODY = 90.0, 88.0, 60.0
_WORD_START_BONUS = 4.0
_FIELD_START_BONUS = 2.0
_EXTRA_FIELD_BONUS, _EXTRA_FIELDS_COUNTED = 1.5, 3
# Replies holding every word of a multi-word query, but not the phrase.
_ALL_WORDS_BASE, _ALL_WORDS_SPAN = 60.0, 10.0
# Fuzzy word matches: 30..70, below every exact hit.
_FUZZY_BASE, _FUZZY_SPAN, _FUZZY_MIN_COVERAGE = 30.0, 40.0, 0.3
_LANGUAGE_BOOST = 5.0
# Typo tolerance by word length: one slip in a 5-letter word scores 80 (ratio).
_FUZZY_MIN_LENGTH = 4
_FUZZY_CUTOFF = 80.0
_FUZZY_CUTOFF_SHORT = 75.0
_PREFIX_SIMILARITY = 0.9

# Field weights for the word index used by fuzzy matching (relative, 0..1).
_WORD_FIELD_WEIGHT = {"title": 1.0, "keywords": 0.95, "meta": 0.9, "body": 0.8}

_WORD_RE = re.compile(r"[a-z0-9]+")
_QUERY_WORD_RE = re.compile(r"\w+")


@dataclass(frozen=True)
class Hit:
    """A search result: the reply and its score (higher is better)."""

    reply: QuickReply
    score: float


class ReplyIndex:
    """A search index over replies, built once and queried per keystroke."""

    def __init__(self, replies: Sequence[QuickReply]) -> None:
        """Fold every reply's searchable text.

        Args:
            replies: the replies in library order (that order breaks ties).
        """
        self.replies: tuple[QuickReply, ...] = tuple(replies)
        self._position = {reply.id: index for index, reply in enumerate(self.replies)}
        self._language = [reply.language for reply in self.replies]
        titles: list[str] = []
        keywords: list[str] = []
        metas: list[str] = []
        bodies: list[str] = []
        self._keyword_lists: list[tuple[str, ...]] = []
        for reply in self.replies:
            folded_keywords = tuple(fold(keyword) for keyword in reply.keywords)
            self._keyword_lists.append(folded_keywords)
            slug = reply.id.removeprefix(f"{reply.language}.{reply.group}.")
            titles.append(fold(reply.title))
            keywords.append(" | ".join(folded_keywords))
            metas.append(
                fold(f"{reply.group} {reply.scenario} {slug}").replace("-", " ").replace(".", " ")
            )
            bodies.append(fold(reply.body))

        # (weight, strings, word-start bonus applies, shortest query searched).
        # A single letter occurs in nearly every body: matching it there only adds
        # work and noise, so bodies wait for the second letter.
        self._text_fields: list[tuple[float, list[str], bool, int]] = [
            (_TITLE, titles, True, 1),
            (_KEYWORDS, keywords, True, 1),
            (_META, metas, True, 1),
            (_BODY, bodies, False, 2),
        ]
        # Only replies with Chinese have pinyin; scanning just those keeps pinyin
        # matching cheap in a library that is mostly other languages.
        self._chinese = [
            index
            for index, reply in enumerate(self.replies)
            if any(HAN_RE.search(text) for text in (reply.title, reply.body, *reply.keywords))
        ]
        self._pinyin_lock = threading.Lock()
        self._pinyin: _PinyinFields | None = None
        self._titles_and_keywords = [
            f"{title}\n{keyword}" for title, keyword in zip(titles, keywords, strict=True)
        ]
        # Without pinyin until a query asks for it (see _all_words).
        self._all_text = [
            "\n".join(parts) for parts in zip(titles, keywords, metas, bodies, strict=True)
        ]

        # Word index for typo tolerance: word -> [(reply position, field weight)].
        postings: dict[str, dict[int, float]] = {}
        for field, strings in (
            ("title", titles),
            ("keywords", keywords),
            ("meta", metas),
            ("body", bodies),
        ):
            weight = _WORD_FIELD_WEIGHT[field]
            for position, text in enumerate(strings):
                for word in _WORD_RE.findall(text):
                    by_reply = postings.setdefault(word, {})
                    if by_reply.get(position, 0.0) < weight:
                        by_reply[position] = weight
        self._vocabulary: list[str] = sorted(postings)
        self._postings: dict[str, list[tuple[int, float]]] = {
            word: list(by_reply.items()) for word, by_reply in postings.items()
        }

    def __len__(self) -> int:
        return len(self.replies)

    def prepare_pinyin(self) -> None:
        """Fold the Chinese replies to pinyin now (thread-safe) rather than at the first
        query that needs it; a caller with time to spare (a worker) may call it early."""
        self._pinyin_fields()

    def _pinyin_fields(self) -> _PinyinFields:
        with self._pinyin_lock:
            if self._pinyin is None:
                self._pinyin = _PinyinFields.build(self.replies, self._chinese, self._all_text)
            return self._pinyin

    def search(self, query: str, *, language: str | None = None, limit: int = 50) -> list[Hit]:
        """Find replies matching ``query``, best first.

        Args:
            query: what the agent typed: words, Chinese, pinyin or pinyin initials.
            language: the conversation's language, ranked first.
            limit: the most hits to return.

        Returns:
            At most ``limit`` hits. An empty query lists the language's replies, then
            the others, in library order.
        """
        if limit <= 0:
            return []
        folded = fold(query)
        if not folded:
            return self._browse(language, limit)

        scores: dict[int, float] = {}
        fields_hit: dict[int, int] = {}
        self._exact(folded, self._text_fields, None, scores, fields_hit)
        # Punctuation ("parcel?", "¿dónde") would stop a phrase or word matching.
        words = _QUERY_WORD_RE.findall(folded)
        bare = " ".join(words)
        if bare and bare != folded:
            self._exact(bare, self._text_fields, None, scores, fields_hit)
        compact = folded.replace(" ", "")
        if compact.isascii() and compact.isalpha() and self._chinese:
            pinyin = self._pinyin_fields()
            self._exact(compact, pinyin.fields, self._chinese, scores, fields_hit)
        for position, count in fields_hit.items():
            # A reply about the topic names it in several places; a chance hit
            # (initials "fh" inside 高峰欢迎) usually sits in one field only.
            scores[position] += _EXTRA_FIELD_BONUS * min(count - 1, _EXTRA_FIELDS_COUNTED)
        if len(words) > 1:
            self._all_words(words, scores)
        self._fuzzy(words, scores)

        if language is not None:
            for position in scores:
                if self._language[position] == language:
                    scores[position] += _LANGUAGE_BOOST
        ranked = sorted(
            scores.items(),
            key=lambda item: (-item[1], self._language[item[0]] != language, item[0]),
        )
        return [Hit(self.replies[position], score) for position, score in ranked[:limit]]

    def keyword_matches(self, text: str) -> dict[str, list[str]]:
        """Return ``{reply id: [keywords found in text]}`` for a customer's message.

        A keyword matches where it starts a word of the message (``ship`` matches
        "shipped", not "relationship"), or word by word with English endings
        ignored ("not moving" matches "not moved"); Chinese keywords match anywhere.
        Both sides are folded, so accents and case do not matter.

        Args:
            text: the customer's message.
        """
        message = fold(text)
        if not message:
            return {}
        stemmed = " " + " ".join(stem(word) for word in MESSAGE_WORD_RE.findall(message)) + " "
        found: dict[str, bool] = {}
        matches: dict[str, list[str]] = {}
        for reply, keyword_list in zip(self.replies, self._keyword_lists, strict=True):
            for keyword in keyword_list:
                hit = found.get(keyword)
                if hit is None:
                    hit = found[keyword] = keyword_in(keyword, message, stemmed)
                if hit:
                    matches.setdefault(reply.id, []).append(keyword)
        return matches

    def position(self, reply_id: str) -> int | None:
        """Return a reply's place in the index order, or ``None``."""
        return self._position.get(reply_id)

    def _browse(self, language: str | None, limit: int) -> list[Hit]:
        mine = [reply for reply in self.replies if reply.language == language]
        others = [reply for reply in self.replies if reply.language != language]
        return [Hit(reply, 0.0) for reply in (mine + others)[:limit]]

    def _exact(
        self,
        query: str,
        fields: list[tuple[float, list[str], bool, int]],
        positions: list[int] | None,
        scores: dict[int, float],
        fields_hit: dict[int, int],
    ) -> None:
        """Score substring hits of ``query`` in each field (best field per reply).

        ``positions`` maps the fields' rows to reply positions when the fields hold
        only some replies (pinyin); ``None`` means row = position.
        """
        best = scores.get
        count = fields_hit.get
        for weight, strings, word_bonus, shortest in fields:
            if len(query) < shortest:
                continue
            # A comprehension with `in` runs the scan in C; only hits get Python work.
            rows = [row for row, text in enumerate(strings) if query in text]
            for row in rows:
                position = row if positions is None else positions[row]
                fields_hit[position] = count(position, 0) + 1
                score = weight
                if word_bonus:
                    text = strings[row]
                    found = text.find(query)
                    if found == 0:
                        score += _WORD_START_BONUS + _FIELD_START_BONUS
                    elif not text[found - 1].isalnum():
                        score += _WORD_START_BONUS
                if score > best(position, 0.0):
                    scores[position] = score

    def _all_words(self, words: list[str], scores: dict[int, float]) -> None:
        """Score replies that hold every word of the query somewhere."""
        ordered = sorted(words, key=len, reverse=True)
        first, rest = ordered[0], ordered[1:]
        # Pinyin words can only be found in Chinese replies' pinyin: fold them in only
        # for a query that could be pinyin.
        texts = self._all_text
        if self._chinese and any(word.isascii() and word.isalpha() for word in words):
            texts = self._pinyin_fields().all_text
        candidates = [index for index, text in enumerate(texts) if first in text]
        for position in candidates:
            text = texts[position]
            if all(word in text for word in rest):
                head = self._titles_and_keywords[position]
                share = sum(word in head for word in words) / len(words)
                score = _ALL_WORDS_BASE + _ALL_WORDS_SPAN * share
                if score > scores.get(position, 0.0):
                    scores[position] = score

    def _fuzzy(self, words: list[str], scores: dict[int, float]) -> None:
        """Score replies by how well their words match the query's, typos allowed.

        Each query word is compared with the vocabulary (not with every reply), and
        weighted by how rare its matches are, so "is" and "my" count for little.
        """
        total = len(self.replies)
        per_word: list[tuple[float, dict[int, float]]] = []
        # One word: the substring pass already found every prefix, only typos are new.
        with_prefixes = len(words) > 1
        for word in words:
            if not _WORD_RE.fullmatch(word):
                continue
            similar = self._similar_words(word, with_prefixes=with_prefixes)
            best: dict[int, float] = {}
            for vocabulary_word, similarity in similar:
                for position, field_weight in self._postings[vocabulary_word]:
                    value = similarity * field_weight
                    if value > best.get(position, 0.0):
                        best[position] = value
            rarity = math.log(1.0 + total / (1 + len(best)))
            per_word.append((rarity, best))
        weight_sum = sum(rarity for rarity, _ in per_word)
        if not per_word or weight_sum <= 0:
            return
        coverage: dict[int, float] = {}
        for rarity, best in per_word:
            for position, value in best.items():
                coverage[position] = coverage.get(position, 0.0) + rarity * value
        for position, covered in coverage.items():
            share = covered / weight_sum
            if share < _FUZZY_MIN_COVERAGE:
                continue
            score = _FUZZY_BASE + _FUZZY_SPAN * share
            if score > scores.get(position, 0.0):
                scores[position] = score

    def _similar_words(self, word: str, *, with_prefixes: bool) -> list[tuple[str, float]]:
        """Return vocabulary words like ``word`` with a similarity in 0..1."""
        from rapidfuzz import fuzz, process

        similar: dict[str, float] = {}
        if with_prefixes:
            # Words starting with the query ("refu" -> refund, refunded), by bisect.
            start = bisect.bisect_left(self._vocabulary, word)
            for vocabulary_word in self._vocabulary[start:]:
                if not vocabulary_word.startswith(word):
                    break
                similar[vocabulary_word] = 1.0 if vocabulary_word == word else _PREFIX_SIMILARITY
        if len(word) >= _FUZZY_MIN_LENGTH:
            cutoff = _FUZZY_CUTOFF if len(word) > _FUZZY_MIN_LENGTH else _FUZZY_CUTOFF_SHORT
            for vocabulary_word, score, _index in process.extract(
                word, self._vocabulary, scorer=fuzz.ratio, score_cutoff=cutoff, limit=None
            ):
                similarity = score / 100.0
                if similarity > similar.get(vocabulary_word, 0.0):
                    similar[vocabulary_word] = similarity
        return list(similar.items())


@dataclass(frozen=True, slots=True)
class _PinyinFields:
    """The Chinese replies' pinyin and initials, as searched fields."""

    #: (weight, strings, word-start bonus, shortest query), rows in ``ReplyIndex._chinese``.
    fields: list[tuple[float, list[str], bool, int]]
    #: Every reply's text with the pinyin of its title and keywords, for multi-word queries.
    all_text: list[str]

    @classmethod
    def build(
        cls, replies: Sequence[QuickReply], chinese: list[int], texts: list[str]
    ) -> _PinyinFields:
        columns: list[list[str]] = [[] for _ in range(6)]
        all_text = list(texts)
        for position in chinese:
            reply = replies[position]
            title = pinyin_forms(reply.title)
            keywords = pinyin_forms(" | ".join(reply.keywords))
            body = pinyin_forms(reply.body)
            for column, value in zip(
                columns,
                (title[0], keywords[0], body[0], title[1], keywords[1], body[1]),
                strict=True,
            ):
                column.append(value)
            all_text[position] += f"\n{title[0]}\n{keywords[0]}"
        weights = (
            (_PY_TITLE, 1),
            (_PY_KEYWORDS, 1),
            (_PY_BODY, 2),
            (_INI_TITLE, 1),
            (_INI_KEYWORDS, 1),
            (_INI_BODY, 2),
        )
        fields = [
            (weight, strings, False, shortest)
            for (weight, shortest), strings in zip(weights, columns, strict=True)
        ]
        return cls(fields, all_text)
