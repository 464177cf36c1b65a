"""SQLModel tables: the shared entity tables (both the client store and the reference
server keep them), then the client's own. The server's own tables are in
``server/tables.py``.

Times go through :class:`UTCDateTime`: SQLAlchemy's own ``DateTime(timezone=True)``
silently drops an offset on SQLite, a nine-hour error for a ``+09:00`` time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, Integer, String, Table, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from cs_console.timeutil import format_stored, parse_stored


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime kept as fixed-width UTC text, so text order is time order."""

    impl = String(27)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> str | None:
        """Refuse naive times; store UTC text."""
        return None if value is None else format_stored(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Read UTC text back as an aware datetime."""
        return None if value is None else parse_stored(str(value))


def _time(*, index: bool = False, nullable: bool = False) -> Any:
    return Field(sa_type=UTCDateTime, index=index, nullable=nullable)


def _opt_time() -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=True)


# --- shared entities -------------------------------------------------------------


class Agent(SQLModel, table=True):
    """An agent account as everyone may see it."""

    __tablename__ = "agent"
    name: str = Field(primary_key=True)
    role: str
    group: str | None = None
    active: bool = True
    presence: str = "offline"
    presence_since: datetime | None = _opt_time()
    capacity: int = 5
    weight: int = 1


class Customer(SQLModel, table=True):
    """A shop's customer."""

    __tablename__ = "customer"
    id: str = Field(primary_key=True)
    name: str
    email: str | None = Field(default=None, index=True)
    phone: str | None = None
    language: str = "en"
    notes: str = Field(default="", sa_type=Text)
    updated_at: datetime = _time()
    tags_json: str = Field(default="[]", sa_type=Text)


class Conversation(SQLModel, table=True):
    """A chat with one customer.

    ``queue_rank`` is derived on every write so one index serves the queue's order:
    waiting customers first, longest wait first, then the most recent activity.
    """

    __tablename__ = "conversation"
    __table_args__ = (
        Index("ix_conversation_queue", "status", "queue_rank"),
        Index("ix_conversation_queue_group", "status", "group", "queue_rank"),
        Index("ix_conversation_queue_assignee", "status", "assignee", "queue_rank"),
        Index("ix_conversation_queue_priority", "status", "priority", "queue_rank"),
    )
    id: str = Field(primary_key=True)
    customer_id: str = Field(foreign_key="customer.id", index=True)
    channel: str = "web"
    group: str
    status: str
    assignee: str | None = None
    snoozed_until: datetime | None = _opt_time()
    waiting_since: datetime | None = _opt_time()
    last_activity_at: datetime = _time()
    unread_count: int = 0
    snippet: str = ""
    queue_rank: str = ""
    updated_at: datetime = _time()
    priority: str = "normal"
    tags_json: str = Field(default="[]", sa_type=Text)
    subject: str | None = None
    customer_typing_at: datetime | None = _opt_time()


class Message(SQLModel, table=True):
    """A message. ``seq`` counts arrivals in this database, ``id`` is global."""

    __tablename__ = "message"
    __table_args__ = (Index("ix_message_thread", "conversation_id", "created_at", "seq"),)
    seq: int | None = Field(
        default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True)
    )
    id: str = Field(sa_column=Column(String, unique=True, nullable=False))
    conversation_id: str = Field(foreign_key="conversation.id")
    kind: str
    author: str
    body: str = Field(sa_type=Text)
    created_at: datetime = _time()
    delivery: str = "sent"


class Attachment(SQLModel, table=True):
    """A photo, file or product card of a message (``protocol.AttachmentRecord``).

    ``message_id`` is empty on the server while an agent's upload waits for its
    message. ``local_path``: where the bytes are on this machine (the client's copy
    of a file it sends or fetched; the server's stored file, relative to its folder);
    ``sha256`` is the server's, to answer a repeated upload.
    """

    __tablename__ = "attachment"
    id: str = Field(primary_key=True)
    message_id: str | None = Field(default=None, index=True)
    kind: str
    file_name: str
    content_type: str
    size: int = 0
    url: str | None = None
    title: str | None = None
    price: str | None = None
    sku: str | None = None
    uploaded_by: str | None = None
    sha256: str | None = None
    local_path: str | None = None
    created_at: datetime = _time()


class Order(SQLModel, table=True):
    """An order; ``items_json`` holds the lines, money is in minor units."""

    __tablename__ = "orders"
    id: str = Field(primary_key=True)
    number: str = Field(index=True)
    customer_id: str = Field(foreign_key="customer.id", index=True)
    status: str
    items_json: str = Field(default="[]", sa_type=Text)
    total_minor: int = 0
    currency: str = "CNY"
    carrier: str | None = None
    tracking_number: str | None = None
    shipping_address: str = Field(default="", sa_type=Text)
    placed_at: datetime = _time()
    paid_at: datetime | None = _opt_time()
    group_formed_at: datetime | None = _opt_time()
    shipped_at: datetime | None = _opt_time()
    delivered_at: datetime | None = _opt_time()
    updated_at: datetime = _time()


class OrderEvent(SQLModel, table=True):
    """One step of an order's timeline."""

    __tablename__ = "order_event"
    __table_args__ = (Index("ix_order_event_order", "order_id", "at"),)
    id: str = Field(primary_key=True)
    order_id: str = Field(foreign_key="orders.id")
    kind: str
    at: datetime = _time()
    detail: str = Field(default="", sa_type=Text)


class OrderRemark(SQLModel, table=True):
    """A flagged remark on an order."""

    __tablename__ = "order_remark"
    __table_args__ = (Index("ix_order_remark_order", "order_id", "created_at"),)
    id: str = Field(primary_key=True)
    order_id: str = Field(foreign_key="orders.id")
    flag: str
    text: str = Field(sa_type=Text)
    author: str
    created_at: datetime = _time()
    delivery: str = "sent"


class Case(SQLModel, table=True):
    """An after-sales case. References are plain ids: an order may live in another
    system than the conversation (split sources), so no foreign keys here."""

    __tablename__ = "case_record"
    __table_args__ = (
        Index("ix_case_status", "status", "updated_at"),
        Index("ix_case_follow_up", "follow_up_on"),
        Index("ix_case_conversation", "conversation_id"),
    )
    id: str = Field(primary_key=True)
    conversation_id: str | None = None
    customer_id: str | None = None
    order_id: str | None = None
    category: str
    responsible: str | None = None
    resolution: str | None = None
    status: str
    refund_minor: int = 0
    compensation_minor: int = 0
    postage_lost_minor: int = 0
    currency: str = "CNY"
    follow_up_on: str | None = None  # ISO date: a calendar day, not an instant
    evidence_json: str = Field(default="[]", sa_type=Text)
    notes: str = Field(default="", sa_type=Text)
    created_by: str
    approved_by: str | None = None
    created_at: datetime = _time()
    updated_at: datetime = _time()
    delivery: str = "sent"


class CaseEvent(SQLModel, table=True):
    """One entry of a case's history."""

    __tablename__ = "case_event"
    __table_args__ = (Index("ix_case_event_case", "case_id", "at"),)
    id: str = Field(primary_key=True)
    case_id: str
    at: datetime = _time()
    author: str
    action: str
    changes: str = Field(default="", sa_type=Text)


class Handover(SQLModel, table=True):
    """A shift's handover note."""

    __tablename__ = "handover"
    __table_args__ = (Index("ix_handover_created", "created_at"),)
    id: str = Field(primary_key=True)
    author: str
    shift_started_at: datetime = _time()
    created_at: datetime = _time()
    note: str = Field(sa_type=Text)


class ShopReply(SQLModel, table=True):
    """A quick reply the shop published (the library's TOML fields, lists as JSON).

    A reply the shop took back stays as a tombstone (``deleted``), so the change feed
    can tell every client to drop it.
    """

    __tablename__ = "shop_reply"
    id: str = Field(primary_key=True)
    language: str
    group: str
    title: str
    body: str = Field(sa_type=Text)
    keywords_json: str = Field(default="[]", sa_type=Text)
    scenario: str
    audience: str
    hotkey: str | None = None
    actions_json: str = Field(default="[]", sa_type=Text)
    updated_at: datetime = _time()
    deleted: bool = False


# --- client only ---------------------------------------------------------------


class OutboxEntry(SQLModel, table=True):
    """An operation waiting to reach the backend, in the order it was made.

    The idempotency ``key`` is written with the entry, before the first attempt, so
    a retry after a crash or a timeout carries the same key and cannot double-send.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_state", "state", "seq"),)
    seq: int | None = Field(
        default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True)
    )
    key: str = Field(sa_column=Column(String, unique=True, nullable=False))
    kind: str
    payload: str = Field(sa_type=Text)
    conversation_id: str | None = None
    created_at: datetime = _time()
    not_before: datetime = _time()
    attempts: int = 0
    state: str = "pending"  # pending, done, failed
    last_error: str | None = None


class Draft(SQLModel, table=True):
    """Unsent composer text, per conversation and mode (reply or note)."""

    __tablename__ = "draft"
    conversation_id: str = Field(primary_key=True)
    mode: str = Field(primary_key=True)
    body: str = Field(sa_type=Text)
    updated_at: datetime = _time()


class SyncState(SQLModel, table=True):
    """Small key/value facts about the link: cursor, server id, last error."""

    __tablename__ = "sync_state"
    key: str = Field(primary_key=True)
    value: str = Field(sa_type=Text)


class SeenMarker(SQLModel, table=True):
    """The newest message the agent has had on screen, per conversation (send safety)."""

    __tablename__ = "seen_marker"
    conversation_id: str = Field(primary_key=True)
    seq: int


class CustomerKey(SQLModel, table=True):
    """A normalised email or phone of a customer ("email:a@b.cn", "phone:3800001111"):
    customers of two systems that share a key are the same person."""

    __tablename__ = "customer_key"
    key: str = Field(primary_key=True)
    customer_id: str = Field(primary_key=True, index=True)


class CustomerLink(SQLModel, table=True):
    """An agent's statement that two customer records are one person (kept both ways)."""

    __tablename__ = "customer_link"
    customer_id: str = Field(primary_key=True)
    other_id: str = Field(primary_key=True)
    author: str
    created_at: datetime = _time()


class ReplyUse(SQLModel, table=True):
    """One insertion of a quick reply by an agent (palette, hotkey, suggestion...)."""

    __tablename__ = "reply_use"
    __table_args__ = (
        Index("ix_reply_use_used_at", "used_at"),
        Index("ix_reply_use_reply", "reply_id", "agent"),
    )
    seq: int | None = Field(
        default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True)
    )
    reply_id: str
    agent: str
    used_at: datetime = _time()
    how: str
    conversation_id: str | None = None


SHARED_TABLES = (
    Agent,
    Customer,
    Conversation,
    Message,
    Order,
    OrderEvent,
    OrderRemark,
    Case,
    CaseEvent,
    Handover,
    ShopReply,
    Attachment,
)
CLIENT_TABLES = (
    *SHARED_TABLES,
    OutboxEntry,
    Draft,
    SyncState,
    SeenMarker,
    ReplyUse,
    CustomerKey,
    CustomerLink,
)


def table_of(model: type[SQLModel]) -> Table:
    """The Core table behind a model, for fast Core statements."""
    found = getattr(model, "__table__", None)
    if not isinstance(found, Table):
        raise TypeError(f"{model.__name__} is not a table model")
    return found


AGENT = table_of(Agent)
CUSTOMER = table_of(Customer)
CONVERSATION = table_of(Conversation)
MESSAGE = table_of(Message)
ATTACHMENT = table_of(Attachment)
ORDER = table_of(Order)
ORDER_EVENT = table_of(OrderEvent)
ORDER_REMARK = table_of(OrderRemark)
CASE = table_of(Case)
CASE_EVENT = table_of(CaseEvent)
HANDOVER = table_of(Handover)
SHOP_REPLY = table_of(ShopReply)
REPLY_USE = table_of(ReplyUse)
OUTBOX = table_of(OutboxEntry)
DRAFT = table_of(Draft)
SYNC_STATE = table_of(SyncState)
SEEN_MARKER = table_of(SeenMarker)
CUSTOMER_KEY = table_of(CustomerKey)
CUSTOMER_LINK = table_of(CustomerLink)
