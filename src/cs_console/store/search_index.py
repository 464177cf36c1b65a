"""The local search index: SQLite FTS5 tables derived from the store's own tables.

What is indexed, per kind (one FTS5 table each, ``trigram`` tokenizer, the document's
rowid that of its source row):

* ``message``: the body.
* ``customer``: the name, email and phone (also as bare digits).
* ``conversation``: the id (agents paste or read it off a screen).
* ``order``: the number, tracking number and carrier.

Every document has two columns. ``body`` holds the text folded (lowercase, accents
and strokes removed: ``Đơn HÀNG`` -> ``don hang``), so Latin text matches without case
or accents; the trigram tokenizer finds any substring of three characters or more,
Chinese included. ``alt`` holds what a substring search cannot find by itself:

* the pinyin of each run of Chinese (``已发货`` -> ``yifahuo``) and its initials
  (``yfh``), so ``fahuo`` and ``yfh`` find it;
* every two-character piece of a Chinese run and of its initials behind a marker
  (``\\ue000发货``, ``\\ue000fh``): a trigram index cannot look up two characters
  (SQLite 3.40 answers nothing for them), but a marker plus two characters is three;
* for customers, the first two letters of each name word, and of a Chinese name's
  pinyin, behind the marker (``Le``, ``li`` for 李晓雯).

An order number ends with another marker, so its last digits (``4417``) are asked for
as ``4417\\ue001`` and rank before numbers that merely contain them.

Keeping it current, and why this way: the index needs Python (folding, pypinyin), so
SQL triggers cannot write it themselves, and triggers calling a Python function would
break every connection that has not registered it (the sqlite3 shell, a bulk load).
New rows are found by rowid: each kind keeps the highest rowid indexed (a watermark),
and rowids only grow. Changes and deletions of indexed rows are recorded by plain SQL
triggers in ``search_dirty``, which every connection runs. :func:`catch_up` indexes a
bounded number of such rows per write transaction, so the same code builds a missing
index in the background (in chunks, between the sync's writes) and keeps a built one
current before each search. Message inserts, the bulk of sync, cost no trigger at all.

The index has its own version, in ``search_state`` (not the store's ``user_version``,
which the migrations own): a store from an older release, or from an older index
format, gets the tables when it is opened (:func:`install`) and is indexed from
scratch; until then a search answers from what is indexed so far.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

from cs_console.timeutil import parse_stored

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from cs_console.store.db import Database

__all__ = [
    "INDEX_VERSION",
    "KINDS",
    "CompiledQuery",
    "ConversationFound",
    "CustomerFound",
    "Found",
    "Kind",
    "MessageFound",
    "OrderFound",
    "Progress",
    "catch_up",
    "compile_query",
    "fold",
    "install",
    "progress",
    "search",
    "syllables",
]

#: Bump when what a document holds changes: the index is then dropped and rebuilt.
INDEX_VERSION = 1

Kind = Literal["customer", "conversation", "message", "order"]
#: Indexed in this order: the small tables first, they are what a name or number finds.
KINDS: tuple[Kind, ...] = ("customer", "conversation", "order", "message")

#: Begins a two-character key (a Chinese pair, a pair of pinyin initials, a name's start).
MARK = "\ue000"
#: Ends an order number or conversation id, so its last characters can be asked for.
END = "\ue001"
_MARKERS = str.maketrans({MARK: None, END: None})

#: The source table and the column whose value is the document's rowid.
_SOURCE: dict[Kind, str] = {
    "customer": "customer",
    "conversation": "conversation",
    "order": "orders",
    "message": "message",
}
_FTS: dict[Kind, str] = {kind: f"search_{kind}" for kind in KINDS}

_TABLES = """
CREATE TABLE search_state (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE search_dirty (
    kind TEXT NOT NULL, rid INTEGER NOT NULL, PRIMARY KEY (kind, rid)
) WITHOUT ROWID;
CREATE VIRTUAL TABLE search_message USING fts5(body, alt, tokenize='trigram');
CREATE VIRTUAL TABLE search_customer USING fts5(ref UNINDEXED, body, alt, tokenize='trigram');
CREATE VIRTUAL TABLE search_conversation USING fts5(
    ref UNINDEXED, body, alt, tokenize='trigram'
);
CREATE VIRTUAL TABLE search_order USING fts5(ref UNINDEXED, body, alt, tokenize='trigram');
"""

# Only the columns a document is made of: the sync rewrites snippets, statuses and
# delivery states all day, and none of that needs the index.
_TRIGGERS: dict[str, str] = {
    "search_message_changed": """
        CREATE TRIGGER search_message_changed AFTER UPDATE OF body ON message
        WHEN old.body IS NOT new.body
        BEGIN INSERT OR IGNORE INTO search_dirty VALUES ('message', new.seq); END""",
    "search_message_gone": """
        CREATE TRIGGER search_message_gone AFTER DELETE ON message
        BEGIN INSERT OR IGNORE INTO search_dirty VALUES ('message', old.seq); END""",
    "search_customer_changed": """
        CREATE TRIGGER search_customer_changed AFTER UPDATE OF name, email, phone ON customer
        WHEN old.name IS NOT new.name OR old.email IS NOT new.email
            OR old.phone IS NOT new.phone
        BEGIN INSERT OR IGNORE INTO search_dirty VALUES ('customer', new.rowid); END""",
    "search_customer_gone": """
        CREATE TRIGGER search_customer_gone AFTER DELETE ON customer
        BEGIN INSERT OR IGNORE INTO search_dirty VALUES ('customer', old.rowid); END""",
    "search_conversation_gone": """
        CREATE TRIGGER search_conversation_gone AFTER DELETE ON conversation
        BEGIN INSERT OR IGNORE INTO search_dirty VALUES ('conversation', old.rowid); END""",
    "search_order_changed": """
        CREATE TRIGGER search_order_changed
        AFTER UPDATE OF number, tracking_number, carrier ON orders
        WHEN old.number IS NOT new.number OR old.tracking_number IS NOT new.tracking_number
            OR old.carrier IS NOT new.carrier
        BEGIN INSERT OR IGNORE INTO search_dirty VALUES ('order', new.rowid); END""",
    "search_order_gone": """
        CREATE TRIGGER search_order_gone AFTER DELETE ON orders
        BEGIN INSERT OR IGNORE INTO search_dirty VALUES ('order', old.rowid); END""",
}

_SELECT_SOURCE: dict[Kind, str] = {
    "message": "SELECT seq, body FROM message",
    "customer": "SELECT rowid, id, name, email, phone FROM customer",
    "conversation": "SELECT rowid, id FROM conversation",
    "order": "SELECT rowid, id, number, tracking_number, carrier FROM orders",
}
_ROWID: dict[Kind, str] = {
    "message": "seq",
    "customer": "rowid",
    "conversation": "rowid",
    "order": "rowid",
}

# --- folding -------------------------------------------------------------------------

#: Runs of Chinese characters (CJK unified ideographs, extension A, compatibility).
HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_COMBINING_RE = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
# Letters NFKD does not decompose but people type without their stroke.
_STROKES = str.maketrans({"đ": "d", "ł": "l", "ø": "o", "ħ": "h", "ß": "ss", "’": "'"})
_DIGITISH = re.compile(r"[0-9 +\-().#]+")
_LETTERS = re.compile(r"[a-z ]+")


def fold(text: str) -> str:
    """Text as the index holds it: lowercase, no accents or strokes, single spaces.

    ``"Đơn HÀNG"`` -> ``"don hang"``; full-width digits become ASCII; Chinese is kept.
    (The quick-reply library folds the same way, ``replies.matching.fold``; the store
    may not import it, the layers keep the two packages apart.)
    """
    text = text.translate(_MARKERS)
    if text.isascii():
        return " ".join(text.lower().split())
    folded = unicodedata.normalize("NFKD", text.casefold().translate(_STROKES))
    return " ".join(_COMBINING_RE.sub("", folded).split())


def fold_char(char: str) -> str:
    """One character folded (no whitespace collapsing): for mapping a match back onto
    the original text."""
    if char.isascii():
        return char.lower()
    folded = unicodedata.normalize("NFKD", char.casefold().translate(_STROKES))
    return _COMBINING_RE.sub("", folded).translate(_MARKERS)


@lru_cache(maxsize=65_536)
def _syllables(run: str) -> tuple[str, ...]:
    # Messages repeat the same phrases (发货, 退款, 在吗) over and over, and pypinyin is
    # pure Python: a cache of runs makes a build several times faster.
    from pypinyin import Style, lazy_pinyin

    return tuple(lazy_pinyin(run, style=Style.NORMAL, errors="ignore"))


def syllables(run: str) -> tuple[str, ...]:
    """The toneless pinyin of a run of Chinese, one syllable per character it knows."""
    return _syllables(run)


def _pairs(text: str) -> list[str]:
    return [MARK + text[i : i + 2] for i in range(len(text) - 1)]


def chinese_keys(text: str) -> list[str]:
    """The ``alt`` words for the Chinese in ``text``: per run its pinyin, its initials,
    and its two-character pieces and initials pairs behind :data:`MARK`."""
    words: list[str] = []
    for run in HAN_RE.findall(text):
        syllables = [s for s in _syllables(run) if s]
        full = "".join(syllables)
        initials = "".join(s[0] for s in syllables)
        words.append(full)
        if len(initials) > 2:
            words.append(initials)
        words.extend(_pairs(run))
        words.extend(_pairs(initials))
    return words


def _digits(text: str | None) -> str:
    return "".join(ch for ch in text or "" if ch.isdigit())


def message_doc(body: str) -> tuple[str, str]:
    """``(body, alt)`` of a message's document."""
    return fold(body), " ".join(chinese_keys(body))


def customer_doc(name: str, email: str | None, phone: str | None) -> tuple[str, str]:
    """``(body, alt)`` of a customer's document."""
    parts = [fold(name), fold(email or ""), fold(phone or ""), _digits(phone)]
    starts = [MARK + word[:2] for word in fold(name).split() if len(word) >= 2]
    # A Chinese name's pinyin starts with the surname's: "li" finds 李晓雯.
    starts += [MARK + "".join(_syllables(run))[:2] for run in HAN_RE.findall(name)]
    alt = chinese_keys(name) + starts
    return " ".join(p for p in parts if p), " ".join(alt)


def conversation_doc(conversation_id: str) -> tuple[str, str]:
    """``(body, alt)`` of a conversation's document: its id, its end marked."""
    return fold(conversation_id) + END, ""


def order_doc(number: str, tracking: str | None, carrier: str | None) -> tuple[str, str]:
    """``(body, alt)`` of an order's document: number and tracking number (their ends
    marked, so their last digits can be asked for) and carrier."""
    parts = [fold(number) + END]
    if tracking:
        parts.append(fold(tracking) + END)
    if carrier:
        parts.append(fold(carrier))
    return " ".join(parts), ""


# --- the tables ----------------------------------------------------------------------


def _exists(conn: sqlite3.Connection, name: str) -> bool:
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (name,)).fetchone()
    return found is not None


def installed_version(conn: sqlite3.Connection) -> int:
    """The index version the store holds (0: none)."""
    if not _exists(conn, "search_state"):
        return 0
    found = conn.execute("SELECT value FROM search_state WHERE name = 'version'").fetchone()
    return 0 if found is None else int(found[0])


def install(conn: sqlite3.Connection) -> bool:
    """Make sure the store has this release's index tables and triggers, inside the
    caller's write transaction (the store calls it after its migrations).

    A missing index, one of another version, or one whose triggers are gone (a
    migration that rebuilt a table drops its triggers, and changes made meanwhile
    went unrecorded) is dropped and created empty: :func:`catch_up` then indexes the
    store from the start. A current one is left alone, at the cost of two look-ups.

    Returns:
        True when the index was (re)created.
    """
    triggers = {
        str(row[0])
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'search\\_%' "
            "ESCAPE '\\'"
        )
    }
    if installed_version(conn) == INDEX_VERSION and triggers == set(_TRIGGERS):
        return False
    for name in triggers:
        conn.execute(f'DROP TRIGGER IF EXISTS "{name}"')
    for table in ("search_state", "search_dirty", *_FTS.values()):
        conn.execute(f'DROP TABLE IF EXISTS "{table}"')
    for statement in _TABLES.split(";"):
        if statement.strip():
            conn.execute(statement)
    for statement in _TRIGGERS.values():
        conn.execute(statement)
    conn.executemany(
        "INSERT INTO search_state (name, value) VALUES (?, ?)",
        [("version", INDEX_VERSION), *((f"watermark.{kind}", 0) for kind in KINDS)],
    )
    return True


@dataclass(frozen=True, slots=True)
class Progress:
    """How much of the store the index covers (rowid-based, so approximate)."""

    indexed: int
    total: int
    dirty: int

    @property
    def done(self) -> bool:
        """Whether every row is indexed and no change waits."""
        return self.indexed >= self.total and self.dirty == 0

    @property
    def fraction(self) -> float:
        """Indexed share of the store, 0..1."""
        return 1.0 if self.total <= 0 else min(1.0, self.indexed / self.total)


def _watermark(conn: sqlite3.Connection, kind: Kind) -> int:
    found = conn.execute(
        "SELECT value FROM search_state WHERE name = ?", (f"watermark.{kind}",)
    ).fetchone()
    return 0 if found is None else int(found[0])


def _set_watermark(conn: sqlite3.Connection, kind: Kind, value: int) -> None:
    conn.execute(
        "INSERT INTO search_state (name, value) VALUES (?, ?) "
        "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        (f"watermark.{kind}", value),
    )


def _sql(template: str, kind: Kind, count: int = 0) -> str:
    """``template`` with the kind's table names filled in: ``{fts}`` (its index),
    ``{source}``, ``{rowid}`` and ``{select}`` (its source rows), and ``{marks}``
    (``count`` parameter marks). The names come from the fixed tables above, never
    from what anyone typed."""
    return template.format(
        fts=_FTS[kind],
        source=_SOURCE[kind],
        rowid=_ROWID[kind],
        select=_SELECT_SOURCE[kind],
        marks=", ".join("?" * count),
    )


def _max_rowid(conn: sqlite3.Connection, kind: Kind) -> int:
    found = conn.execute(_sql("SELECT max({rowid}) FROM {source}", kind)).fetchone()
    return 0 if found is None or found[0] is None else int(found[0])


def raw_progress(conn: sqlite3.Connection) -> Progress:
    """:class:`Progress` read on a DB-API connection (any transaction)."""
    total = sum(_max_rowid(conn, kind) for kind in KINDS)
    if installed_version(conn) != INDEX_VERSION:
        return Progress(indexed=0, total=max(total, 1), dirty=0)
    indexed = sum(min(_watermark(conn, kind), _max_rowid(conn, kind)) for kind in KINDS)
    dirty = int(conn.execute("SELECT count(*) FROM search_dirty").fetchone()[0])
    return Progress(indexed=indexed, total=total, dirty=dirty)


def _dbapi(conn: Connection) -> sqlite3.Connection:
    raw = conn.connection.dbapi_connection
    if not isinstance(raw, sqlite3.Connection):
        raise TypeError("the search index needs a SQLite store")
    return raw


def progress(db: Database) -> Progress:
    """How far the index has got."""
    with db.read() as conn:
        return raw_progress(_dbapi(conn))


def _document(kind: Kind, row: Sequence[object]) -> tuple[str, str, str]:
    """``(ref, body, alt)`` from a source row as ``_SELECT_SOURCE`` reads it."""
    if kind == "message":
        body, alt = message_doc(str(row[1]))
        return "", body, alt
    ref = str(row[1])
    if kind == "customer":
        body, alt = customer_doc(str(row[2]), _opt(row[3]), _opt(row[4]))
    elif kind == "conversation":
        body, alt = conversation_doc(ref)
    else:
        body, alt = order_doc(str(row[2]), _opt(row[3]), _opt(row[4]))
    return ref, body, alt


def _opt(value: object) -> str | None:
    return None if value is None else str(value)


def _write_documents(conn: sqlite3.Connection, kind: Kind, rows: Iterable[Sequence[object]]) -> int:
    docs = [(int(str(row[0])), *_document(kind, row)) for row in rows]
    if kind == "message":
        conn.executemany(
            _sql("INSERT OR REPLACE INTO {fts} (rowid, body, alt) VALUES (?, ?, ?)", kind),
            [(rid, body, alt) for rid, _ref, body, alt in docs],
        )
    else:
        conn.executemany(
            _sql("INSERT OR REPLACE INTO {fts} (rowid, ref, body, alt) VALUES (?, ?, ?, ?)", kind),
            docs,
        )
    return len(docs)


def _catch_up_dirty(conn: sqlite3.Connection, budget: int) -> int:
    changed = conn.execute("SELECT kind, rid FROM search_dirty LIMIT ?", (budget,)).fetchall()
    by_kind: dict[Kind, list[int]] = {}
    for kind, rid in changed:
        if kind in _FTS:
            by_kind.setdefault(kind, []).append(int(rid))
    for kind, rids in by_kind.items():
        rows = conn.execute(
            _sql("{select} WHERE {rowid} IN ({marks})", kind, len(rids)), rids
        ).fetchall()
        present = {int(row[0]) for row in rows}
        watermark = _watermark(conn, kind)
        # Only rows the index already has: a newer one is the watermark's to index.
        _write_documents(conn, kind, [row for row in rows if int(row[0]) <= watermark])
        gone = [rid for rid in rids if rid not in present]
        conn.executemany(_sql("DELETE FROM {fts} WHERE rowid = ?", kind), [(r,) for r in gone])
        if gone:
            # SQLite gives the next row max(rowid) + 1: a deleted last row's rowid comes
            # back, and must not be taken for one already indexed.
            newest = _max_rowid(conn, kind)
            if watermark > newest:
                _set_watermark(conn, kind, newest)
    conn.executemany(
        "DELETE FROM search_dirty WHERE kind = ? AND rid = ?", [(k, r) for k, r in changed]
    )
    return len(changed)


def _catch_up_new(conn: sqlite3.Connection, kind: Kind, budget: int) -> int:
    watermark = _watermark(conn, kind)
    newest = _max_rowid(conn, kind)
    if watermark > newest:
        # Rowids went down with no deletion recorded: the table was rebuilt (VACUUM
        # renumbers a table without an integer key). Start this kind again.
        conn.execute(_sql("DELETE FROM {fts}", kind))
        watermark = 0
    rows = conn.execute(
        _sql("{select} WHERE {rowid} > ? ORDER BY {rowid} LIMIT ?", kind),
        (watermark, budget),
    ).fetchall()
    if rows:
        _write_documents(conn, kind, rows)
        watermark = int(rows[-1][0])
    _set_watermark(conn, kind, watermark)
    return len(rows)


def catch_up(db: Database, budget: int = 2_000) -> Progress:
    """Index up to ``budget`` rows that changed or arrived since the last call, in one
    write transaction (the tables are installed first if missing). Call again until
    the answer is :attr:`Progress.done`.

    Raises:
        StoreError: the store refused the write (read-only, busy, disk full).
    """
    with db.write() as conn:
        raw = _dbapi(conn)
        install(raw)
        left = budget - _catch_up_dirty(raw, budget)
        for kind in KINDS:
            if left <= 0:
                break
            left -= _catch_up_new(raw, kind, left)
        return raw_progress(raw)


def needs_work(db: Database) -> bool:
    """Whether :func:`catch_up` has anything to do (a cheap read)."""
    with db.read() as conn:
        raw = _dbapi(conn)
        if installed_version(raw) != INDEX_VERSION:
            return True
        if raw.execute("SELECT 1 FROM search_dirty LIMIT 1").fetchone() is not None:
            return True
        return any(_watermark(raw, kind) < _max_rowid(raw, kind) for kind in KINDS)


# --- queries -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CompiledQuery:
    """What was typed, as FTS5 expressions.

    Attributes:
        match: The expression for every kind.
        tail: For a number: its last digits (``"4417\\ue001"``), asked first.
        terms: The folded pieces to mark in a snippet.
    """

    match: str
    tail: str | None
    terms: tuple[str, ...]


def _phrase(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def compile_query(text: str) -> CompiledQuery | None:
    """The FTS5 expressions for what the agent typed; None when it is too short to look
    up (under two characters, or a single Latin letter between words).

    Pieces separated by spaces must all occur (in any order). A piece of three
    characters or more is a substring; a two-character Chinese piece or a lone
    two-letter one uses the :data:`MARK` keys; a shorter piece joins its neighbour
    (``le thi`` is looked up as one substring). Letters only: also as pinyin without
    the spaces (``fa huo`` finds 发货). Digits with separators (a phone, an order
    number) are looked up as bare digits.
    """
    folded = fold(text)
    if len(folded.replace(" ", "")) < 2:
        return None
    if _DIGITISH.fullmatch(folded):
        digits = _digits(folded)
        if len(digits) < 3:
            return None
        return CompiledQuery(match=_phrase(digits), tail=_phrase(digits + END), terms=(digits,))
    pieces = _join_short(folded.split())
    phrases: list[str] = []
    terms: list[str] = []
    for piece in pieces:
        if len(piece) >= 3:
            phrases.append(_phrase(piece))
        elif len(piece) == 2 and (HAN_RE.search(piece) or len(pieces) == 1):
            phrases.append(_phrase(MARK + piece))
        else:
            continue
        terms.append(piece)
    if not phrases:
        return None
    match = " AND ".join(phrases)
    compact = folded.replace(" ", "")
    if _LETTERS.fullmatch(folded) and " " in folded and len(compact) >= 3:
        match = f"({match}) OR alt : {_phrase(compact)}"
        terms.append(compact)
    return CompiledQuery(match=match, tail=None, terms=tuple(terms))


def _join_short(words: list[str]) -> list[str]:
    """Glue pieces too short for the index onto a neighbour (Chinese pairs stay)."""
    pieces: list[str] = []
    pending = ""
    for word in words:
        short = len(word) < 3 and not (len(word) == 2 and HAN_RE.fullmatch(word))
        if pending:
            word = f"{pending} {word}"
            pending = ""
        if short and len(word) < 3:
            pending = word
            continue
        pieces.append(word)
    if pending:
        if pieces and len(words) > 1:
            pieces[-1] = f"{pieces[-1]} {pending}"
        else:
            pieces.append(pending)
    return pieces


@dataclass(frozen=True, slots=True)
class CustomerFound:
    """A customer whose name, email or phone matched."""

    customer_id: str
    name: str
    email: str | None
    phone: str | None


@dataclass(frozen=True, slots=True)
class ConversationFound:
    """A conversation, matched by its id or through its customer."""

    conversation_id: str
    customer_id: str
    customer_name: str
    status: str
    last_activity_at: datetime
    snippet: str


@dataclass(frozen=True, slots=True)
class MessageFound:
    """A message whose body matched."""

    message_id: str
    conversation_id: str
    customer_name: str
    kind: str
    author: str
    body: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class OrderFound:
    """An order whose number, tracking number or carrier matched."""

    order_id: str
    number: str
    customer_id: str
    customer_name: str | None
    status: str
    tracking_number: str | None
    placed_at: datetime


@dataclass(frozen=True, slots=True)
class Found:
    """What one query found, newest first within each kind."""

    customers: tuple[CustomerFound, ...] = ()
    conversations: tuple[ConversationFound, ...] = ()
    messages: tuple[MessageFound, ...] = ()
    orders: tuple[OrderFound, ...] = ()


def _rowids(conn: sqlite3.Connection, kind: Kind, match: str, limit: int) -> list[int]:
    # Newest first, which FTS5 serves from the index without scoring every match: a
    # common word among a million messages costs what a rare one does.
    rows = conn.execute(
        _sql("SELECT rowid FROM {fts} WHERE {fts} MATCH ? ORDER BY rowid DESC LIMIT ?", kind),
        (match, limit),
    ).fetchall()
    return [int(row[0]) for row in rows]


def _tail_first(
    conn: sqlite3.Connection, kind: Kind, query: CompiledQuery, limit: int
) -> list[int]:
    found = _rowids(conn, kind, query.tail, limit) if query.tail else []
    for rid in _rowids(conn, kind, query.match, limit):
        if rid not in found:
            found.append(rid)
    return found[:limit]


def _by_rowid(conn: sqlite3.Connection, sql: str, rids: list[int]) -> dict[int, tuple[object, ...]]:
    if not rids:
        return {}
    marks = ", ".join("?" * len(rids))
    return {int(str(row[0])): tuple(row[1:]) for row in conn.execute(sql.format(marks), rids)}


def _verified(
    conn: sqlite3.Connection, kind: Kind, rids: list[int], rows: dict[int, tuple[object, ...]]
) -> list[int]:
    """The rowids whose document still belongs to the same row (a renumbered table
    would point a stale document at another row until the next catch-up)."""
    if kind == "message" or not rids:
        return [rid for rid in rids if rid in rows]
    refs = {
        int(row[0]): str(row[1])
        for row in conn.execute(
            _sql("SELECT rowid, ref FROM {fts} WHERE rowid IN ({marks})", kind, len(rids)), rids
        )
    }
    return [rid for rid in rids if rid in rows and refs.get(rid) == str(rows[rid][0])]


def _customers(conn: sqlite3.Connection, query: CompiledQuery, limit: int) -> list[CustomerFound]:
    rids = _tail_first(conn, "customer", query, limit * 4)
    rows = _by_rowid(
        conn, "SELECT rowid, id, name, email, phone FROM customer WHERE rowid IN ({})", rids
    )
    found = [
        CustomerFound(str(r[0]), str(r[1]), _opt(r[2]), _opt(r[3]))
        for r in (rows[rid] for rid in _verified(conn, "customer", rids, rows))
    ]
    # A name that begins with what was typed first, then the newest records.
    first = query.terms[0] if query.terms else ""
    found.sort(key=lambda c: not fold(c.name).startswith(first))
    return found[:limit]


_CONVERSATION_SQL = (
    "SELECT c.rowid, c.id, c.customer_id, coalesce(u.name, ''), c.status, "
    "c.last_activity_at, c.snippet FROM conversation c "
    "LEFT JOIN customer u ON u.id = c.customer_id "
)


def _conversation(row: tuple[object, ...]) -> ConversationFound:
    return ConversationFound(
        conversation_id=str(row[0]),
        customer_id=str(row[1]),
        customer_name=str(row[2]),
        status=str(row[3]),
        last_activity_at=parse_stored(str(row[4])),
        snippet=str(row[5]),
    )


def _conversations(
    conn: sqlite3.Connection,
    query: CompiledQuery,
    customers: list[CustomerFound],
    limit: int,
) -> list[ConversationFound]:
    rids = _tail_first(conn, "conversation", query, limit)
    rows = _by_rowid(conn, _CONVERSATION_SQL + "WHERE c.rowid IN ({})", rids)
    found = [_conversation(rows[rid]) for rid in _verified(conn, "conversation", rids, rows)]
    if customers and len(found) < limit:
        # A name, email or phone finds the person's conversations too, most recent first.
        ids = [c.customer_id for c in customers]
        marks = ", ".join("?" * len(ids))
        more = conn.execute(
            _CONVERSATION_SQL + f"WHERE c.customer_id IN ({marks}) "
            "ORDER BY c.last_activity_at DESC LIMIT ?",
            (*ids, limit),
        ).fetchall()
        seen = {c.conversation_id for c in found}
        for row in more:
            conversation = _conversation(tuple(row[1:]))
            if conversation.conversation_id not in seen:
                found.append(conversation)
    return found[:limit]


def _messages(conn: sqlite3.Connection, query: CompiledQuery, limit: int) -> list[MessageFound]:
    rids = _rowids(conn, "message", query.match, limit)
    rows = _by_rowid(
        conn,
        "SELECT m.seq, m.id, m.conversation_id, coalesce(u.name, ''), m.kind, m.author, "
        "m.body, m.created_at FROM message m "
        "LEFT JOIN conversation c ON c.id = m.conversation_id "
        "LEFT JOIN customer u ON u.id = c.customer_id WHERE m.seq IN ({})",
        rids,
    )
    return [
        MessageFound(
            message_id=str(r[0]),
            conversation_id=str(r[1]),
            customer_name=str(r[2]),
            kind=str(r[3]),
            author=str(r[4]),
            body=str(r[5]),
            created_at=parse_stored(str(r[6])),
        )
        for r in (rows[rid] for rid in _verified(conn, "message", rids, rows))
    ]


def _orders(conn: sqlite3.Connection, query: CompiledQuery, limit: int) -> list[OrderFound]:
    rids = _tail_first(conn, "order", query, limit)
    rows = _by_rowid(
        conn,
        "SELECT o.rowid, o.id, o.number, o.customer_id, u.name, o.status, o.tracking_number, "
        "o.placed_at FROM orders o LEFT JOIN customer u ON u.id = o.customer_id "
        "WHERE o.rowid IN ({})",
        rids,
    )
    return [
        OrderFound(
            order_id=str(r[0]),
            number=str(r[1]),
            customer_id=str(r[2]),
            customer_name=_opt(r[3]),
            status=str(r[4]),
            tracking_number=_opt(r[5]),
            placed_at=parse_stored(str(r[6])),
        )
        for r in (rows[rid] for rid in _verified(conn, "order", rids, rows))
    ]


def search(db: Database, query: CompiledQuery, limits: dict[Kind, int]) -> Found:
    """What the index holds for ``query``, at most ``limits[kind]`` of each kind (a kind
    left out of ``limits`` is not searched). An index not installed yet finds nothing."""
    with db.read() as conn:
        raw = _dbapi(conn)
        if installed_version(raw) != INDEX_VERSION:
            return Found()
        customers = _customers(raw, query, limits.get("customer", 0))
        return Found(
            customers=tuple(customers),
            conversations=tuple(
                _conversations(raw, query, customers, limits.get("conversation", 0))
            ),
            messages=tuple(_messages(raw, query, limits.get("message", 0))),
            orders=tuple(_orders(raw, query, limits.get("order", 0))),
        )
