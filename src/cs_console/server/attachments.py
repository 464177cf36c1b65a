"""Attachments on the reference server: the files agents upload and customers' photos.

The bytes are kept in a folder beside the database, one file per attachment id (ids
are checked narrow words, never a name a sender chose); what a file is (its sanitised
name, the type found from its first bytes, its size, who sent it, its hash) is a row
of the shared ``attachment`` table.

An agent's file comes in two steps, each safe to repeat: the upload (``PUT
/api/v1/attachments/{id}``: the same bytes again get the first answer, other bytes
under the same id are refused), then the ``send_message`` operation that names it,
which links it to its message once (the operation's idempotency key covers that).

Going out, agents' and customers' downloads alike are one answer
(:func:`file_response`).
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, bindparam, insert, select, update
from starlette.responses import Response

from cs_console import protocol as p
from cs_console.paths import write_whole
from cs_console.server.errors import OperationError
from cs_console.server.feed import touch
from cs_console.store.convert import to_attachment
from cs_console.store.models import ATTACHMENT, MESSAGE

_A = ATTACHMENT.c

#: What the agent is told when a file is of a type the server does not take.
ACCEPTED = "JPEG, PNG, GIF or WebP images, PDF or plain text"


def url_for(attachment_id: str) -> str:
    """Where an agent's token fetches the attachment, relative to ``/api/v1``."""
    return f"/attachments/{attachment_id}"


class AttachmentFolder:
    """Where the bytes are: ``folder`` if given, else a private temporary folder (an
    in-memory database has no place beside it), removed by :meth:`close`."""

    def __init__(self, folder: Path | None) -> None:
        self._temporary = folder is None
        self.path = (
            Path(tempfile.mkdtemp(prefix="cs-console-attachments-")) if folder is None else folder
        )
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)

    def file(self, stored: str) -> Path:
        """The file of a stored name (an attachment id: no separators, no ``..``)."""
        name = Path(stored).name
        if name in ("", ".", "..") or name != stored:
            raise ValueError(f"not a stored attachment name: {stored!r}")
        return self.path / name

    def write(self, stored: str, data: bytes) -> None:
        """Write the file whole or not at all (a crash leaves no half file)."""
        write_whole(self.file(stored), data)

    def close(self) -> None:
        """Remove a temporary folder; a real one stays."""
        if self._temporary:
            shutil.rmtree(self.path, ignore_errors=True)


def folder_beside(url: str) -> Path | None:
    """The attachments folder beside an SQLite database file (``server.db`` ->
    ``server.db-attachments``, like its -wal and -shm); None for other databases."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        return None
    database = url[len(prefix) :].partition("?")[0]
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    path = Path(database)
    return path.with_name(path.name + "-attachments")


def check_bytes(data: bytes) -> str:
    """The content type of ``data``, found from its first bytes.

    Raises:
        OperationError: 422 for an empty file, 413 above the size limit, 415 for a
            type the server does not take.
    """
    if not data:
        raise OperationError(422, "the file is empty")
    if len(data) > p.MAX_ATTACHMENT_BYTES:
        limit = p.MAX_ATTACHMENT_BYTES // (1024 * 1024)
        raise OperationError(413, f"the file is larger than {limit} MB")
    found = p.sniff_type(data)
    if found is None:
        raise OperationError(415, f"this type of file is not accepted: {ACCEPTED} only")
    return found


def store_file(
    conn: Connection,
    folder: AttachmentFolder,
    attachment_id: str,
    file_name: str,
    data: bytes,
    now: datetime,
    *,
    uploaded_by: str | None,
    message_id: str | None = None,
) -> p.AttachmentRecord:
    """Keep ``data`` as attachment ``attachment_id``; the same bytes from the same sender
    again get the first answer.

    Raises:
        OperationError: 422 for a bad id, 409 when the id holds another file (or
            another sender's), and what :func:`check_bytes` refuses.
    """
    try:
        p.AttachmentRef(id=attachment_id, file_name="x", content_type="text/plain", size=0)
    except ValueError:
        raise OperationError(422, "an attachment id is 1-64 letters, digits, _ . : -") from None
    content_type = check_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    found = conn.execute(select(ATTACHMENT).where(_A.id == attachment_id)).mappings().first()
    if found is not None:
        if found["sha256"] == digest and found["uploaded_by"] == uploaded_by:
            return to_attachment(found)
        raise OperationError(409, f"attachment id {attachment_id} is taken")
    folder.write(attachment_id, data)
    name = p.safe_file_name(file_name)
    conn.execute(
        insert(ATTACHMENT).values(
            id=attachment_id,
            message_id=message_id,
            kind=p.ATTACHMENT_TYPES[content_type],
            file_name=name,
            content_type=content_type,
            size=len(data),
            url=url_for(attachment_id),
            uploaded_by=uploaded_by,
            sha256=digest,
            local_path=attachment_id,
            created_at=now,
        )
    )
    if message_id is not None:
        touch(conn, "message", message_id)
    row = conn.execute(select(ATTACHMENT).where(_A.id == attachment_id)).mappings().one()
    return to_attachment(row)


def link(conn: Connection, uploader: str, message_id: str, refs: Iterable[p.AttachmentRef]) -> None:
    """Give the files ``uploader`` uploaded to their message.

    Raises:
        OperationError: 422 when a file was not uploaded (by this agent) or already
            belongs to another message.
    """
    for ref in refs:
        row = conn.execute(select(_A.uploaded_by, _A.message_id).where(_A.id == ref.id)).first()
        if row is None or row[0] != uploader:
            raise OperationError(422, f"the file {ref.file_name} was not uploaded first")
        if row[1] not in (None, message_id):
            raise OperationError(409, f"the file {ref.file_name} belongs to another message")
        conn.execute(update(ATTACHMENT).where(_A.id == ref.id).values(message_id=message_id))


def for_messages(
    conn: Connection, message_ids: Iterable[str]
) -> dict[str, list[p.AttachmentRecord]]:
    """The attachments of each message, oldest first."""
    wanted = sorted(set(message_ids))
    out: dict[str, list[p.AttachmentRecord]] = {}
    if not wanted:
        return out
    rows = conn.execute(
        select(ATTACHMENT)
        .where(_A.message_id.in_(bindparam("ids", expanding=True)))
        .order_by(_A.created_at, _A.id),
        {"ids": wanted},
    ).mappings()
    for row in rows:
        out.setdefault(str(row["message_id"]), []).append(to_attachment(row))
    return out


def visible(conn: Connection, attachment_id: str, agent: str) -> Any | None:
    """The attachment's row if ``agent`` may fetch it: any agent once it belongs to a
    message, only its sender before; None otherwise (a 404: nothing is told)."""
    row = conn.execute(select(ATTACHMENT).where(_A.id == attachment_id)).mappings().first()
    if row is None or row["local_path"] is None:
        return None
    if row["message_id"] is None and row["uploaded_by"] != agent:
        return None
    if row["message_id"] is not None:
        exists = conn.execute(select(MESSAGE.c.id).where(MESSAGE.c.id == row["message_id"])).first()
        if exists is None:
            return None
    return row


def content_disposition(file_name: str) -> str:
    """``attachment`` with the sanitised name, as RFC 6266 has it: an ASCII fallback
    and the UTF-8 name percent-encoded (``filename*``), no quote or separator left."""
    safe = p.safe_file_name(file_name)
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\%;' else "_" for c in safe
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(safe, safe='')}"


def file_response(record: p.AttachmentRecord, data: bytes) -> Response:
    """An attachment's bytes as an answer (the agents' API and the widget's alike): a
    download under its sanitised name, never shown by a browser as a page whatever the
    bytes claim to be, and never cached."""
    return Response(
        data,
        media_type=record.content_type,
        headers={
            "Content-Disposition": content_disposition(record.file_name),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )
