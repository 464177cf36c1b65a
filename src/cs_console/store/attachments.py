"""Attachments in the client store: the rows of a thread's photos and files, the copies
of files the agent sends (kept until the backend has them: the outbox owns them), and
files fetched to open."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from cs_console import protocol as p
from cs_console.store import convert
from cs_console.store.db import Database
from cs_console.store.models import ATTACHMENT
from cs_console.views import AttachmentRow

_A = ATTACHMENT.c
_COLUMNS = (
    _A.id,
    _A.message_id,
    _A.kind,
    _A.file_name,
    _A.content_type,
    _A.size,
    _A.url,
    _A.title,
    _A.price,
    _A.sku,
    _A.local_path,
)


def _row(r: Sequence[Any]) -> AttachmentRow:
    return AttachmentRow(
        attachment_id=str(r[0]),
        message_id=str(r[1]),
        kind=str(r[2]),
        file_name=str(r[3]),
        content_type=str(r[4]),
        size=int(r[5]),
        url=r[6],
        title=r[7],
        price=r[8],
        sku=r[9],
        local_path=r[10],
    )


def add_sent(conn: Connection, op: p.SendMessage, now: datetime) -> None:
    """The rows of the files a message sends (their copies are named by
    :func:`set_local_paths` in the same transaction)."""
    for ref in op.attachments:
        conn.execute(
            insert(ATTACHMENT).values(
                id=ref.id,
                message_id=op.id,
                kind=p.ATTACHMENT_TYPES.get(ref.content_type, p.AttachmentKind.FILE.value),
                file_name=ref.file_name,
                content_type=ref.content_type,
                size=ref.size,
                created_at=now,
            )
        )


def set_local_paths(conn: Connection, files: Mapping[str, str]) -> None:
    """Where the copies of attachments are on this machine (attachment id -> path)."""
    for attachment_id, path in files.items():
        conn.execute(update(ATTACHMENT).where(_A.id == attachment_id).values(local_path=path))


def remove_for_message(conn: Connection, message_id: str) -> list[str]:
    """Drop a message's attachments (an undone send); returns their local copies' paths,
    for the caller to delete once the transaction is over."""
    paths = [
        str(r[0])
        for r in conn.execute(
            select(_A.local_path).where(_A.message_id == message_id, _A.local_path.is_not(None))
        ).all()
    ]
    conn.execute(delete(ATTACHMENT).where(_A.message_id == message_id))
    return paths


def move_to_message(conn: Connection, old_id: str, new_id: str) -> None:
    """A sent message took the backend's id: its attachments follow it."""
    conn.execute(update(ATTACHMENT).where(_A.message_id == old_id).values(message_id=new_id))


def ingest(conn: Connection, messages: Iterable[p.MessageRecord]) -> None:
    """Store the attachments of pulled messages as the backend has them. A file of ours
    the backend keeps under another id (Chatwoot) is replaced by its copy; the local
    columns (our copy's path) of the others are kept."""
    listed = list(messages)
    rows = [
        convert.attachment_row(a, message.id, message.created_at)
        for message in listed
        for a in message.attachments
    ]
    # One statement a page, not one a message (a pull brings a thousand at a time):
    # attachment ids are unique, so "not among this page's" is "not among its own".
    conn.execute(
        delete(ATTACHMENT).where(
            _A.message_id.in_(bindparam("ids", expanding=True)),
            _A.id.not_in(bindparam("keep", expanding=True)),
        ),
        {"ids": [m.id for m in listed], "keep": [row["id"] for row in rows]},
    )
    convert.upsert(conn, ATTACHMENT, rows, ["id"], keep=["local_path", "sha256", "uploaded_by"])


def for_messages(
    conn: Connection, message_ids: Iterable[str]
) -> dict[str, tuple[AttachmentRow, ...]]:
    """The attachments of each message, in the order they came."""
    wanted = sorted(set(message_ids))
    if not wanted:
        return {}
    found: dict[str, list[AttachmentRow]] = {}
    rows = conn.execute(
        select(*_COLUMNS)
        .where(_A.message_id.in_(bindparam("ids", expanding=True)))
        .order_by(_A.created_at, _A.id),
        {"ids": wanted},
    ).all()
    for r in rows:
        found.setdefault(str(r[1]), []).append(_row(tuple(r)))
    return {message_id: tuple(items) for message_id, items in found.items()}


def find(db: Database, attachment_id: str) -> AttachmentRow | None:
    """One attachment, or None."""
    with db.read() as conn:
        r = conn.execute(select(*_COLUMNS).where(_A.id == attachment_id)).first()
    return None if r is None else _row(tuple(r))


def record_of(db: Database, attachment_id: str) -> p.AttachmentRecord | None:
    """One attachment as the protocol has it (what a backend is asked to fetch)."""
    with db.read() as conn:
        r = conn.execute(select(ATTACHMENT).where(_A.id == attachment_id)).mappings().first()
    return None if r is None else convert.to_attachment(r)


def set_cached(db: Database, attachment_id: str, path: str) -> None:
    """The file was fetched to ``path``: open it from there next time."""
    with db.write() as conn:
        set_local_paths(conn, {attachment_id: path})
