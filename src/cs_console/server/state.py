"""The reference server's one entry point: :class:`ServerState`, everything the HTTP
layer, the demo and the command line need, over one database.

Each method opens the transaction it needs and hands the work to the module that owns
it; read those to learn the rules:

* ``db.py``: the engine, the schema (tables in ``tables.py``), serialised writes;
* ``agents.py``: tokens and agent accounts, with their audit;
* ``feed.py``: the change feed, written by every write and read by clients;
* ``operations.py``: the operations agents push, once per idempotency key, with
  ``cases.py`` for cases and ``money.py`` for the money rules;
* ``conversations.py``: conversation writes, a customer writing, snoozes waking;
* ``loading.py``: records loaded in bulk and the published quick-reply library;
* ``routing.py``: agents' presence, automatic assignment, the automatic "urgent";
* ``limits.py``: the protocol's size limits, held by everything above.

Snoozed conversations wake lazily: every change-feed read and every operation first
wakes those whose time has come, so no one can see a conversation still snoozed after
its time, and no timer thread needs managing. Routing's clocks (silent agents turning
offline, the grace period, deadlines drawing near) are checked the same way, at most
every :data:`SWEEP_EVERY_S` seconds; and every write that can change who should hold a
conversation (a customer writing, an operation, a load) assigns the pool in its own
transaction.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, func, select

from cs_console import protocol as p
from cs_console.domain import DEFAULT_AUTHORITY_LIMIT_MINOR, Group, Role
from cs_console.server import agents, attachments, feed, loading, operations, routing
from cs_console.server import conversations as convs
from cs_console.server.agents import LOCAL_ADMIN, AuditEntry, Caller, Keep
from cs_console.server.attachments import AttachmentFolder
from cs_console.server.bell import FeedBell
from cs_console.server.channel_desk import ChannelDesk
from cs_console.server.db import ServerDatabase
from cs_console.server.errors import OperationError
from cs_console.server.feed import ENTITIES, FeedError
from cs_console.server.inbox import IncomingFile
from cs_console.server.loading import PublishReport
from cs_console.server.routing import RoutingRules
from cs_console.store import convert
from cs_console.store.models import AGENT, CONVERSATION, CUSTOMER, MESSAGE
from cs_console.timeutil import utcnow

# Callers name these by this module, where the server's surface is.
__all__ = ["Caller", "FeedError", "PublishReport", "RoutingRules", "ServerState"]

#: Routing's clocks are checked at most this often (seconds of the server's clock).
SWEEP_EVERY_S = 5.0
#: An agent's "last heard from" is written at most this often: every poll would
#: otherwise be a write. Far below ``RoutingRules.stale_after_s``.
SEEN_EVERY_S = 30.0


class ServerState:
    """Everything the HTTP layer needs, over one database.

    Args:
        url: The database's SQLAlchemy URL.
        authority_limit_minor: What an agent may refund or grant without a supervisor.
        rules: Presence and routing settings.
        clock: The server's "now" for routing (tests move it on).
        attachments_dir: Where attached files are kept; by default beside an SQLite
            database file (``server.db-attachments``), else a temporary folder.
    """

    def __init__(
        self,
        url: str,
        *,
        authority_limit_minor: int = DEFAULT_AUTHORITY_LIMIT_MINOR,
        rules: RoutingRules | None = None,
        clock: Callable[[], datetime] = utcnow,
        attachments_dir: Path | None = None,
        mail_domain: str | None = "cs-console.localhost",
    ) -> None:
        self.authority_limit_minor = authority_limit_minor
        self.rules = rules or RoutingRules()
        self.clock = clock
        self._db = ServerDatabase(url)
        self.engine: Engine = self._db.engine
        self.server_id: str = self._db.server_id
        self._sweep_lock = threading.Lock()
        self._last_sweep: datetime | None = None
        self._seen: dict[str, datetime] = {}
        self.attachments = AttachmentFolder(attachments_dir or attachments.folder_beside(url))
        #: Rung after every committed write: long-polls (agents' and the widget's) wait on it.
        self.bell = FeedBell()
        #: The domain of the Message-IDs of email replies (the shop's address's); None
        #: when the server has no mailbox (a reply in an email conversation says so).
        self.mail_domain = mail_domain
        #: What the customer channels may do (the widget, the mailbox).
        self.channels = ChannelDesk(
            write=self.write, read=self.read, folder=self.attachments, clock=self.clock
        )

    def close(self) -> None:
        """Release the database (and a temporary attachments folder)."""
        self._db.close()
        self.attachments.close()

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A serialised write transaction; the bell rings once it is committed."""
        with self._db.write() as conn:
            yield conn
        self.bell.ring()

    def read(self) -> AbstractContextManager[Connection]:
        """A read transaction."""
        return self._db.read()

    # --- agents and tokens ------------------------------------------------------

    def add_agent(self, name: str, role: Role, group: str | None, *, by: str = LOCAL_ADMIN) -> str:
        """Create an agent and return its token, once (stored hashed).

        Raises:
            OperationError: 422 for a bad name (blank, control characters, ...), 409 if
                the agent exists: use :meth:`rotate_token`, :meth:`set_agent_role` or
                :meth:`enable_agent` to change one.
        """
        try:
            checked = Group(group) if group is not None else None
        except ValueError:
            raise OperationError(422, f"no group {group!r}: pre-sale or after-sale") from None
        with self.write() as conn:
            return agents.create(conn, by, name, role, checked, utcnow())

    def rotate_token(self, name: str, *, by: str = LOCAL_ADMIN) -> str:
        """A new token for an existing agent (the old one stops working).

        Raises:
            OperationError: 404 if there is no such agent.
        """
        with self.write() as conn:
            return agents.rotate_token(conn, by, name, utcnow())

    def revoke_agent(self, name: str, *, by: str = LOCAL_ADMIN) -> bool:
        """Revoke an agent's token; False if there is no such agent."""
        with self.write() as conn:
            return agents.revoke(conn, by, name, utcnow())

    def enable_agent(self, name: str, *, by: str = LOCAL_ADMIN) -> str:
        """Turn a revoked agent back on, with a new token returned once.

        Raises:
            OperationError: 404 if there is no such agent, 409 if it is not revoked.
        """
        with self.write() as conn:
            return agents.enable(conn, by, name, utcnow())

    def set_agent_role(
        self,
        name: str,
        role: Role,
        *,
        group: Group | Keep | None = Keep.KEEP,
        by: str = LOCAL_ADMIN,
    ) -> p.AgentRecord:
        """Change an agent's role (and its group, unless ``group`` is ``Keep.KEEP``).

        Raises:
            OperationError: 404 if there is no such agent.
        """
        with self.write() as conn:
            return agents.set_role(conn, by, name, role, utcnow(), group)

    def agent_audit(self, name: str | None = None) -> list[AuditEntry]:
        """Changes to agent accounts, oldest first (of one agent if ``name`` is given)."""
        with self.read() as conn:
            return agents.audit(conn, name)

    def list_agents(self) -> list[tuple[p.AgentRecord, bool]]:
        """Every agent with whether its token is revoked."""
        with self.read() as conn:
            return agents.listing(conn)

    def authenticate(self, token: str) -> Caller | None:
        """The agent a token belongs to, or None (unknown or revoked)."""
        with self.read() as conn:
            return agents.authenticate(conn, token)

    def me(self, caller: Caller) -> p.Me:
        """The caller's own record."""
        with self.read() as conn:
            row = conn.execute(select(AGENT).where(AGENT.c.name == caller.name)).mappings().one()
        return p.Me(
            server_id=self.server_id, agent=convert.to_agent(row), protocol=p.PROTOCOL_VERSION
        )

    # --- the change feed and operations -------------------------------------------

    def changes(self, since: int, limit: int) -> p.ChangePage:
        """Changes after ``since``; parents of every child are included so that each
        page can be applied on its own (foreign keys hold on the client).

        Snoozed conversations whose time has come wake first, so the page carries them.

        Raises:
            FeedError: a row in the page breaks the protocol beyond what cutting mends.
        """
        self.sweep()
        # The check for due snoozes shares the page's read: an idle poll costs no more.
        with self.read() as conn:
            if not convs.snoozes_due(conn, utcnow()):
                return feed.page(conn, self.server_id, since, limit)
        self.wake_snoozed()
        with self.read() as conn:
            return feed.page(conn, self.server_id, since, limit)

    def apply(self, caller: Caller, key: str, operation: p.Operation) -> p.OperationResult:
        """Apply ``operation`` once per ``key``: a repeat gets the first answer; the same
        key with a different operation is refused (422)."""
        self.wake_snoozed()
        self.sweep()
        now = self.clock()
        with self.write() as conn:
            result = operations.apply_once(
                conn,
                caller,
                key,
                operation,
                self.authority_limit_minor,
                now=now,
                mail_domain=self.mail_domain,
            )
            routing.heard_from(conn, caller.name, now)
            self._seen[caller.name] = now
            routing.assign_pool(conn, now)
            return result

    # --- attachments ------------------------------------------------------------------

    def upload_attachment(
        self, caller: Caller, attachment_id: str, file_name: str, data: bytes
    ) -> p.AttachmentRecord:
        """Keep a file ``caller`` is about to send; the same bytes under the same id
        again get the same answer (the upload is safe to retry).

        Raises:
            OperationError: 413 too large, 415 a type not taken, 409 the id holds
                another file, 422 an empty file or a bad id.
        """
        with self.write() as conn:
            return attachments.store_file(
                conn,
                self.attachments,
                attachment_id,
                file_name,
                data,
                utcnow(),
                uploaded_by=caller.name,
            )

    def attachment_file(
        self, caller: Caller, attachment_id: str
    ) -> tuple[p.AttachmentRecord, Path] | None:
        """The attachment and its file, if ``caller`` may fetch it (None: 404)."""
        with self.read() as conn:
            row = attachments.visible(conn, attachment_id, caller.name)
        if row is None:
            return None
        path = self.attachments.file(str(row["local_path"]))
        return (convert.to_attachment(row), path) if path.is_file() else None

    def add_customer_attachment(
        self, conversation_id: str, file_name: str, data: bytes, *, body: str = ""
    ) -> str:
        """A customer sends a file (with ``body`` as its caption): a customer message
        carrying it. Returns the message's id.

        Raises:
            OperationError: 404 no such conversation, or what the upload refuses.
        """
        # One transaction: a refused file stores no message either.
        return self.channels.customer_writes(
            conversation_id, body, [IncomingFile(file_name, data)]
        )[-1]

    def attach_to_message(self, message_id: str, file_name: str, data: bytes) -> p.AttachmentRecord:
        """Add a file to a stored message (the demo's customer photos); the message
        goes back into the change feed, carrying it."""
        with self.write() as conn:
            return attachments.store_file(
                conn,
                self.attachments,
                # Time first: a message's files keep the order they were added in.
                f"att-{time.time_ns():016x}{uuid.uuid4().hex[:8]}",
                file_name,
                data,
                self.clock(),
                uploaded_by=None,
                message_id=message_id,
            )

    # --- presence and routing ---------------------------------------------------------

    def heard_from(self, caller: Caller) -> None:
        """``caller``'s console is there (it synced): keeps them present, written at most
        every :data:`SEEN_EVERY_S` seconds."""
        now = self.clock()
        last = self._seen.get(caller.name)
        if last is not None and (now - last).total_seconds() < SEEN_EVERY_S:
            return
        self._seen[caller.name] = now
        with self.write() as conn:
            if routing.heard_from(conn, caller.name, now):
                routing.assign_pool(conn, now)

    def sweep(self, *, force: bool = False) -> None:
        """Run routing's clocks: silent agents turn offline, the grace period ends,
        deadlines draw near; then assign the pool. At most every :data:`SWEEP_EVERY_S`
        seconds unless ``force``."""
        now = self.clock()
        with self._sweep_lock:
            last = self._last_sweep
            if not force and last is not None and (now - last).total_seconds() < SWEEP_EVERY_S:
                return
            self._last_sweep = now
        with self.write() as conn:
            routing.expire(conn, now, self.rules)
            routing.refresh_urgency(conn, now, self.rules)
            routing.assign_pool(conn, now)

    def set_agent_capacity(
        self, name: str, *, capacity: int | None = None, weight: int | None = None
    ) -> tuple[int, int]:
        """A supervisor's change to an agent's capacity and routing weight (either may be
        None: kept); returns both as they now are, and assigns the pool.

        Raises:
            OperationError: 404 if there is no such agent, 422 for a value out of range.
        """
        now = self.clock()
        with self.write() as conn:
            found = routing.set_capacity(conn, name, capacity, weight)
            agents.note(conn, LOCAL_ADMIN, name, now, capacity, weight)
            routing.assign_pool(conn, now)
            return found

    def wake_snoozed(self) -> int:
        """Return every snoozed conversation whose time has come to the open queue, with
        its waiting clock as it was (so a customer who was waiting is back near the top)
        and a change-feed entry that tells every console. Returns how many woke.

        Called before every change-feed read and every operation; costs one indexed
        read when nothing is due.
        """
        with self.read() as conn:
            if not convs.snoozes_due(conn, utcnow()):
                return 0
        now = utcnow()
        with self.write() as conn:
            return convs.wake_due(conn, now)

    # --- used by the demo loader, the simulator and the command line ----------------

    def add_customer_message(self, conversation_id: str, body: str) -> list[str]:
        """A customer writes: the conversation reopens and its waiting clock starts.

        The text is held to the protocol's limits like everything else that enters the
        server: sanitised, and a message over ``MAX_BODY_CHARS`` arrives as numbered
        parts, "(1/2) ...", "(2/2) ...". Returns the ids of the messages stored.
        (The channels' own door, ``channels.customer_writes``, with no file and no key.)
        """
        return self.channels.customer_writes(conversation_id, body)

    def load_records(self, records: dict[str, list[p.Record]]) -> None:
        """Insert records (entity name -> list) and register them in the change feed.

        Each record is checked again against the protocol's limits; text past them is
        cut with a visible mark.

        Raises:
            ValueError: a record breaks a rule other than a length.
        """
        now = self.clock()
        with self.write() as conn:
            loading.load_records(conn, records)
            routing.refresh_urgency(conn, now, self.rules)
            routing.assign_pool(conn, now)

    def publish_replies(self, records: Sequence[p.ReplyRecord]) -> PublishReport:
        """Make ``records`` the shop's whole published library, in one transaction.

        New and changed replies get ``updated_at`` = now and enter the change feed; a
        published reply missing from ``records`` becomes a tombstone (``deleted``),
        which the feed carries to every client; unchanged replies are left alone, so
        publishing the same library twice moves nothing. Text past the protocol's
        limits is cut with a visible mark.
        """
        now = utcnow()
        with self.write() as conn:
            return loading.publish_replies(conn, records, now)

    def conversation_languages(self) -> list[tuple[str, str]]:
        """(conversation id, customer language) for every conversation."""
        with self.read() as conn:
            rows = conn.execute(
                select(CONVERSATION.c.id, CUSTOMER.c.language)
                .select_from(
                    CONVERSATION.join(CUSTOMER, CUSTOMER.c.id == CONVERSATION.c.customer_id)
                )
                .order_by(CONVERSATION.c.id)
            ).all()
        return [(str(r[0]), str(r[1])) for r in rows]

    def chat_customers(self) -> list[tuple[str, str | None, str | None, str]]:
        """(name, email, phone, language) of each customer with a chat (not an email
        conversation), by id: the demo's simulator writes as some of them."""
        with self.read() as conn:
            rows = conn.execute(
                select(CUSTOMER.c.name, CUSTOMER.c.email, CUSTOMER.c.phone, CUSTOMER.c.language)
                .where(
                    CUSTOMER.c.id.in_(
                        select(CONVERSATION.c.customer_id).where(CONVERSATION.c.channel != "email")
                    )
                )
                .order_by(CUSTOMER.c.id)
            ).all()
        return [(str(r[0]), r[1], r[2], str(r[3])) for r in rows]

    def count(self, entity: str) -> int:
        """How many rows of ``entity`` the server holds."""
        table = ENTITIES[entity][0]
        with self.read() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())

    def messages_with_body(self, body: str) -> int:
        """How many messages carry exactly ``body`` (tests use it to prove exactly-once)."""
        with self.read() as conn:
            stmt = select(func.count()).select_from(MESSAGE).where(MESSAGE.c.body == body)
            return int(conn.execute(stmt).scalar_one())
