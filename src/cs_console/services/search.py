"""Searching the local store: customers, conversations, messages and orders at once.

The index lives in the store (:mod:`cs_console.store.search_index`); this module keeps
it current around a search, and turns what it found into hits ready to show: every
piece of customer or backend text sanitised and on one line, the typed words marked.

A search first indexes the few rows that arrived or changed since the last one (a
sync page's worth), so a message pulled a moment ago is found. A large backlog (a
store from a release without the index, or its first fill) is left to
:func:`build_index`, which the caller runs in the background in small chunks; until
it is done a search answers from what is indexed and says how far it has got.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from cs_console.sanitize import sanitize
from cs_console.services.context import AgentContext, StoreError
from cs_console.store import orders as store_orders
from cs_console.store import search_index as index
from cs_console.store.search_index import Kind, Progress

__all__ = [
    "DEFAULT_LIMITS",
    "HitKind",
    "Progress",
    "SearchHit",
    "SearchResults",
    "Snippet",
    "build_index",
    "conversation_for",
    "index_progress",
    "search",
]

#: Hits per group in the console; the command line takes one number for every group.
DEFAULT_LIMITS: dict[Kind, int] = {"customer": 5, "conversation": 5, "message": 30, "order": 5}
#: Rows a search indexes before answering; a bigger backlog is :func:`build_index`'s.
SEARCH_CATCH_UP = 500
#: Rows per write transaction of a background build: short enough (tens of
#: milliseconds) that the sync and the agent's own writes are not held up.
BUILD_CHUNK = 1_000
#: Characters of a message shown around the first match.
SNIPPET_WIDTH = 90
_LEAD = 24
_SPACES = re.compile(r"\s+")
_PINYIN_TERM = re.compile(r"[a-z]+")


class HitKind(StrEnum):
    """The group a hit is shown in."""

    CUSTOMER = "customer"
    CONVERSATION = "conversation"
    MESSAGE = "message"
    ORDER = "order"


@dataclass(frozen=True, slots=True)
class Snippet:
    """One line of sanitised text and the spans in it that matched what was typed.

    Attributes:
        text: Safe to show (controls made visible, on one line); still plain text, for
            ``Content``/``Text`` only, never markup.
        marks: ``(start, end)`` offsets into ``text``, in order, not overlapping.
    """

    text: str
    marks: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One thing found.

    Attributes:
        kind: Its group.
        ref: The customer, conversation, message or order id.
        label: The main line, what was typed marked in it.
        context: A second, sanitised line: whose it is (customer name, conversation).
        status: The conversation's or order's status, or the message's kind, as the
            domain spells it (the interface translates it).
        at: When: last activity, message time, order placed.
        conversation_id: The conversation a conversation or message hit belongs to.
        customer_id: The customer a customer, conversation or order hit belongs to.
    """

    kind: HitKind
    ref: str
    label: Snippet
    context: str = ""
    status: str | None = None
    at: datetime | None = None
    conversation_id: str | None = None
    customer_id: str | None = None


@dataclass(frozen=True, slots=True)
class SearchResults:
    """What one query found, by group, and the state of the index behind it.

    Attributes:
        query: What was typed.
        too_short: Nothing was looked up: too short for the index (one character).
        progress: How much of the store the index covered when it answered.
    """

    query: str
    customers: tuple[SearchHit, ...] = ()
    conversations: tuple[SearchHit, ...] = ()
    messages: tuple[SearchHit, ...] = ()
    orders: tuple[SearchHit, ...] = ()
    too_short: bool = False
    progress: Progress | None = None

    @property
    def groups(self) -> tuple[tuple[HitKind, tuple[SearchHit, ...]], ...]:
        """The groups in the order they are shown."""
        return (
            (HitKind.CUSTOMER, self.customers),
            (HitKind.CONVERSATION, self.conversations),
            (HitKind.MESSAGE, self.messages),
            (HitKind.ORDER, self.orders),
        )

    @property
    def hits(self) -> list[SearchHit]:
        """Every hit, group after group."""
        return [hit for _kind, hits in self.groups for hit in hits]

    @property
    def indexing(self) -> bool:
        """Whether the index was still being built (the answer may miss older rows)."""
        return self.progress is not None and not self.progress.done


# --- keeping the index current --------------------------------------------------------


def index_progress(ctx: AgentContext) -> Progress:
    """How far the index has got."""
    return index.progress(ctx.db)


def build_index(
    ctx: AgentContext,
    *,
    chunk: int = BUILD_CHUNK,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Progress:
    """Index everything not indexed yet, ``chunk`` rows per write transaction.

    Args:
        ctx: A writable store.
        chunk: Rows per transaction (a 1M-message store takes about a minute).
        on_progress: Told after each chunk.
        should_stop: Asked before each chunk; True ends the build early (the next
            build goes on from there).

    Returns:
        How far the index got.

    Raises:
        StoreError: the store refused the write (read-only, busy, disk full).
    """
    done = index.progress(ctx.db)
    while not done.done:
        if should_stop is not None and should_stop():
            break
        done = index.catch_up(ctx.db, chunk)
        if on_progress is not None:
            on_progress(done)
    return done


def _keep_current(ctx: AgentContext) -> Progress:
    """Index a small backlog now (what the last sync brought); report a large one."""
    state = index.progress(ctx.db)
    if state.done or not ctx.db.writer:
        return state
    backlog = state.total - state.indexed + state.dirty
    if backlog > SEARCH_CATCH_UP:
        return state
    try:
        return index.catch_up(ctx.db, SEARCH_CATCH_UP)
    except StoreError:
        # Busy or read-only: answer from what is indexed; the next search catches up.
        return state


# --- searching -------------------------------------------------------------------------


def search(ctx: AgentContext, text: str, *, limits: dict[Kind, int] | None = None) -> SearchResults:
    """Look ``text`` up in customers, conversations, messages and orders.

    Chinese matches from two characters (``发货``), and by pinyin (``fahuo``) or its
    initials (``fh``); Latin text without regard to case or accents; an order number
    by its last digits (``4417``) before numbers that merely contain them; a phone
    without its spaces or dashes. Newest first within each group.

    Args:
        ctx: The store (a writable one also indexes what the last sync brought).
        text: What the agent typed.
        limits: Hits per group (default :data:`DEFAULT_LIMITS`).
    """
    state = _keep_current(ctx)
    query = index.compile_query(text)
    if query is None:
        return SearchResults(query=text, too_short=True, progress=state)
    found = index.search(ctx.db, query, dict(limits or DEFAULT_LIMITS))
    terms = query.terms
    return SearchResults(
        query=text,
        customers=tuple(_customer_hit(c, terms) for c in found.customers),
        conversations=tuple(_conversation_hit(c, terms) for c in found.conversations),
        messages=tuple(_message_hit(m, terms) for m in found.messages),
        orders=tuple(_order_hit(o, terms) for o in found.orders),
        progress=state,
    )


def conversation_for(ctx: AgentContext, hit: SearchHit) -> str | None:
    """Where choosing ``hit`` leads: its conversation, or for a customer or an order the
    customer's most recent conversation (under any record of the same person)."""
    if hit.conversation_id is not None:
        return hit.conversation_id
    if hit.customer_id is None:
        return None
    return store_orders.latest_conversation_of(ctx.db, hit.customer_id)


def _customer_hit(found: index.CustomerFound, terms: tuple[str, ...]) -> SearchHit:
    parts = [found.name, found.email or "", found.phone or ""]
    return SearchHit(
        kind=HitKind.CUSTOMER,
        ref=found.customer_id,
        label=snippet(" · ".join(p for p in parts if p), terms),
        context=_line(found.customer_id),
        customer_id=found.customer_id,
    )


def _conversation_hit(found: index.ConversationFound, terms: tuple[str, ...]) -> SearchHit:
    return SearchHit(
        kind=HitKind.CONVERSATION,
        ref=found.conversation_id,
        label=snippet(f"{found.conversation_id} · {found.customer_name}", terms),
        context=_line(found.snippet)[:SNIPPET_WIDTH],
        status=found.status,
        at=found.last_activity_at,
        conversation_id=found.conversation_id,
        customer_id=found.customer_id,
    )


def _message_hit(found: index.MessageFound, terms: tuple[str, ...]) -> SearchHit:
    who = found.customer_name or found.author
    return SearchHit(
        kind=HitKind.MESSAGE,
        ref=found.message_id,
        label=snippet(found.body, terms),
        context=_line(f"{who} · {found.conversation_id}"),
        status=found.kind,
        at=found.created_at,
        conversation_id=found.conversation_id,
    )


def _order_hit(found: index.OrderFound, terms: tuple[str, ...]) -> SearchHit:
    parts = [found.number, found.tracking_number or ""]
    return SearchHit(
        kind=HitKind.ORDER,
        ref=found.order_id,
        label=snippet(" · ".join(p for p in parts if p), terms),
        context=_line(found.customer_name or found.customer_id),
        status=found.status,
        at=found.placed_at,
        customer_id=found.customer_id,
    )


# --- snippets --------------------------------------------------------------------------


def _line(text: str) -> str:
    """Untrusted text made safe and put on one line, its length kept where possible
    (each run of whitespace becomes one space, at the edges too)."""
    return _SPACES.sub(" ", sanitize(text))


def _spans(text: str, terms: Iterable[str]) -> list[tuple[int, int]]:
    """Where the folded ``terms`` occur in ``text``, as offsets into ``text``."""
    folded: list[str] = []
    origin: list[int] = []
    for position, char in enumerate(text):
        piece = index.fold_char(char)
        if char.isspace():
            piece = " "
        folded.extend(piece)
        origin.extend([position] * len(piece))
    haystack = "".join(folded)
    spans: list[tuple[int, int]] = []
    for term in terms:
        if not term:
            continue
        start = haystack.find(term)
        while start != -1:
            end = start + len(term)
            spans.append((origin[start], origin[end - 1] + 1))
            start = haystack.find(term, end)
    spans.extend(_pinyin_spans(text, terms))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _pinyin_spans(text: str, terms: Iterable[str]) -> list[tuple[int, int]]:
    """Where letters typed as pinyin (``tuikuan``, ``tk``) stand for Chinese in
    ``text``, as offsets of the Chinese characters."""
    wanted = [term for term in terms if len(term) >= 2 and _PINYIN_TERM.fullmatch(term)]
    if not wanted:
        return []
    spans: list[tuple[int, int]] = []
    for run in index.HAN_RE.finditer(text):
        syllables = index.syllables(run.group())
        if len(syllables) != len(run.group()):
            continue  # a character without a reading: the offsets would not line up
        for forms in (syllables, tuple(s[:1] for s in syllables)):
            joined = "".join(forms)
            owner = [i for i, form in enumerate(forms) for _ in form]
            for term in wanted:
                start = joined.find(term)
                while start != -1:
                    end = start + len(term)
                    spans.append((run.start() + owner[start], run.start() + owner[end - 1] + 1))
                    start = joined.find(term, end)
    return spans


def snippet(text: str, terms: Iterable[str], width: int = SNIPPET_WIDTH) -> Snippet:
    """A window of ``text`` around the first place a term occurs, sanitised, on one line,
    with every occurrence marked. A hit found by pinyin marks nothing and shows the
    text's start.

    Args:
        text: Untrusted text (a message body, a name).
        terms: Folded pieces of the query (:attr:`CompiledQuery.terms`).
        width: Characters of ``text`` to show at most.
    """
    spans = _spans(text, terms)
    begin = 0
    if spans and spans[0][0] > _LEAD and len(text) > width:
        begin = min(spans[0][0] - _LEAD, max(len(text) - width, 0))
    end = min(len(text), begin + width)
    pieces: list[tuple[str, bool]] = []
    if begin > 0:
        pieces.append(("…", False))
    at = begin
    for start, stop in spans:
        start, stop = max(start, begin), min(stop, end)
        if start >= stop:
            continue
        pieces.append((text[at:start], False))
        pieces.append((text[start:stop], True))
        at = stop
    pieces.append((text[at:end], False))
    if end < len(text):
        pieces.append(("…", False))
    out: list[str] = []
    marks: list[tuple[int, int]] = []
    length = 0
    for piece, marked in pieces:
        # Sanitised piece by piece, so the marks stay on the characters they marked.
        safe = _line(piece)
        if not out and not marked:
            safe = safe.lstrip()
        if marked and safe:
            marks.append((length, length + len(safe)))
        out.append(safe)
        length += len(safe)
    joined = "".join(out)
    stripped = joined.rstrip()
    if len(stripped) < len(joined):
        marks = [(s, min(e, len(stripped))) for s, e in marks if s < len(stripped)]
    return Snippet(text=stripped, marks=tuple(marks))
