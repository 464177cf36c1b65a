"""The operations agents push, each applied once per idempotency key: a repeat gets the
first answer, and the same key with another operation is refused.

One function per operation; cases have their own module (``cases.py``) and the money
rules theirs (``money.py``).
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from cs_console import protocol as p
from cs_console.domain import ConversationStatus, MessageKind, OrderEventKind, OrderStatus, Role
from cs_console.money import format_money
from cs_console.server import attachments, cases, mailqueue, money, routing
from cs_console.server import conversations as convs
from cs_console.server.agents import Caller
from cs_console.server.errors import OperationError
from cs_console.server.feed import touch
from cs_console.server.tables import IDEMPOTENCY
from cs_console.store import convert
from cs_console.store.models import (
    AGENT,
    CUSTOMER,
    HANDOVER,
    MESSAGE,
    ORDER,
    ORDER_EVENT,
    ORDER_REMARK,
)
from cs_console.timeutil import utcnow

#: The event line under an email reply on a server with no mailbox set up.
NO_MAILBOX = (
    "Not sent by email: this server has no mailbox set up ([channels.email] in server.toml)"
)


def apply_once(
    conn: Connection,
    caller: Caller,
    key: str,
    operation: p.Operation,
    authority_limit_minor: int,
    *,
    now: datetime | None = None,
    mail_domain: str | None = "cs-console.localhost",
) -> p.OperationResult:
    """Apply ``operation`` unless ``key`` was used before, and remember the answer.

    Raises:
        OperationError: 422 if ``key`` was used for another request (or another
            caller), or whatever the operation's own rules refuse.
    """
    body = operation.model_dump_json()
    request_hash = hashlib.sha256(f"{caller.name}\n{body}".encode()).hexdigest()
    found = conn.execute(
        select(IDEMPOTENCY.c.request_hash, IDEMPOTENCY.c.response).where(IDEMPOTENCY.c.key == key)
    ).first()
    if found is not None:
        if found[0] != request_hash:
            raise OperationError(422, "this Idempotency-Key was used for another request")
        return p.OperationResult.model_validate_json(found[1])
    result = p.OperationResult(
        key=key,
        applied=True,
        result=_apply(conn, caller, operation, authority_limit_minor, now or utcnow(), mail_domain),
    )
    conn.execute(
        insert(IDEMPOTENCY).values(
            key=key,
            agent_name=caller.name,
            request_hash=request_hash,
            response=result.model_dump_json(),
            created_at=utcnow(),
        )
    )
    return result


def _apply(
    conn: Connection,
    caller: Caller,
    op: p.Operation,
    authority_limit_minor: int,
    now: datetime,
    mail_domain: str | None,
) -> dict[str, Any]:
    if isinstance(op, p.SendMessage):
        return _send_message(conn, caller, op, now, mail_domain)
    if isinstance(op, p.SetStatus):
        return _set_status(conn, op, now)
    if isinstance(op, p.Assign):
        return _assign(conn, caller, op, now)
    if isinstance(op, p.MarkRead):
        conv = convs.find(conn, op.conversation_id)
        convs.update_row(conn, conv, {"unread_count": 0, "updated_at": now})
        return {}
    if isinstance(op, p.AddRemark):
        return _add_remark(conn, caller, op, now)
    if isinstance(op, p.RefundOrder):
        return _refund(conn, caller, op, now, authority_limit_minor)
    if isinstance(op, p.SaveCase):
        return cases.save(conn, caller, op, now, authority_limit_minor)
    if isinstance(op, p.DecideCase):
        return cases.decide(conn, caller, op, now)
    if isinstance(op, p.AddHandover):
        return _add_handover(conn, caller, op, now)
    if isinstance(op, p.SetPresence):
        routing.set_presence(conn, caller.name, op.presence, now)
        return {"presence": op.presence.value}
    if isinstance(op, p.SetPriority):
        routing.set_priority(conn, op.conversation_id, op.priority, now)
        return {"priority": op.priority.value}
    if isinstance(op, p.SetTags):
        return _set_tags(conn, op, now)
    raise OperationError(422, "unknown operation")  # pragma: no cover - the union is closed


def _send_message(
    conn: Connection, caller: Caller, op: p.SendMessage, now: datetime, mail_domain: str | None
) -> dict[str, Any]:
    conv = convs.find(conn, op.conversation_id)
    existing = conn.execute(select(MESSAGE.c.conversation_id).where(MESSAGE.c.id == op.id)).first()
    if existing is not None:
        raise OperationError(409, f"message id {op.id} is taken")
    convs.insert_message(conn, op.id, op.conversation_id, op.kind.value, caller.name, op.body, now)
    # The files went up first, each in its own request; this links them to the message,
    # in the same transaction (a refusal leaves them waiting, not half linked).
    attachments.link(conn, caller.name, op.id, op.attachments)
    values: dict[str, Any] = {"updated_at": now}
    if op.kind is MessageKind.AGENT:
        values |= {"waiting_since": None, "unread_count": 0, "last_activity_at": now}
        if conv["assignee"] is None:
            values["assignee"] = caller.name  # answering a chat claims it
        if conv["channel"] == "email" and (op.body or op.attachments):
            if mail_domain is None:
                # No mailbox on this server (the demo's): say so where the agent looks,
                # rather than keep a mail that would go out whenever one is set up.
                convs.insert_event(
                    conn,
                    f"msg-nomail-{op.id}",
                    op.conversation_id,
                    "mail",
                    NO_MAILBOX,
                    now + timedelta(microseconds=1),
                )
            else:
                # Queued in this transaction: the reply and its email stand or fall together.
                mailqueue.enqueue_reply(
                    conn, conv, op.id, op.body, now, domain=mail_domain, agent=caller.name
                )
    convs.update_row(conn, conv, values)
    return {"message_id": op.id, "created_at": now.isoformat()}


def _set_status(conn: Connection, op: p.SetStatus, now: datetime) -> dict[str, Any]:
    conv = convs.find(conn, op.conversation_id)
    if op.status is ConversationStatus.SNOOZED and op.snoozed_until is None:
        raise OperationError(422, "snoozing needs snoozed_until")
    snoozing = op.status is ConversationStatus.SNOOZED
    values: dict[str, Any] = {
        "status": op.status.value,
        "snoozed_until": op.snoozed_until if snoozing else None,
        "updated_at": now,
    }
    convs.update_row(conn, conv, values)
    return {"status": op.status.value}


def _assign(conn: Connection, caller: Caller, op: p.Assign, now: datetime) -> dict[str, Any]:
    conv = convs.find(conn, op.conversation_id)
    owner = conv["assignee"]
    if owner not in (None, caller.name) and caller.role is not Role.SUPERVISOR:
        raise OperationError(403, f"only a supervisor can take a conversation from {owner}")
    if op.assignee is not None:
        known = conn.execute(select(AGENT.c.name).where(AGENT.c.name == op.assignee)).first()
        if known is None:
            raise OperationError(422, f"no agent named {op.assignee}")
    values: dict[str, Any] = {"assignee": op.assignee, "updated_at": now}
    if op.group is not None:
        values["group"] = op.group.value
    convs.update_row(conn, conv, values)
    return {"assignee": op.assignee, "group": op.group.value if op.group else conv["group"]}


def _add_remark(conn: Connection, caller: Caller, op: p.AddRemark, now: datetime) -> dict[str, Any]:
    order = conn.execute(select(ORDER.c.id).where(ORDER.c.id == op.order_id)).first()
    if order is None:
        raise OperationError(404, f"no order {op.order_id}")
    existing = conn.execute(select(ORDER_REMARK.c.id).where(ORDER_REMARK.c.id == op.id)).first()
    if existing is not None:
        raise OperationError(409, f"remark id {op.id} is taken")
    conn.execute(
        insert(ORDER_REMARK).values(
            id=op.id,
            order_id=op.order_id,
            flag=op.flag.value,
            text=op.text,
            author=caller.name,
            created_at=now,
            delivery="sent",
        )
    )
    touch(conn, "remark", op.id)
    return {"remark_id": op.id}


def _refund(
    conn: Connection, caller: Caller, op: p.RefundOrder, now: datetime, authority_limit_minor: int
) -> dict[str, Any]:
    actor = money.Actor(caller.name, caller.role)
    plan = money.plan_refund(conn, actor, op, authority_limit_minor)
    event_id = f"refund-{uuid.uuid4().hex[:20]}"
    conn.execute(
        insert(ORDER_EVENT).values(
            id=event_id,
            order_id=op.order_id,
            kind=OrderEventKind.REFUNDED.value,
            at=now,
            detail=f"{format_money(op.amount_minor, plan.currency)} · {op.reason}",
        )
    )
    touch(conn, "order_event", event_id)
    money.record_refund(conn, actor, op, plan, event_id, now)
    if plan.completes_order:
        conn.execute(
            update(ORDER)
            .where(ORDER.c.id == op.order_id)
            .values(status=OrderStatus.REFUNDED.value, updated_at=now)
        )
        touch(conn, "order", op.order_id)
    return {"event_id": event_id, "covered_minor": plan.covered_minor}


def _add_handover(
    conn: Connection, caller: Caller, op: p.AddHandover, now: datetime
) -> dict[str, Any]:
    exists = conn.execute(select(HANDOVER.c.id).where(HANDOVER.c.id == op.id)).first()
    if exists is not None:
        raise OperationError(409, f"handover id {op.id} is taken")
    conn.execute(
        insert(HANDOVER).values(
            id=op.id,
            author=caller.name,
            shift_started_at=op.shift_started_at,
            created_at=now,
            note=op.note,
        )
    )
    touch(conn, "handover", op.id)
    return {"handover_id": op.id}


def _set_tags(conn: Connection, op: p.SetTags, now: datetime) -> dict[str, Any]:
    if (op.conversation_id is None) == (op.customer_id is None):
        raise OperationError(422, "tags go on one conversation or one customer")
    stored = convert.tags_json(op.tags)
    if op.conversation_id is not None:
        conv = convs.find(conn, op.conversation_id)
        convs.update_row(conn, conv, {"tags_json": stored, "updated_at": now})
    else:
        found = conn.execute(select(CUSTOMER.c.id).where(CUSTOMER.c.id == op.customer_id)).first()
        if found is None:
            raise OperationError(404, f"no customer {op.customer_id}")
        conn.execute(
            update(CUSTOMER)
            .where(CUSTOMER.c.id == op.customer_id)
            .values(tags_json=stored, updated_at=now)
        )
        touch(conn, "customer", str(op.customer_id))
    return {"tags": sorted(set(op.tags))}
