"""The after-sales register: open a case in a few keys, follow it up, approve it.

Authority: an agent may grant compensation up to the shop's limit; above it the case
is saved as awaiting approval (the server refuses anything else with 403), and only a
supervisor approves or declines it.
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from dataclasses import dataclass, field, replace
from datetime import date

from cs_console import protocol as p
from cs_console.authority import CaseTerms, approval_withdrawn
from cs_console.domain import (
    STANDARD_HANDLING,
    CaseCategory,
    CaseStatus,
    OrderStatus,
    Resolution,
    Responsible,
)
from cs_console.services.context import AgentContext
from cs_console.store import cases, outbox
from cs_console.timeutil import utcnow
from cs_console.views import CaseEventRow, CaseRow, MessageRow, OrderRow, OutboxRow

# Words customers use, per category; the first match in the newest messages wins.
_HINTS: tuple[tuple[CaseCategory, str], ...] = (
    (CaseCategory.COUNTERFEIT, r"假货|假的|正品|counterfeit|fake|giả|falso|falsific"),
    (
        CaseCategory.WRONG_ITEM,
        r"发错|寄错|不是我买的|wrong item|wrong colou?r|wrong size|giao nhầm|equivocad",
    ),
    (CaseCategory.MISSING_ITEM, r"少发|漏发|少了|缺|missing|only got|thiếu|falta"),
    (CaseCategory.DAMAGED_TRANSIT, r"破|碎|坏了|损坏|裂|broken|damaged|cracked|vỡ|hỏng|roto|dañad"),
    (CaseCategory.QUALITY, r"质量|掉色|起球|异味|味道|quality|smell|fade|chất lượng|calidad"),
    (CaseCategory.INVOICE, r"发票|invoice|receipt|hóa đơn|factura"),
    (
        CaseCategory.NEGATIVE_REVIEW,
        r"差评|投诉|bad review|1 star|one star|đánh giá xấu|mala reseña",
    ),
    (CaseCategory.ATTITUDE, r"态度|attitude|rude|thái độ|grosero|maleducad"),
    (CaseCategory.WRONG_ADDRESS, r"地址|改地址|address|địa chỉ|dirección"),
    (
        CaseCategory.NO_TRACKING_UPDATE,
        r"没动|不动|没更新|物流|tracking|not moved|hasn.t moved|vận đơn|seguimiento",
    ),
    (CaseCategory.USAGE_QUESTION, r"怎么用|不会用|how (do|to) (i )?use|cách dùng|cómo se usa"),
)


@dataclass(slots=True)
class CaseDraft:
    """A case form's values; ``case_id`` is None for a new case."""

    category: CaseCategory
    case_id: str | None = None
    conversation_id: str | None = None
    customer_id: str | None = None
    order_id: str | None = None
    responsible: Responsible | None = None
    resolution: Resolution | None = None
    status: CaseStatus = CaseStatus.OPEN
    refund_minor: int = 0
    compensation_minor: int = 0
    postage_lost_minor: int = 0
    currency: str = "CNY"
    follow_up_on: date | None = None
    evidence: list[str] = field(default_factory=list)
    notes: str = ""


@dataclass(frozen=True, slots=True)
class Saved:
    """The case is in the outbox; ``needs_approval`` if it went to a supervisor."""

    case_id: str
    entry: OutboxRow
    needs_approval: bool


def authority_limit_minor(ctx: AgentContext) -> int:
    """The compensation an agent may grant alone."""
    return ctx.settings.shop.authority_limit_minor


def guess_category(messages: list[MessageRow], order: OrderRow | None) -> CaseCategory:
    """A first guess from the customer's newest words and the order's state."""
    customer_text = [m.body for m in reversed(messages) if m.kind.value == "customer"][:5]
    for body in customer_text:
        lowered = body.lower()
        if re.search(r"退款|退钱|refund|hoàn tiền|reembolso", lowered) and order is not None:
            return _refund_category(order)
        for category, pattern in _HINTS:
            if re.search(pattern, lowered):
                if (
                    category is CaseCategory.DAMAGED_TRANSIT
                    and order is not None
                    and order.delivered_at
                ):
                    since_delivery = (utcnow() - order.delivered_at).days
                    return CaseCategory.DAMAGED_LATE if since_delivery > 30 else category
                return category
    if order is not None and order.status is OrderStatus.REFUND_REQUESTED:
        return _refund_category(order)
    return CaseCategory.FEEDBACK


def _refund_category(order: OrderRow) -> CaseCategory:
    if order.delivered_at is not None:
        return CaseCategory.REFUND_SIGNED
    if order.shipped_at is not None:
        return CaseCategory.REFUND_SHIPPED
    if order.group_formed_at is None and order.status is OrderStatus.AWAITING_GROUP:
        return CaseCategory.REFUND_BEFORE_GROUP
    return CaseCategory.REFUND_BEFORE_SHIPPING


def draft_for(
    ctx: AgentContext,
    *,
    conversation_id: str | None,
    customer_id: str | None,
    order: OrderRow | None,
    messages: list[MessageRow],
) -> CaseDraft:
    """A new case pre-filled from the conversation: customer, order, a guessed category.
    An existing unresolved case of this conversation is offered instead, to avoid twins."""
    if conversation_id is not None:
        open_ones = [
            c
            for c in cases.list_cases(ctx.db, conversation_id=conversation_id)
            if c.status != "resolved"
        ]
        if open_ones:
            return from_row(open_ones[0])
    return with_category(
        CaseDraft(
            category=guess_category(messages, order),
            conversation_id=conversation_id,
            customer_id=customer_id,
            order_id=order.order_id if order else None,
            currency=order.currency if order else "CNY",
        ),
        None,
    )


def with_category(draft: CaseDraft, category: CaseCategory | None) -> CaseDraft:
    """A new case's draft in ``category`` (None: its own), with that category's usual
    responsible party and resolution (``domain.STANDARD_HANDLING``). A case already
    logged keeps what was decided."""
    if draft.case_id is not None:
        return draft
    chosen = category or draft.category
    responsible, resolution = STANDARD_HANDLING[chosen]
    return replace(draft, category=chosen, responsible=responsible, resolution=resolution)


def from_row(row: CaseRow) -> CaseDraft:
    """Form values for an existing case."""
    return CaseDraft(
        case_id=row.case_id,
        category=CaseCategory(row.category),
        conversation_id=row.conversation_id,
        customer_id=row.customer_id,
        order_id=row.order_id,
        responsible=Responsible(row.responsible) if row.responsible else None,
        resolution=Resolution(row.resolution) if row.resolution else None,
        status=CaseStatus(row.status),
        refund_minor=row.refund_minor,
        compensation_minor=row.compensation_minor,
        postage_lost_minor=row.postage_lost_minor,
        currency=row.currency,
        follow_up_on=row.follow_up_on,
        evidence=list(row.evidence),
        notes=row.notes,
    )


def save(ctx: AgentContext, draft: CaseDraft) -> Saved:
    """Record the case (new or changed) locally and queue it for the backend."""
    status = draft.status
    needs_approval = False
    case_id = draft.case_id or "case-" + uuid.uuid4().hex[:20]
    if not ctx.is_supervisor and _beyond_own_limit(ctx, draft, case_id):
        status = CaseStatus.AWAITING_APPROVAL
        needs_approval = True
    op = p.SaveCase(
        id=case_id,
        conversation_id=draft.conversation_id,
        customer_id=draft.customer_id,
        order_id=draft.order_id,
        category=draft.category,
        responsible=draft.responsible,
        resolution=draft.resolution,
        status=status,
        refund_minor=draft.refund_minor,
        compensation_minor=draft.compensation_minor,
        postage_lost_minor=draft.postage_lost_minor,
        currency=draft.currency,
        follow_up_on=draft.follow_up_on,
        evidence=[e for e in draft.evidence if e.strip()],
        notes=draft.notes,
    )
    entry = outbox.record(ctx.db, op, author=ctx.agent_name)
    return Saved(case_id=case_id, entry=entry, needs_approval=needs_approval)


def _beyond_own_limit(ctx: AgentContext, draft: CaseDraft, case_id: str) -> bool:
    """Whether the case needs a supervisor, by the server's rules (``server/money.py``),
    so the console asks for approval instead of having the save refused: the refund
    and compensation the agent gives on this order, over all their cases not approved,
    pass the limit; and an approval covers only what was approved."""
    existing = cases.get_case(ctx.db, draft.case_id) if draft.case_id else None
    if existing is not None and existing.approved_by is not None:
        approved = CaseTerms(
            existing.order_id,
            existing.customer_id,
            existing.currency,
            existing.compensation_minor,
            existing.refund_minor,
        )
        proposed = CaseTerms(
            draft.order_id,
            draft.customer_id,
            draft.currency,
            draft.compensation_minor,
            draft.refund_minor,
        )
        if approval_withdrawn(approved, proposed) is None:
            return False
    given = draft.refund_minor + draft.compensation_minor
    if given == 0:
        return False
    others = cases.granted_alone(
        ctx.db,
        ctx.agent_name,
        order_id=draft.order_id,
        customer_id=draft.customer_id,
        skip_case=case_id,
    )
    return others + given > authority_limit_minor(ctx)


def decide(ctx: AgentContext, case_id: str, *, approve: bool, note: str = "") -> OutboxRow:
    """A supervisor approves or declines a case awaiting approval."""
    if not ctx.is_supervisor:
        raise PermissionError("only a supervisor approves or declines")
    return outbox.record(
        ctx.db, p.DecideCase(id=case_id, approve=approve, note=note), author=ctx.agent_name
    )


def get(ctx: AgentContext, case_id: str) -> CaseRow | None:
    """One case."""
    return cases.get_case(ctx.db, case_id)


def history(ctx: AgentContext, case_id: str) -> list[CaseEventRow]:
    """The case's history."""
    return cases.case_history(ctx.db, case_id)


def register(
    ctx: AgentContext, *, statuses: tuple[str, ...] = (), since: date | None = None
) -> list[CaseRow]:
    """The register, newest change first."""
    return cases.list_cases(ctx.db, statuses=statuses, since=since)


def due(ctx: AgentContext, day: date) -> list[CaseRow]:
    """Cases to follow up on or before ``day``."""
    return cases.due_by(ctx.db, day)


def _cell(value: str) -> str:
    """Customer text must not run as a formula when the sheet is opened."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


EXPORT_COLUMNS = (
    "case_id",
    "created_at",
    "updated_at",
    "status",
    "category",
    "responsible",
    "resolution",
    "customer_id",
    "customer_name",
    "order_id",
    "order_number",
    "conversation_id",
    "refund",
    "compensation",
    "postage_lost",
    "currency",
    "follow_up_on",
    "evidence",
    "notes",
    "created_by",
    "approved_by",
)


def export(ctx: AgentContext, *, since: date | None, fmt: str) -> str:
    """Every field of every case since ``since``. CSV starts with a UTF-8 BOM so that
    spreadsheet programs read Chinese text correctly; amounts are in major units."""
    rows = []
    for c in reversed(cases.list_cases(ctx.db, since=since, limit=1_000_000)):
        rows.append(
            {
                "case_id": c.case_id,
                "created_at": c.created_at.isoformat(),
                "updated_at": c.updated_at.isoformat(),
                "status": c.status,
                "category": c.category,
                "responsible": c.responsible or "",
                "resolution": c.resolution or "",
                "customer_id": c.customer_id or "",
                "customer_name": c.customer_name or "",
                "order_id": c.order_id or "",
                "order_number": c.order_number or "",
                "conversation_id": c.conversation_id or "",
                "refund": f"{c.refund_minor / 100:.2f}",
                "compensation": f"{c.compensation_minor / 100:.2f}",
                "postage_lost": f"{c.postage_lost_minor / 100:.2f}",
                "currency": c.currency,
                "follow_up_on": c.follow_up_on.isoformat() if c.follow_up_on else "",
                "evidence": " | ".join(c.evidence),
                "notes": c.notes,
                "created_by": c.created_by,
                "approved_by": c.approved_by or "",
            }
        )
    if fmt == "json":
        return json.dumps(rows, ensure_ascii=False, indent=2)
    if fmt != "csv":
        raise ValueError(f"unknown format {fmt!r}: csv or json")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows({k: _cell(v) for k, v in row.items()} for row in rows)
    return "\ufeff" + buffer.getvalue()
