"""A customer's history beside the chat, and a case's history in words.

The customer's history is the person's, not one record's: with chats in one system and
orders in another, the same buyer has two records (see ``services/customers.same_person``)
and both count. It holds their earlier conversations (when, the first thing they said,
how it ended), the cases about them, their orders and the remarks on them, and how often
they asked for a refund or complained, so the agent does not answer a returning customer
as a stranger.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from cs_console import protocol as p
from cs_console.domain import CaseCategory, CaseStatus, ConversationStatus, Group
from cs_console.services.context import AgentContext
from cs_console.store import cases
from cs_console.store import history as store
from cs_console.store.orders import orders_for_customer
from cs_console.views import CaseRow, OrderRow, RemarkRow

#: The cases that are complaints, of the five kinds of request a shop tells apart
#: (consultation, complaint, return or exchange, suggestion, feedback): the goods'
#: quality or authenticity, an agent's attitude, a bad review.
COMPLAINT_CATEGORIES = frozenset(
    {
        CaseCategory.QUALITY,
        CaseCategory.COUNTERFEIT,
        CaseCategory.ATTITUDE,
        CaseCategory.NEGATIVE_REVIEW,
    }
)

#: Where a case's history names a field (``"status: open → resolved"``); the rest of a
#: line, or a line naming none, is a free note (a decision's reason, a long note's text).
CASE_FIELDS = frozenset({*p.CaseFields.model_fields, "evidence_json", "approved_by"})
_FIELD_LINE = re.compile(r"^([a-z_]+): ")
_ARROW = " → "


@dataclass(frozen=True, slots=True)
class PastConversation:
    """One of the customer's conversations, in brief. Texts are the customer's: untrusted."""

    conversation_id: str
    #: The record it is under (one of the person's records).
    customer_id: str
    group: Group
    status: ConversationStatus
    #: The first message's time (the last activity's when it has none).
    started_at: datetime
    last_activity_at: datetime
    #: The first line of the customer's first message ("" when they wrote none).
    first_line: str
    message_count: int
    #: How it ended: the resolutions of the cases logged in it, oldest case first.
    resolutions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class OrderRemark:
    """A flagged remark with the order it is on."""

    order_id: str
    order_number: str
    remark: RemarkRow


@dataclass(frozen=True, slots=True)
class CustomerHistory:
    """Everything the shop knows the person did, newest first."""

    customer_id: str
    #: Every record of the person (``customer_id`` included), sorted.
    records: tuple[str, ...]
    #: Their conversations, newest activity first; the one on screen left out if asked.
    conversations: tuple[PastConversation, ...]
    #: Cases about them or their conversations: unresolved ones first, then the rest,
    #: each part most recently changed first.
    cases: tuple[CaseRow, ...]
    orders: tuple[OrderRow, ...]
    #: Remarks on their orders, newest first.
    remarks: tuple[OrderRemark, ...]
    #: Orders with a refund (or a return) asked for or made.
    refunds: int
    #: Cases in :data:`COMPLAINT_CATEGORIES`.
    complaints: int

    @property
    def open_cases(self) -> tuple[CaseRow, ...]:
        """The cases not resolved yet."""
        return tuple(c for c in self.cases if c.status != CaseStatus.RESOLVED.value)

    @property
    def past_cases(self) -> tuple[CaseRow, ...]:
        """The resolved cases."""
        return tuple(c for c in self.cases if c.status == CaseStatus.RESOLVED.value)


@dataclass(frozen=True, slots=True)
class CaseChange:
    """One thing a history entry changed: a field's old and new value as stored (enum
    values, minor units, ISO dates), or a free note (``field`` empty, text in ``new``)."""

    field: str
    old: str
    new: str


def for_customer(
    ctx: AgentContext,
    customer_id: str,
    *,
    leave_out: str | None = None,
    orders: list[OrderRow] | None = None,
) -> CustomerHistory:
    """The history of the person behind ``customer_id``.

    Args:
        ctx: The open store.
        customer_id: Any of the person's records.
        leave_out: A conversation not to list (the one on screen).
        orders: The person's orders, when the caller has just read them
            (``services.orders.for_customer``): not read twice.
    """
    rows = store.customer_history(ctx.db, customer_id, [c.value for c in COMPLAINT_CATEGORIES])
    found = [row for case_id in rows.case_ids if (row := cases.get_case(ctx.db, case_id))]
    # A case edited in another tab of the register between the two reads is gone: skip it.
    by_conversation: dict[str, list[str]] = {}
    for case in sorted(found, key=lambda c: c.created_at):
        if case.conversation_id and case.resolution:
            by_conversation.setdefault(case.conversation_id, []).append(case.resolution)
    conversations = tuple(
        _conversation(summary, tuple(by_conversation.get(summary.conversation_id, ())))
        for summary in rows.conversations
        if summary.conversation_id != leave_out
    )
    unresolved = [c for c in found if c.status != CaseStatus.RESOLVED.value]
    resolved = [c for c in found if c.status == CaseStatus.RESOLVED.value]
    their_orders = tuple(orders if orders is not None else orders_for_customer(ctx.db, customer_id))
    remarks = sorted(
        (OrderRemark(o.order_id, o.number, r) for o in their_orders for r in o.remarks),
        key=lambda item: item.remark.created_at,
        reverse=True,
    )
    return CustomerHistory(
        customer_id=customer_id,
        records=tuple(rows.people),
        conversations=conversations,
        cases=(*unresolved, *resolved),
        orders=their_orders,
        remarks=tuple(remarks),
        refunds=rows.refunds,
        complaints=rows.complaints,
    )


def _conversation(row: store.ConversationSummary, resolutions: tuple[str, ...]) -> PastConversation:
    opening = (row.first_customer_message or "").strip()
    return PastConversation(
        conversation_id=row.conversation_id,
        customer_id=row.customer_id,
        group=Group(row.group),
        status=ConversationStatus(row.status),
        started_at=row.started_at or row.last_activity_at,
        last_activity_at=row.last_activity_at,
        first_line=opening.split("\n", 1)[0].strip(),
        message_count=row.message_count,
        resolutions=resolutions,
    )


def case_changes(changes: str) -> list[CaseChange]:
    """A case history entry's ``changes`` text, one :class:`CaseChange` per field.

    The reference server writes one ``field: old → new`` line per field changed; a
    value with line breaks (the notes) runs on over the following lines, which belong
    to the field named last. Text naming no field (a supervisor's note on a decision,
    another backend's words) comes back as one free note.
    """
    parts: list[tuple[str, str]] = []
    for line in changes.split("\n"):
        named = _FIELD_LINE.match(line)
        if named is not None and named.group(1) in CASE_FIELDS:
            parts.append((named.group(1), line[named.end() :]))
        elif parts:
            field, text = parts[-1]
            parts[-1] = (field, text + "\n" + line)
        elif line.strip():
            parts.append(("", line))
    result: list[CaseChange] = []
    for field, text in parts:
        if not field:
            result.append(CaseChange("", "", text.strip()))
            continue
        old, arrow, new = text.partition(_ARROW)
        result.append(CaseChange(field, old, new) if arrow else CaseChange(field, "", old))
    return result
