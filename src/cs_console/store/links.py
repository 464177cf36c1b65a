"""Which customer records are one person.

With chats in one system and orders in another, the same buyer has two customer
records: a Chatwoot contact and a Vendure customer, say. They are matched by a
normalised email or phone (kept in ``customer_key`` as records arrive), and where
neither matches an agent links them by hand (``customer_link``, local to this store:
no backend we speak to has a place for it).

Phone numbers are compared on their last ten digits, after dropping everything that is
not a digit: "+86 138-0000-1111", "008613800001111" and "13800001111" agree, and so do
"+1 (415) 555-0100" and "4155550100". Ten digits is long enough that two different
customers of one shop almost never collide, and short enough to ignore country codes.
Numbers under seven digits are not used (extensions, typos).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, delete, or_, select
from sqlalchemy.dialects.sqlite import insert

from cs_console import protocol as p
from cs_console.store.db import Database
from cs_console.store.models import CUSTOMER, CUSTOMER_KEY, CUSTOMER_LINK
from cs_console.timeutil import utcnow
from cs_console.views import CustomerMatch

PHONE_DIGITS = 10
MIN_PHONE_DIGITS = 7


def email_key(email: str | None) -> str | None:
    """``" Lan@Example.CN "`` -> ``"email:lan@example.cn"``; None when not an address."""
    if not email:
        return None
    value = email.strip().lower()
    if "@" not in value or value.startswith("@") or value.endswith("@"):
        return None
    return f"email:{value}"


def phone_key(phone: str | None) -> str | None:
    """``"+86 138-0000-1111"`` -> ``"phone:3800001111"``; None when too short to trust."""
    if not phone:
        return None
    digits = "".join(ch for ch in phone if "0" <= ch <= "9")
    if len(digits) < MIN_PHONE_DIGITS:
        return None
    return f"phone:{digits[-PHONE_DIGITS:]}"


def index_customers(conn: Connection, customers: Iterable[p.CustomerRecord]) -> None:
    """Record the match keys of ``customers`` (inside the caller's write transaction),
    replacing what an earlier version of the same record had."""
    rows: list[dict[str, str]] = []
    ids: list[str] = []
    for customer in customers:
        ids.append(customer.id)
        for key in (email_key(customer.email), phone_key(customer.phone)):
            if key is not None:
                rows.append({"key": key, "customer_id": customer.id})
    if not ids:
        return
    conn.execute(delete(CUSTOMER_KEY).where(CUSTOMER_KEY.c.customer_id.in_(ids)))
    if rows:
        conn.execute(insert(CUSTOMER_KEY).on_conflict_do_nothing(), rows)


def same_person(conn: Connection, customer_id: str) -> list[str]:
    """``customer_id`` and every record matched to it by key or by an agent's link."""
    mine, theirs = CUSTOMER_KEY.alias("mine"), CUSTOMER_KEY.alias("theirs")
    found = {customer_id}
    found.update(
        conn.execute(
            select(theirs.c.customer_id)
            .select_from(theirs.join(mine, mine.c.key == theirs.c.key))
            .where(mine.c.customer_id == customer_id)
        ).scalars()
    )
    found.update(
        conn.execute(
            select(CUSTOMER_LINK.c.other_id).where(CUSTOMER_LINK.c.customer_id == customer_id)
        ).scalars()
    )
    return sorted(found)


def link(db: Database, customer_id: str, other_id: str, author: str) -> None:
    """Record that two customer records are one person (an agent's decision)."""
    if customer_id == other_id:
        raise ValueError("a customer cannot be linked to itself")
    now = utcnow()
    with db.write() as conn:
        known = set(
            conn.execute(
                select(CUSTOMER.c.id).where(CUSTOMER.c.id.in_((customer_id, other_id)))
            ).scalars()
        )
        missing = [cid for cid in (customer_id, other_id) if cid not in known]
        if missing:
            raise LookupError(f"no customer {missing[0]!r} in this store")
        conn.execute(
            insert(CUSTOMER_LINK).on_conflict_do_nothing(),
            [
                {"customer_id": a, "other_id": b, "author": author, "created_at": now}
                for a, b in ((customer_id, other_id), (other_id, customer_id))
            ],
        )


def unlink(db: Database, customer_id: str, other_id: str) -> bool:
    """Undo a link made by hand; False when there was none."""
    c = CUSTOMER_LINK.c
    with db.write() as conn:
        result = conn.execute(
            delete(CUSTOMER_LINK).where(
                or_(
                    (c.customer_id == customer_id) & (c.other_id == other_id),
                    (c.customer_id == other_id) & (c.other_id == customer_id),
                )
            )
        )
    return bool(result.rowcount)


def find_customers(db: Database, text: str, limit: int = 20) -> list[CustomerMatch]:
    """Customers whose name, email or phone contains ``text`` (for linking by hand)."""
    needle = text.strip()
    if not needle:
        return []
    pattern = f"%{needle.replace('%', '').replace('_', '')}%"
    c = CUSTOMER.c
    with db.read() as conn:
        rows = conn.execute(
            select(c.id, c.name, c.email, c.phone)
            .where(or_(c.name.like(pattern), c.email.like(pattern), c.phone.like(pattern)))
            .order_by(c.name, c.id)
            .limit(limit)
        ).all()
    return [CustomerMatch(row[0], row[1], row[2], row[3]) for row in rows]


def customer_exists(db: Database, customer_id: str) -> bool:
    """Whether the store holds a customer record with this id."""
    with db.read() as conn:
        found = conn.execute(select(CUSTOMER.c.id).where(CUSTOMER.c.id == customer_id)).first()
    return found is not None
