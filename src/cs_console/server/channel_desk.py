"""What the customer channels (``server/channels/``) may do on the server, each in its own
transaction: the widget's visitors and the mailbox's mails come in through the inbox,
the agents' email replies go out through the mail queue.

The channels never see a database connection: they call these methods, as the HTTP
layer calls :class:`~cs_console.server.state.ServerState`. ``state.channels`` is one.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, func, insert, select, update

from cs_console import protocol as p
from cs_console.domain import Group
from cs_console.server import attachments, inbox, mailqueue, routing
from cs_console.server import conversations as convs
from cs_console.server.attachments import AttachmentFolder, check_bytes
from cs_console.server.errors import OperationError
from cs_console.server.inbox import Contact, IncomingFile, SeenMessage
from cs_console.server.mailqueue import QueuedMail
from cs_console.server.tables import EMAIL_SOURCE, MAILBOX_STATE, WIDGET_VISITOR
from cs_console.store import convert
from cs_console.store.models import ATTACHMENT, CONVERSATION, CUSTOMER

__all__ = ["ChannelDesk", "Contact", "IncomingFile", "QueuedMail", "SeenMessage", "Visitor"]

#: A customer seen typing is told to the consoles at most this often.
TYPING_EVERY_S = 3.0


@dataclass(frozen=True)
class Visitor:
    """A browser that opened the widget."""

    id: str
    customer_id: str | None
    conversation_id: str | None
    language: str


class ChannelDesk:
    """The server's surface for the customer channels."""

    def __init__(
        self,
        *,
        write: Callable[[], AbstractContextManager[Connection]],
        read: Callable[[], AbstractContextManager[Connection]],
        folder: AttachmentFolder,
        clock: Callable[[], datetime],
    ) -> None:
        self._write = write
        self._read = read
        self._folder = folder
        self._clock = clock
        self._typing: dict[str, datetime] = {}

    # --- any channel ------------------------------------------------------------

    def open_conversation(
        self,
        channel: str,
        contact: Contact,
        *,
        subject: str | None = None,
        group: Group = Group.PRE_SALE,
    ) -> str:
        """A new conversation on ``channel`` for the customer ``contact`` is (found or
        added). Returns its id."""
        now = self._clock()
        with self._write() as conn:
            customer_id = inbox.find_or_add_customer(conn, contact, now)
            return inbox.open_conversation(
                conn, channel, customer_id, now, subject=subject, group=group
            )

    def customer_writes(
        self,
        conversation_id: str,
        body: str,
        files: Sequence[IncomingFile] = (),
        *,
        key: str | None = None,
    ) -> list[str]:
        """The customer writes in their conversation (with files on the last part). The
        same ``key`` again stores nothing and returns the first ids.

        Raises:
            OperationError: 404 no such conversation; 413/415/422 a file refused (then
                nothing is stored).
        """
        now = self._clock()
        with self._write() as conn:
            before = convs.find(conn, conversation_id)
            ids = inbox.customer_writes(
                conn, self._folder, conversation_id, body, tuple(files), now, key=key
            )
            routing.customer_returned(conn, before, now)
            routing.assign_pool(conn, now)
            return ids

    def customer_view(
        self, conversation_id: str, *, after: str | None = None, limit: int = 100
    ) -> list[SeenMessage]:
        """What the customer may read of their conversation after ``after``."""
        with self._read() as conn:
            return inbox.customer_view(conn, conversation_id, after=after, limit=limit)

    def customer_messages(self, conversation_id: str, ids: Sequence[str]) -> list[SeenMessage]:
        """The customer's view of the messages ``ids`` of their conversation."""
        with self._read() as conn:
            return inbox.customer_view(conn, conversation_id, limit=len(ids) or 1, only=ids)

    def agent_of(self, conversation_id: str) -> str | None:
        """Who holds the conversation (the widget names them to the customer); None
        when no one does, or there is no such conversation."""
        with self._read() as conn:
            row = conn.execute(
                select(CONVERSATION.c.assignee).where(CONVERSATION.c.id == conversation_id)
            ).first()
        return row[0] if row else None

    def customer_attachment(
        self, conversation_id: str, attachment_id: str
    ) -> tuple[p.AttachmentRecord, Path] | None:
        """A file of the conversation the customer may fetch, and where it is."""
        with self._read() as conn:
            row = inbox.customer_attachment(conn, conversation_id, attachment_id)
        if row is None or row["local_path"] is None:
            return None
        path = self._folder.file(str(row["local_path"]))
        return (convert.to_attachment(row), path) if path.is_file() else None

    def customer_typing(self, conversation_id: str) -> None:
        """The customer is typing; told to the consoles at most every few seconds."""
        now = self._clock()
        last = self._typing.get(conversation_id)
        if last is not None and (now - last).total_seconds() < TYPING_EVERY_S:
            return
        self._typing[conversation_id] = now
        if len(self._typing) > 10_000:  # forget the oldest: a bounded memory
            for key in sorted(self._typing, key=self._typing.__getitem__)[:5_000]:
                del self._typing[key]
        with self._write() as conn:
            inbox.customer_typing(conn, conversation_id, now)

    # --- the web widget's visitors ------------------------------------------------

    def new_visitor(self, language: str) -> Visitor:
        """A browser seen for the first time."""
        now = self._clock()
        visitor = Visitor(
            id="vis-" + secrets.token_hex(12),
            customer_id=None,
            conversation_id=None,
            language=language,
        )
        with self._write() as conn:
            conn.execute(
                insert(WIDGET_VISITOR).values(
                    id=visitor.id, language=language, created_at=now, seen_at=now
                )
            )
        return visitor

    def visitor(self, visitor_id: str) -> Visitor | None:
        """The visitor a session names, if known."""
        with self._read() as conn:
            row = (
                conn.execute(select(WIDGET_VISITOR).where(WIDGET_VISITOR.c.id == visitor_id))
                .mappings()
                .first()
            )
        if row is None:
            return None
        return Visitor(
            id=row["id"],
            customer_id=row["customer_id"],
            conversation_id=row["conversation_id"],
            language=row["language"],
        )

    def visitor_conversation(self, visitor: Visitor, contact: Contact) -> str:
        """The visitor's conversation, from its first message on. A visitor the shop
        vouched for (a signed identity) continues that customer's chat if one is still
        open, as a buyer who comes back on another device expects; anyone else gets a
        new conversation on the widget channel (the customer is ``contact``)."""
        if visitor.conversation_id is not None:
            return visitor.conversation_id
        now = self._clock()
        with self._write() as conn:
            row = conn.execute(
                select(WIDGET_VISITOR.c.conversation_id).where(WIDGET_VISITOR.c.id == visitor.id)
            ).first()
            if row is None:
                raise OperationError(404, "unknown visitor")
            if row[0] is not None:
                return str(row[0])
            customer_id = visitor.customer_id or inbox.find_or_add_customer(conn, contact, now)
            ongoing = (
                inbox.open_chat_of(conn, customer_id) if visitor.customer_id is not None else None
            )
            conversation_id = ongoing or inbox.open_conversation(conn, "web", customer_id, now)
            conn.execute(
                update(WIDGET_VISITOR)
                .where(WIDGET_VISITOR.c.id == visitor.id)
                .values(customer_id=customer_id, conversation_id=conversation_id, seen_at=now)
            )
            return conversation_id

    def identify_visitor(self, visitor: Visitor, contact: Contact) -> Visitor:
        """The shop vouched for who the visitor is: link them to that customer (and so to
        their orders). A conversation already open keeps its customer."""
        now = self._clock()
        with self._write() as conn:
            customer_id = inbox.find_or_add_customer(conn, contact, now)
            if visitor.conversation_id is None:
                conn.execute(
                    update(WIDGET_VISITOR)
                    .where(WIDGET_VISITOR.c.id == visitor.id)
                    .values(customer_id=customer_id, seen_at=now)
                )
                return Visitor(visitor.id, customer_id, None, visitor.language)
        return visitor

    # --- the mailbox ------------------------------------------------------------------

    def mail_known(self, mail_id: str) -> bool:
        """Whether a mail with this Message-ID was taken (or sent) before."""
        with self._read() as conn:
            return mailqueue.conversation_of(conn, [mail_id]) is not None

    def mail_arrived(
        self,
        *,
        mail_id: str,
        related: Sequence[str],
        subject_conversation: str | None,
        contact: Contact,
        subject: str,
        body: str,
        files: Sequence[IncomingFile],
        source: bytes,
    ) -> str | None:
        """A customer's mail: threaded into the conversation its In-Reply-To/References
        (``related``) or subject number names, else a new email conversation. Returns
        the conversation's id; None if this Message-ID was taken before (nothing stored).
        """
        now = self._clock()
        with self._write() as conn:
            if mailqueue.conversation_of(conn, [mail_id]) is not None:
                return None
            conversation_id = mailqueue.conversation_of(conn, list(related))
            if conversation_id is None and subject_conversation is not None:
                # A number in a subject is easy to type: it threads only a mail from
                # the conversation's own customer (a Message-ID is not guessable).
                found = conn.execute(
                    select(CONVERSATION.c.id)
                    .join(CUSTOMER, CUSTOMER.c.id == CONVERSATION.c.customer_id)
                    .where(
                        CONVERSATION.c.id == subject_conversation,
                        CONVERSATION.c.channel == "email",
                        func.lower(CUSTOMER.c.email) == (contact.email or "").strip().lower(),
                    )
                ).first()
                conversation_id = str(found[0]) if found else None
            if conversation_id is None:
                customer_id = inbox.find_or_add_customer(conn, contact, now)
                conversation_id = inbox.open_conversation(
                    conn, "email", customer_id, now, subject=subject or None
                )
            before = convs.find(conn, conversation_id)
            kept: list[IncomingFile] = []
            notes: list[str] = []
            for incoming in files:
                try:
                    check_bytes(incoming.data)
                    kept.append(incoming)
                except OperationError as exc:
                    notes.append(f"[{p.safe_file_name(incoming.file_name)}: {exc}]")
            text = "\n".join([body, *notes]).strip() if notes else body
            ids = inbox.customer_writes(
                conn, self._folder, conversation_id, text, tuple(kept), now, key=mail_id
            )
            mailqueue.remember(conn, mail_id, conversation_id, now, ids[0])
            conn.execute(insert(EMAIL_SOURCE).values(mail_id=mail_id, message=ids[0], raw=source))
            routing.customer_returned(conn, before, now)
            routing.assign_pool(conn, now)
            return conversation_id

    def mail_source(self, message_id: str) -> bytes | None:
        """The whole source of the mail that became ``message_id``."""
        with self._read() as conn:
            row = conn.execute(
                select(EMAIL_SOURCE.c.raw).where(EMAIL_SOURCE.c.message == message_id)
            ).first()
        return bytes(row[0]) if row else None

    def mailbox_position(self, mailbox: str) -> tuple[int, int] | None:
        """(UIDVALIDITY, last UID taken) of a mailbox folder, None before its first read."""
        with self._read() as conn:
            row = conn.execute(
                select(MAILBOX_STATE.c.uidvalidity, MAILBOX_STATE.c.last_uid).where(
                    MAILBOX_STATE.c.mailbox == mailbox
                )
            ).first()
        return (int(row[0]), int(row[1])) if row else None

    def set_mailbox_position(self, mailbox: str, uidvalidity: int, last_uid: int) -> None:
        """Record how far a mailbox folder has been read."""
        with self._write() as conn:
            done = conn.execute(
                update(MAILBOX_STATE)
                .where(MAILBOX_STATE.c.mailbox == mailbox)
                .values(uidvalidity=uidvalidity, last_uid=last_uid)
            )
            if not done.rowcount:
                conn.execute(
                    insert(MAILBOX_STATE).values(
                        mailbox=mailbox, uidvalidity=uidvalidity, last_uid=last_uid
                    )
                )

    # --- the mail queue -----------------------------------------------------------

    def reply_files(self, message_id: str) -> list[tuple[str, str, bytes]]:
        """The files an agent attached to a reply: (name, content type, bytes) each, in
        the order they were added; a file gone from the folder is left out (logged by
        nobody: the reply still goes, with what there is)."""
        with self._read() as conn:
            found = attachments.for_messages(conn, [message_id]).get(message_id, [])
            paths = {
                str(row[0]): row[1]
                for row in conn.execute(
                    select(ATTACHMENT.c.id, ATTACHMENT.c.local_path).where(
                        ATTACHMENT.c.message_id == message_id
                    )
                )
            }
        files = []
        for record in found:
            local = paths.get(record.id)
            path = self._folder.file(str(local)) if local else None
            if path is not None and path.is_file():
                files.append((record.file_name, record.content_type, path.read_bytes()))
        return files

    def mail_due(self) -> list[QueuedMail]:
        """Replies whose next attempt is due."""
        with self._read() as conn:
            return mailqueue.due(conn, self._clock())

    def mail_begin(self, message_id: str) -> bool:
        """Take a reply to send (False: another sender has it)."""
        with self._write() as conn:
            return mailqueue.begin_attempt(conn, message_id)

    def mail_dot(self, message_id: str) -> None:
        """The final dot of a reply's data is about to go out."""
        with self._write() as conn:
            mailqueue.mark_dot(conn, message_id)

    def mail_done(self, message_id: str, state: str, error: str = "") -> None:
        """``sent``, ``unconfirmed`` or ``failed``. The last two are told in the
        conversation as an event line (agents see it, the customer never does), so the
        agent knows the customer may not have the answer."""
        now = self._clock()
        with self._write() as conn:
            mailqueue.finish(conn, message_id, state, now, error)
            if state not in ("failed", "unconfirmed"):
                return
            conversation_id = mailqueue.conversation_of_reply(conn, message_id)
            if conversation_id is None:
                return
            said = (
                "The email with this reply could not be sent"
                if state == "failed"
                else "The email with this reply may not have gone out (no answer from the "
                "mail server after sending it); it is not sent again"
            )
            convs.insert_event(
                conn,
                f"msg-mail-{state}-{message_id[4:]}",
                conversation_id,
                "mail",
                f"{said}: {error}" if error else said,
                now,
            )

    def mail_retry(self, message_id: str, delay_s: float, error: str) -> None:
        """The attempt failed before the data ended: try again after ``delay_s``."""
        with self._write() as conn:
            mailqueue.retry_later(conn, message_id, self._clock(), delay_s, error)

    def mail_state(self, message_id: str) -> str | None:
        """A reply's queue state (None: never queued, e.g. a note or a chat reply)."""
        with self._read() as conn:
            return mailqueue.state_of(conn, message_id)

    def mail_recover(self) -> int:
        """After a crash: see :func:`mailqueue.recover_interrupted`."""
        with self._write() as conn:
            return mailqueue.recover_interrupted(conn)

    def clock(self) -> datetime:
        """The server's now."""
        return self._clock()
