"""Queue queries: one page of the ordered, filtered conversation list at a time.

The queue can hold 100,000 conversations; the UI asks only for the rows it shows.
Every query here is served by an index on ``(status[, group | assignee], queue_rank)``.
Counts are kept (:meth:`Database.cached`) until the conversation table is next
written: counting a status holding 40,000 conversations on every keystroke is not.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, update

from cs_console.domain import ConversationStatus, Group
from cs_console.store.convert import tags_of
from cs_console.store.db import Database
from cs_console.store.models import CONVERSATION, CUSTOMER
from cs_console.views import PRIORITIES, QueueCounts, QueueFilter, QueueRow

_C = CONVERSATION.c
_TABLE = "conversation"


def _filter_key(flt: QueueFilter) -> tuple[str | None, ...]:
    group = flt.group.value if flt.group else None
    return (flt.status.value, group, flt.scope, flt.me, flt.min_priority, flt.tag)


def _where(stmt: Select[Any], flt: QueueFilter) -> Select[Any]:
    stmt = _extra(stmt.where(_C.status == flt.status.value), flt)
    if flt.group is not None:
        stmt = stmt.where(_C.group == flt.group.value)
    if flt.scope == "mine":
        stmt = stmt.where(_C.assignee == (flt.me or ""))
    elif flt.scope == "unassigned":
        stmt = stmt.where(_C.assignee.is_(None))
    return stmt


def _extra(stmt: Select[Any], flt: QueueFilter) -> Select[Any]:
    """The priority and tag filters, which every count honours too."""
    if flt.min_priority in PRIORITIES:
        wanted = PRIORITIES[PRIORITIES.index(flt.min_priority) :]
        stmt = stmt.where(_C.priority.in_(wanted))
    if flt.tag:
        # Tags are stored as a sorted JSON list of narrow words (convert.tags_json), so
        # the quoted tag found in the text is the tag; a LIKE wildcard in it is escaped.
        quoted = '%"' + _escape_like(flt.tag) + '"%'
        tagged = select(CUSTOMER.c.id).where(CUSTOMER.c.tags_json.like(quoted, escape="\\"))
        stmt = stmt.where(
            _C.tags_json.like(quoted, escape="\\") | _C.customer_id.in_(tagged.scalar_subquery())
        )
    return stmt


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _customers(db: Database, flt: QueueFilter) -> int | None:
    """Part of a cached count's key: a tag filter reads customers' tags too, so a count
    kept from before a customer's tags changed must not be used."""
    return db.generation("customer") if flt.tag else None


def known_tags(db: Database) -> list[str]:
    """Every tag a conversation or customer in the store carries, sorted."""

    def read() -> list[str]:
        found: set[str] = set()
        with db.read() as conn:
            for table in (CONVERSATION, CUSTOMER):
                column = table.c.tags_json
                for (stored,) in conn.execute(select(column).distinct().where(column != "[]")):
                    found.update(tags_of(stored))
        return sorted(found)

    # Read each time: asked for only when the agent opens the tag chooser.
    return read()


def queue_count(db: Database, flt: QueueFilter) -> int:
    """How many conversations the filter shows."""

    def count() -> int:
        with db.read() as conn:
            stmt = _where(select(func.count()), flt).select_from(CONVERSATION)
            return int(conn.execute(stmt).scalar_one())

    return db.cached(_TABLE, ("queue_count", *_filter_key(flt), _customers(db, flt)), count)


def queue_page(db: Database, flt: QueueFilter, offset: int, limit: int) -> list[QueueRow]:
    """Rows ``offset`` .. ``offset + limit`` of the filtered queue, in queue order."""
    stmt = (
        select(
            _C.id,
            _C.customer_id,
            CUSTOMER.c.name,
            _C.group,
            _C.status,
            _C.assignee,
            _C.waiting_since,
            _C.last_activity_at,
            _C.unread_count,
            _C.snippet,
            _C.priority,
            _C.tags_json,
            CUSTOMER.c.tags_json,
            _C.channel,
        )
        .select_from(CONVERSATION.join(CUSTOMER, CUSTOMER.c.id == _C.customer_id))
        .order_by(_C.queue_rank, _C.id)
        .offset(max(offset, 0))
        .limit(limit)
    )
    with db.read() as conn:
        rows = conn.execute(_where(stmt, flt)).all()
    return [
        QueueRow(
            conversation_id=r[0],
            customer_id=r[1],
            customer_name=r[2],
            group=Group(r[3]),
            status=ConversationStatus(r[4]),
            assignee=r[5],
            waiting_since=r[6],
            last_activity_at=r[7],
            unread_count=r[8],
            snippet=r[9],
            priority=r[10],
            tags=tuple(sorted(set(tags_of(r[11])) | set(tags_of(r[12])))),
            channel=r[13],
        )
        for r in rows
    ]


def queue_position(db: Database, flt: QueueFilter, conversation_id: str) -> int | None:
    """Where ``conversation_id`` stands in the filtered queue, or None if it is not in it."""
    with db.read() as conn:
        found = conn.execute(
            _where(select(_C.queue_rank), flt).where(_C.id == conversation_id)
        ).first()
        if found is None:
            return None
        rank = found[0]
        before = _where(select(func.count()), flt).select_from(CONVERSATION)
        before = before.where(
            (_C.queue_rank < rank) | ((_C.queue_rank == rank) & (_C.id < conversation_id))
        )
        return int(conn.execute(before).scalar_one())


def longest_waiting(db: Database, flt: QueueFilter) -> str | None:
    """The conversation whose customer has waited longest, among those the filter shows
    and that are not another agent's."""
    stmt = _where(select(_C.id), flt).where(_C.waiting_since.is_not(None))
    if flt.me:
        stmt = stmt.where(_C.assignee.is_(None) | (_C.assignee == flt.me))
    stmt = stmt.order_by(_C.queue_rank, _C.id).limit(1)
    with db.read() as conn:
        found = conn.execute(stmt).first()
    return None if found is None else str(found[0])


def queue_counts(db: Database, flt: QueueFilter) -> QueueCounts:
    """Counts for the filter bar: per status (in the current scope and group), and per
    scope and group (in the current status)."""
    key = ("queue_counts", *_filter_key(flt), _customers(db, flt))
    return db.cached(_TABLE, key, lambda: _counts(db, flt))


def _counts(db: Database, flt: QueueFilter) -> QueueCounts:
    with db.read() as conn:
        by_status: dict[ConversationStatus, int] = {s: 0 for s in ConversationStatus}
        scoped = _extra(select(_C.status, func.count()).group_by(_C.status), flt)
        if flt.group is not None:
            scoped = scoped.where(_C.group == flt.group.value)
        if flt.scope == "mine":
            scoped = scoped.where(_C.assignee == (flt.me or ""))
        elif flt.scope == "unassigned":
            scoped = scoped.where(_C.assignee.is_(None))
        for status, count in conn.execute(scoped):
            by_status[ConversationStatus(status)] = int(count)
        in_status = _extra(
            select(func.count()).select_from(CONVERSATION).where(_C.status == flt.status.value),
            flt,
        )
        if flt.group is not None:
            in_status = in_status.where(_C.group == flt.group.value)
        everyone = int(conn.execute(in_status).scalar_one())
        mine = int(conn.execute(in_status.where(_C.assignee == (flt.me or ""))).scalar_one())
        unassigned = int(conn.execute(in_status.where(_C.assignee.is_(None))).scalar_one())
        by_group: dict[Group, int] = {g: 0 for g in Group}
        grouped = _extra(
            select(_C.group, func.count()).where(_C.status == flt.status.value).group_by(_C.group),
            flt,
        )
        for group, count in conn.execute(grouped):
            by_group[Group(group)] = int(count)
    return QueueCounts(
        by_status=by_status, mine=mine, unassigned=unassigned, everyone=everyone, by_group=by_group
    )


def waiting_over(db: Database, threshold_iso: str) -> int:
    """How many open conversations have waited since before ``threshold_iso``."""
    with db.read() as conn:
        stmt = (
            select(func.count())
            .select_from(CONVERSATION)
            .where(
                _C.status == ConversationStatus.OPEN.value,
                _C.queue_rank < "0" + threshold_iso,
            )
        )
        return int(conn.execute(stmt).scalar_one())


def waiting_count(db: Database, flt: QueueFilter) -> int:
    """How many conversations the filter shows whose customer is waiting for an answer."""
    stmt = _where(select(func.count()).select_from(CONVERSATION), flt).where(
        _C.waiting_since.is_not(None)
    )

    def count() -> int:
        with db.read() as conn:
            return int(conn.execute(stmt).scalar_one())

    return db.cached(_TABLE, ("waiting_count", *_filter_key(flt), _customers(db, flt)), count)


def wake_due_snoozes(db: Database, now: datetime) -> list[str]:
    """Snoozed conversations whose time has come go back to the open queue, keeping
    their waiting clock (so their place in it); the ids woken.

    The server wakes them too, and its copy replaces this one at the next pull: this
    is what the agent sees meanwhile, or while offline. One indexed read when none is due.
    """
    snoozed = ConversationStatus.SNOOZED.value
    due = (_C.status == snoozed) & (_C.snoozed_until <= now)
    with db.read() as conn:
        if conn.execute(select(_C.id).where(due).limit(1)).first() is None:
            return []
    with db.write() as conn:
        ids = [str(r[0]) for r in conn.execute(select(_C.id).where(due)).all()]
        if ids:
            conn.execute(
                update(CONVERSATION)
                .where(_C.id.in_(ids))
                .values(status=ConversationStatus.OPEN.value, snoozed_until=None)
            )
    return ids
