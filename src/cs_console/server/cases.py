"""After-sales cases on the reference server: saving one (created or changed, under the
money rules) and a supervisor's decision, each written to the case's history."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from cs_console import protocol as p
from cs_console.domain import CaseStatus, Role
from cs_console.server import limits, money
from cs_console.server.agents import Caller
from cs_console.server.errors import OperationError
from cs_console.server.feed import touch
from cs_console.store import convert
from cs_console.store.models import CASE, CASE_EVENT


def save(
    conn: Connection, caller: Caller, op: p.SaveCase, now: datetime, authority_limit_minor: int
) -> dict[str, Any]:
    """Create the case or change it; saving it unchanged changes nothing.

    Raises:
        OperationError: the money rules refuse it (see ``money.check_case_save``).
    """
    existing = conn.execute(select(CASE).where(CASE.c.id == op.id)).mappings().first()
    approved_by, withdrawn = money.approval_after_save(existing, op)
    money.check_case_save(
        conn,
        money.Actor(caller.name, caller.role),
        op,
        existing,
        approved_by,
        authority_limit_minor,
    )
    fields = convert.case_fields_row(op)
    if existing is None:
        conn.execute(
            insert(CASE).values(
                id=op.id,
                created_by=caller.name,
                created_at=now,
                updated_at=now,
                delivery="sent",
                **fields,
            )
        )
        _event(conn, op.id, caller.name, "created", "", now)
    else:
        changes = [
            f"{key}: {existing[key]} → {value}"
            for key, value in fields.items()
            if existing[key] != value
        ]
        if withdrawn:
            changes.append(withdrawn)
        if not changes:
            return {"case_id": op.id, "changed": False}
        conn.execute(
            update(CASE)
            .where(CASE.c.id == op.id)
            .values(updated_at=now, approved_by=approved_by, **fields)
        )
        _event(conn, op.id, caller.name, "updated", "\n".join(changes), now)
    touch(conn, "case", op.id)
    return {"case_id": op.id, "changed": True}


def decide(conn: Connection, caller: Caller, op: p.DecideCase, now: datetime) -> dict[str, Any]:
    """A supervisor approves or declines a case awaiting approval; declining takes the
    compensation back to nothing.

    Raises:
        OperationError: 403 for an agent, 404 for no such case, 409 if it is not
            awaiting approval.
    """
    if caller.role is not Role.SUPERVISOR:
        raise OperationError(403, "only a supervisor approves or declines")
    existing = conn.execute(select(CASE).where(CASE.c.id == op.id)).mappings().first()
    if existing is None:
        raise OperationError(404, f"no case {op.id}")
    if existing["status"] != CaseStatus.AWAITING_APPROVAL.value:
        raise OperationError(409, "this case is not awaiting approval")
    values: dict[str, Any] = {"status": CaseStatus.OPEN.value, "updated_at": now}
    if op.approve:
        values["approved_by"] = caller.name
    else:
        values["compensation_minor"] = 0
    conn.execute(update(CASE).where(CASE.c.id == op.id).values(**values))
    action = "approved" if op.approve else "declined"
    _event(conn, op.id, caller.name, action, op.note, now)
    touch(conn, "case", op.id)
    return {"case_id": op.id, "status": CaseStatus.OPEN.value, "approved": op.approve}


def _event(
    conn: Connection, case_id: str, author: str, action: str, changes: str, now: datetime
) -> None:
    event_id = "ce-" + uuid.uuid4().hex[:20]
    # Two long notes, old and new, can pass the protocol's limit between them.
    changes = limits.cut(changes, p.MAX_BODY_CHARS)
    conn.execute(
        insert(CASE_EVENT).values(
            id=event_id, case_id=case_id, at=now, author=author, action=action, changes=changes
        )
    )
    touch(conn, "case_event", event_id)
