"""What should call the agent back to the console: the alerts since the last look.

:class:`AlertWatch` is asked after each sync (:meth:`AlertWatch.after_sync`: new
conversations, customers writing in my conversations, my cases decided) and on each
clock tick (:meth:`AlertWatch.tick`: waiting clocks turning red). It answers with typed
:class:`Alert` values; ringing the bell and writing a desktop notification is the UI's
business (``ui/alerts.py``). The first call of each is a baseline: what the store holds
when the console starts is not news.

A store can hold 100,000 conversations and millions of messages, so nothing here scans
a table. What arrived since the last look is found from high-water marks: SQLite's
rowid for conversations and case events (an upsert keeps a row's rowid, so only an
insert passes the mark) and the local arrival number ``seq`` for messages; a clock
turning red is a range of the queue's own index, ``(status, queue_rank)``.

Untrusted text: a customer's name (the only customer text an alert carries, never a
message body) goes through :func:`notification_text`, which drops every control
character, so it can sit inside a terminal escape sequence.

Headless: no Textual.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, Connection, Integer, Table, func, literal_column, select

from cs_console.domain import ConversationStatus, MessageKind
from cs_console.services.context import AgentContext
from cs_console.store import queue
from cs_console.store.convert import queue_rank
from cs_console.store.models import CASE, CASE_EVENT, CONVERSATION, CUSTOMER, MESSAGE
from cs_console.views import QueueFilter

#: The most characters of a name an alert carries.
NAME_CHARS = 60
#: The most alerts of one kind one look returns: past that they are only "many".
MAX_PER_LOOK = 100

#: Case history actions that mean a supervisor decided (server/cases.py: decide).
DECISIONS = ("approved", "declined")

_C = CONVERSATION.c
_M = MESSAGE.c
_E = CASE_EVENT.c
_K = CASE.c
_CU = CUSTOMER.c


def _rowid(table: Table) -> ColumnElement[int]:
    # SQLite's own row number: an upsert keeps it, only an insert takes a new, higher one.
    return literal_column(f"{table.name}.rowid", Integer)


class AlertKind(StrEnum):
    """What happened; also the ``[alerts]`` setting that says where it goes."""

    NEW_CONVERSATION = "new_conversation"
    REPLY_IN_MINE = "reply_in_mine"
    CLOCK_RED = "clock_red"
    APPROVAL_DECIDED = "approval_decided"


@dataclass(frozen=True, slots=True)
class Alert:
    """One thing worth a bell.

    ``name`` is the customer's name, already through :func:`notification_text` (safe
    inside an escape sequence, one line, at most :data:`NAME_CHARS`). For a decided
    case, ``approved`` says which way and ``decided_by`` (sanitised too) who decided.
    """

    kind: AlertKind
    conversation_id: str | None
    name: str
    case_id: str | None = None
    approved: bool | None = None
    decided_by: str = ""


@dataclass(frozen=True, slots=True)
class Unanswered:
    """Open conversations whose customer waits for an answer: mine, and everyone's."""

    mine: int
    everyone: int


def notification_text(text: str, limit: int = NAME_CHARS) -> str:
    """``text`` fit to travel inside a terminal escape sequence (OSC 9, OSC 777).

    Every control character goes (C0 with ESC and BEL, DEL, C1 with ST and the 8-bit
    OSC), and so do format characters (bidi overrides, zero-width ones), surrogates,
    private-use and unassigned code points; line breaks and tabs become spaces, runs of
    spaces one. The result is cut to ``limit`` characters, with "…" when cut.
    """
    kept: list[str] = []
    for char in text:
        category = unicodedata.category(char)
        if char in "\t\n\r\v\f" or category in ("Zl", "Zp", "Zs"):
            kept.append(" ")
        elif category[0] != "C":  # Cc, Cf, Cs, Co, Cn
            kept.append(char)
    line = " ".join("".join(kept).split())
    if len(line) > limit:
        line = line[: max(limit - 1, 0)].rstrip() + "…"
    return line


def unanswered(ctx: AgentContext, me: str | None = None) -> Unanswered:
    """Open conversations waiting on us, mine (assigned to ``me``, by default the
    agent) and all. Counted from the queue's indexes and cached until the next write
    to the conversation table."""
    who = me or ctx.agent_name
    everyone = queue.waiting_count(ctx.db, QueueFilter(status=ConversationStatus.OPEN))
    mine = queue.waiting_count(
        ctx.db, QueueFilter(status=ConversationStatus.OPEN, scope="mine", me=who)
    )
    return Unanswered(mine=mine, everyone=everyone)


@dataclass(slots=True)
class _Marks:
    """How far the last look went."""

    conversation_rowid: int = 0
    customer_seq: int = 0
    case_event_rowid: int = 0


@dataclass(slots=True)
class AlertWatch:
    """The alerts since the last look, for one agent on one store.

    Args:
        ctx: The open store and settings (``shift.alert_after_s``).
        me: The agent's name; None reads ``ctx.agent_name`` at each look (it is learnt
            at the first sync).
    """

    ctx: AgentContext
    me: str | None = None
    _marks: _Marks | None = field(default=None, init=False)
    _clock_checked: datetime | None = field(default=None, init=False)

    def _me(self) -> str:
        return self.me or self.ctx.agent_name

    def after_sync(self, *, focused: str | None = None) -> list[Alert]:
        """What the store gained since the last call: new open conversations that are
        not another agent's, customer messages in conversations assigned to me (one
        alert per conversation, none for a conversation that is itself new), decisions
        on cases I logged. The first call only takes the marks.

        Args:
            focused: The conversation the agent is looking at (open on screen, console
                focused): its new messages are seen, so they are not told.
        """
        with self.ctx.db.read() as conn:
            now_marks = _current_marks(conn)
            if self._marks is None:
                self._marks = now_marks
                return []
            marks = self._marks
            me = self._me()
            fresh = _new_conversations(conn, marks.conversation_rowid, me)
            replies = _replies_in_mine(conn, marks.customer_seq, me)
            decided = _decided_cases(conn, marks.case_event_rowid, me)
        # A mark only moves forward: a row at the old mark that went away (a local
        # message taken back) must not let the next insert hide beneath it.
        self._marks = _Marks(
            conversation_rowid=max(marks.conversation_rowid, now_marks.conversation_rowid),
            customer_seq=max(marks.customer_seq, now_marks.customer_seq),
            case_event_rowid=max(marks.case_event_rowid, now_marks.case_event_rowid),
        )
        new_ids = {a.conversation_id for a in fresh}
        alerts = [a for a in fresh if a.conversation_id != focused]
        alerts += [
            a for a in replies if a.conversation_id != focused and a.conversation_id not in new_ids
        ]
        # A decision is not on screen even when its conversation is: it is always told.
        return alerts + decided

    def tick(self, now: datetime, *, focused: str | None = None) -> list[Alert]:
        """Waiting clocks that turned red since the last call, in open conversations
        that are mine or nobody's. The first call only notes the time.

        Args:
            now: The console's clock.
            focused: The conversation the agent is looking at: its clock is seen.
        """
        threshold = now - timedelta(seconds=self.ctx.settings.shift.alert_after_s)
        since, self._clock_checked = self._clock_checked, threshold
        if since is None or threshold <= since:
            return []
        me = self._me()
        low, high = queue_rank(since, now), queue_rank(threshold, now)
        stmt = (
            select(_C.id, _CU.name)
            .select_from(CONVERSATION.join(CUSTOMER, _CU.id == _C.customer_id))
            .where(
                _C.status == ConversationStatus.OPEN.value,
                _C.queue_rank > low,
                _C.queue_rank <= high,
                _C.assignee.is_(None) | (_C.assignee == me),
            )
            .order_by(_C.queue_rank)
            .limit(MAX_PER_LOOK)
        )
        with self.ctx.db.read() as conn:
            rows = conn.execute(stmt).all()
        return [
            Alert(AlertKind.CLOCK_RED, str(r[0]), notification_text(str(r[1])))
            for r in rows
            if r[0] != focused
        ]


def _current_marks(conn: Connection) -> _Marks:
    # max(rowid) is one step down the table's b-tree; the newest customer message is a
    # short walk back from the newest row (it is not max(seq): a local reply taken back
    # is deleted, and its seq may be handed out again).
    conv = conn.execute(select(func.max(_rowid(CONVERSATION))).select_from(CONVERSATION)).scalar()
    seq = conn.execute(
        select(_M.seq).where(_M.kind == MessageKind.CUSTOMER.value).order_by(_M.seq.desc()).limit(1)
    ).scalar()
    event = conn.execute(select(func.max(_rowid(CASE_EVENT))).select_from(CASE_EVENT)).scalar()
    return _Marks(
        conversation_rowid=int(conv or 0),
        customer_seq=int(seq or 0),
        case_event_rowid=int(event or 0),
    )


def _new_conversations(conn: Connection, after: int, me: str) -> list[Alert]:
    # Only the rowid range, then filtered here: with a status in the query SQLite may
    # walk every open conversation of the status index instead.
    stmt = (
        select(_C.id, _C.status, _C.assignee, _C.customer_id)
        .where(_rowid(CONVERSATION) > after)
        .order_by(_rowid(CONVERSATION))
        .limit(MAX_PER_LOOK * 10)
    )
    fresh = [
        (str(r[0]), str(r[3]))
        for r in conn.execute(stmt)
        if r[1] == ConversationStatus.OPEN.value and r[2] in (None, me)
    ][:MAX_PER_LOOK]
    names = _customer_names(conn, {customer for _, customer in fresh})
    return [
        Alert(AlertKind.NEW_CONVERSATION, conversation, names.get(customer, ""))
        for conversation, customer in fresh
    ]


def _replies_in_mine(conn: Connection, after: int, me: str) -> list[Alert]:
    # The rowid range of the messages first (seq is the rowid), then their conversations
    # by key: two steps, so no plan can start from a conversation index instead.
    stmt = (
        select(_M.conversation_id)
        .where(_M.seq > after, _M.kind == MessageKind.CUSTOMER.value)
        .order_by(_M.seq)
        .limit(MAX_PER_LOOK * 10)
    )
    written = list(dict.fromkeys(str(r[0]) for r in conn.execute(stmt)))
    if not written:
        return []
    mine = {
        str(r[0]): str(r[1])
        for r in conn.execute(
            select(_C.id, _C.customer_id).where(_C.id.in_(written), _C.assignee == me)
        )
    }
    names = _customer_names(conn, set(mine.values()))
    return [
        Alert(AlertKind.REPLY_IN_MINE, conversation, names.get(mine[conversation], ""))
        for conversation in written
        if conversation in mine
    ][:MAX_PER_LOOK]


def _customer_names(conn: Connection, ids: set[str]) -> dict[str, str]:
    """Customer id -> name, cleaned for a notification."""
    if not ids:
        return {}
    rows = conn.execute(select(_CU.id, _CU.name).where(_CU.id.in_(sorted(ids))))
    return {str(r[0]): notification_text(str(r[1])) for r in rows}


def _decided_cases(conn: Connection, after: int, me: str) -> list[Alert]:
    stmt = (
        select(_E.case_id, _E.action, _E.author, _K.conversation_id, _CU.name)
        .select_from(
            CASE_EVENT.join(CASE, _K.id == _E.case_id).outerjoin(CUSTOMER, _CU.id == _K.customer_id)
        )
        .where(
            _rowid(CASE_EVENT) > after,
            _E.action.in_(DECISIONS),
            _K.created_by == me,
            _E.author != me,
        )
        .order_by(_rowid(CASE_EVENT))
        .limit(MAX_PER_LOOK)
    )
    return [
        Alert(
            AlertKind.APPROVAL_DECIDED,
            None if r[3] is None else str(r[3]),
            notification_text(str(r[4] or "")),
            case_id=str(r[0]),
            approved=r[1] == "approved",
            decided_by=notification_text(str(r[2])),
        )
        for r in conn.execute(stmt)
    ]
