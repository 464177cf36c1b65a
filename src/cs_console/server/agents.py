"""Agent accounts on the reference server: who a token belongs to, and create, rotate a
token, revoke, enable, change a role. Each change is its own operation, and each is
written to the agent audit (who did what to which account, when); a change others
should see (a role, an account turned off or on) also enters the change feed.

Creating never touches an existing account: that is a 409, so nobody replaces a
colleague's token or role by "creating" them again.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import Connection, insert, select, update

from cs_console import protocol as p
from cs_console.domain import Group, Role
from cs_console.server.errors import OperationError
from cs_console.server.feed import touch
from cs_console.server.tables import AGENT_AUDIT, API_TOKEN
from cs_console.store import convert
from cs_console.store.models import AGENT

#: Who the audit names for changes made on the server's own machine (CLI, demo).
LOCAL_ADMIN = "(server admin)"


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated agent making a request."""

    name: str
    role: Role


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One change to an agent account."""

    at: datetime
    actor: str
    agent_name: str
    action: str
    detail: str


def authenticate(conn: Connection, token: str) -> Caller | None:
    """The agent a token belongs to, or None (unknown or revoked)."""
    digest = hash_token(token)
    row = conn.execute(
        select(API_TOKEN.c.token_hash, API_TOKEN.c.revoked, AGENT.c.name, AGENT.c.role)
        .select_from(API_TOKEN.join(AGENT, AGENT.c.name == API_TOKEN.c.agent_name))
        .where(API_TOKEN.c.token_hash == digest)
    ).first()
    # The lookup is by hash; compare_digest keeps the final check constant-time.
    if row is None or row[1] or not hmac.compare_digest(row[0], digest):
        return None
    return Caller(name=row[2], role=Role(row[3]))


def listing(conn: Connection) -> list[tuple[p.AgentRecord, bool]]:
    """Every agent by name, with whether its token is revoked."""
    rows = (
        conn.execute(
            select(AGENT, API_TOKEN.c.revoked)
            .select_from(AGENT.outerjoin(API_TOKEN, API_TOKEN.c.agent_name == AGENT.c.name))
            .order_by(AGENT.c.name)
        )
        .mappings()
        .all()
    )
    return [(convert.to_agent(r), bool(r["revoked"])) for r in rows]


def check_name(name: object) -> str:
    """``name`` if it can name an agent: one line of visible text, single spaces, no
    spaces at either end, no ``/`` (it is part of the account's URL), at most
    ``MAX_NAME_CHARS`` characters.

    Raises:
        OperationError: 422, saying what is wrong.
    """
    if not isinstance(name, str) or not name.strip():
        raise OperationError(422, "an agent needs a name")
    if len(name) > p.MAX_NAME_CHARS:
        raise OperationError(422, f"an agent's name has at most {p.MAX_NAME_CHARS} characters")
    for ch in name:
        category = unicodedata.category(ch)
        if category[0] == "C" or category in ("Zl", "Zp"):
            raise OperationError(
                422,
                f"an agent's name cannot hold control or invisible characters (U+{ord(ch):04X})",
            )
    if "/" in name:
        raise OperationError(422, "an agent's name cannot hold '/'")
    if " ".join(name.split()) != name:
        raise OperationError(
            422, "an agent's name has no spaces at either end and single spaces inside"
        )
    return name


def create(
    conn: Connection, actor: str, name: str, role: Role, group: Group | None, now: datetime
) -> str:
    """Create an agent and return its token (shown once; stored hashed).

    Raises:
        OperationError: 422 for a bad name, 409 if the agent exists.
    """
    check_name(name)
    if _find(conn, name) is not None:
        raise OperationError(
            409,
            f"agent {name} exists",
            "creating never changes an existing agent: change a role or re-enable an agent "
            "with its own operation",
        )
    record = p.AgentRecord(name=name, role=role, group=group)
    conn.execute(insert(AGENT).values(**convert.agent_row(record)))
    _touch(conn, name)
    token = _issue_token(conn, name, now)
    _audit(conn, now, actor, name, "created", f"role {role.value}, group {_group(group)}")
    return token


def rotate_token(conn: Connection, actor: str, name: str, now: datetime) -> str:
    """Give an existing agent a new token (the old one stops working); a revoked agent
    stays revoked.

    Raises:
        OperationError: 404 if there is no such agent.
    """
    if _find(conn, name) is None:
        raise OperationError(404, f"no agent named {name}")
    revoked = conn.execute(
        select(API_TOKEN.c.revoked).where(API_TOKEN.c.agent_name == name)
    ).scalar_one_or_none()
    token = _issue_token(conn, name, now, revoked=bool(revoked))
    _audit(conn, now, actor, name, "token rotated", "")
    return token


def revoke(conn: Connection, actor: str, name: str, now: datetime) -> bool:
    """Turn an agent's token off; False if there is no such agent."""
    if _find(conn, name) is None:
        return False
    conn.execute(update(API_TOKEN).where(API_TOKEN.c.agent_name == name).values(revoked=True))
    conn.execute(update(AGENT).where(AGENT.c.name == name).values(active=False))
    _touch(conn, name)
    _audit(conn, now, actor, name, "revoked", "")
    return True


def enable(conn: Connection, actor: str, name: str, now: datetime) -> str:
    """Turn a revoked agent back on with a new token (the revoked one stays dead: it
    may be why the agent was revoked).

    Raises:
        OperationError: 404 if there is no such agent, 409 if it is not revoked.
    """
    if _find(conn, name) is None:
        raise OperationError(404, f"no agent named {name}")
    revoked = conn.execute(
        select(API_TOKEN.c.revoked).where(API_TOKEN.c.agent_name == name)
    ).scalar_one_or_none()
    if revoked is not None and not revoked:
        raise OperationError(409, f"agent {name} is not revoked")
    token = _issue_token(conn, name, now)
    conn.execute(update(AGENT).where(AGENT.c.name == name).values(active=True))
    _touch(conn, name)
    _audit(conn, now, actor, name, "enabled", "with a new token")
    return token


class Keep(Enum):
    """Leave a value as it is, where None is itself a value (an agent without a group)."""

    KEEP = "keep"


def set_role(
    conn: Connection,
    actor: str,
    name: str,
    role: Role,
    now: datetime,
    group: Group | Keep | None = Keep.KEEP,
) -> p.AgentRecord:
    """Change an agent's role (and, if given, its group).

    Raises:
        OperationError: 404 if there is no such agent.
    """
    row = _find(conn, name)
    if row is None:
        raise OperationError(404, f"no agent named {name}")
    values: dict[str, Any] = {"role": role.value}
    if group is not Keep.KEEP:
        values["group"] = group.value if group is not None else None
    changes = [
        f"{key}: {row[key] or '-'} → {value or '-'}"
        for key, value in values.items()
        if row[key] != value
    ]
    if changes:
        conn.execute(update(AGENT).where(AGENT.c.name == name).values(**values))
        _touch(conn, name)
        _audit(conn, now, actor, name, "role changed", "; ".join(changes))
    found = _find(conn, name)
    assert found is not None  # updated in this transaction
    return convert.to_agent(found)


def note(
    conn: Connection,
    actor: str,
    name: str,
    now: datetime,
    capacity: int | None,
    weight: int | None,
) -> None:
    """Write a change to an agent's routing (capacity, weight) to the audit."""
    pairs = (("capacity", capacity), ("weight", weight))
    given = [f"{key} {value}" for key, value in pairs if value is not None]
    if given:
        _audit(conn, now, actor, name, "routing changed", ", ".join(given))


def audit(conn: Connection, name: str | None = None) -> list[AuditEntry]:
    """The audit, oldest first; of one agent if ``name`` is given."""
    stmt = select(AGENT_AUDIT).order_by(AGENT_AUDIT.c.seq)
    if name is not None:
        stmt = stmt.where(AGENT_AUDIT.c.agent_name == name)
    return [
        AuditEntry(r["at"], r["actor"], r["agent_name"], r["action"], r["detail"])
        for r in conn.execute(stmt).mappings()
    ]


def _find(conn: Connection, name: str) -> Any:
    return conn.execute(select(AGENT).where(AGENT.c.name == name)).mappings().first()


def hash_token(token: str) -> str:
    """SHA-256 of a token: tokens are 256 random bits, so no salt or stretching is needed."""
    return hashlib.sha256(token.encode()).hexdigest()


def _issue_token(conn: Connection, name: str, now: datetime, *, revoked: bool = False) -> str:
    token = secrets.token_urlsafe(32)
    convert.upsert(
        conn,
        API_TOKEN,
        [
            {
                "agent_name": name,
                "token_hash": hash_token(token),
                "revoked": revoked,
                "created_at": now,
            }
        ],
        ["agent_name"],
    )
    return token


def _touch(conn: Connection, name: str) -> None:
    touch(conn, "agent", name)


def _audit(
    conn: Connection, now: datetime, actor: str, name: str, action: str, detail: str
) -> None:
    conn.execute(
        insert(AGENT_AUDIT).values(
            at=now, actor=actor, agent_name=name, action=action, detail=detail
        )
    )


def _group(group: Group | None) -> str:
    return group.value if group is not None else "-"
