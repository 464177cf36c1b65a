"""Read models: plain, immutable rows the store produces and the UI shows.

They carry no database machinery, so the UI can hold them without importing SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from cs_console.domain import (
    ConversationStatus,
    DeliveryState,
    FlagColour,
    Group,
    MessageKind,
    OrderEventKind,
    OrderStatus,
)

#: Conversation priorities, lowest first (the values of ``protocol.Priority``; plain
#: text here so the UI can hold them without loading the protocol's models).
PRIORITIES: tuple[str, ...] = ("normal", "high", "urgent")

#: The customer channels the console knows by name (``ConversationRecord.channel``).
WEB, EMAIL, APP = "web", "email", "app"
#: What backends call the web chat widget: Chatwoot's ``Channel::WebWidget`` arrives as
#: ``webwidget`` (``backends.chatwoot_mapping.channel_name``).
_WEB_NAMES = frozenset({WEB, "webwidget"})


def channel_kind(channel: str) -> str:
    """:data:`WEB`, :data:`EMAIL` or :data:`APP` for the channels the console knows by
    name; ``"other"`` for the rest (a backend's WhatsApp or API inbox...)."""
    name = channel.strip().lower()
    if name in _WEB_NAMES:
        return WEB
    return name if name in (EMAIL, APP) else "other"


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """Which conversations the queue shows. ``assignee`` is used with ``scope="mine"``.

    ``min_priority``: only conversations at least this urgent ("high" or "urgent");
    ``tag``: only those whose conversation or customer carries this tag.
    """

    status: ConversationStatus = ConversationStatus.OPEN
    scope: str = "all"  # "all", "mine" or "unassigned"
    group: Group | None = None
    me: str | None = None
    min_priority: str | None = None
    tag: str | None = None


@dataclass(frozen=True, slots=True)
class QueueRow:
    """One line of the conversation queue."""

    conversation_id: str
    customer_id: str
    customer_name: str
    group: Group
    status: ConversationStatus
    assignee: str | None
    waiting_since: datetime | None
    last_activity_at: datetime
    unread_count: int
    snippet: str
    priority: str = "normal"
    #: The conversation's and its customer's tags, sorted, without repeats.
    tags: tuple[str, ...] = ()
    #: Where the customer writes from, as the backend names it (see :func:`channel_kind`).
    channel: str = WEB


@dataclass(frozen=True, slots=True)
class QueueCounts:
    """How many conversations each filter value would show (for the filter bar)."""

    by_status: dict[ConversationStatus, int]
    mine: int
    unassigned: int
    everyone: int
    by_group: dict[Group, int]


@dataclass(frozen=True, slots=True)
class ConversationInfo:
    """The header of an open conversation."""

    conversation_id: str
    customer_id: str
    customer_name: str
    customer_language: str
    customer_email: str | None
    customer_phone: str | None
    customer_notes: str
    group: Group
    status: ConversationStatus
    assignee: str | None
    snoozed_until: datetime | None
    waiting_since: datetime | None
    unread_count: int
    #: Where the customer writes from, as the backend names it (see :func:`channel_kind`).
    channel: str = WEB
    #: An email conversation's subject (the customer's, untrusted); None on chat channels.
    subject: str | None = None
    #: When the customer was last seen typing (the web widget tells), if ever.
    customer_typing_at: datetime | None = None

    @property
    def is_email(self) -> bool:
        """Whether a reply leaves as an email (to ``customer_email``)."""
        return channel_kind(self.channel) == EMAIL


@dataclass(frozen=True, slots=True)
class AttachmentRow:
    """A photo, file or product card of a message. Every text here came from a sender
    or a backend: sanitise it where it is shown. ``local_path``: the copy on this
    machine (a file the agent sent, or one fetched to open), if any."""

    attachment_id: str
    message_id: str
    kind: str  # image, file or product_card
    file_name: str
    content_type: str
    size: int
    url: str | None = None
    title: str | None = None
    price: str | None = None
    sku: str | None = None
    local_path: str | None = None


@dataclass(frozen=True, slots=True)
class MessageRow:
    """One message of a thread; ``seq`` orders arrivals on this machine."""

    seq: int
    message_id: str
    conversation_id: str
    kind: MessageKind
    author: str
    body: str
    created_at: datetime
    delivery: DeliveryState
    attachments: tuple[AttachmentRow, ...] = ()


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One item of an order."""

    sku: str
    name: str
    quantity: int
    unit_price_minor: int


@dataclass(frozen=True, slots=True)
class OrderEventRow:
    """One step of an order's timeline."""

    event_id: str
    kind: OrderEventKind
    at: datetime
    detail: str


@dataclass(frozen=True, slots=True)
class RemarkRow:
    """A flagged order remark."""

    remark_id: str
    flag: FlagColour
    text: str
    author: str
    created_at: datetime
    delivery: DeliveryState


@dataclass(frozen=True, slots=True)
class OrderRow:
    """An order with what the order pane shows of it."""

    order_id: str
    number: str
    customer_id: str
    status: OrderStatus
    items: tuple[OrderLine, ...]
    total_minor: int
    currency: str
    carrier: str | None
    tracking_number: str | None
    shipping_address: str
    placed_at: datetime
    paid_at: datetime | None
    group_formed_at: datetime | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    events: tuple[OrderEventRow, ...] = field(default=())
    remarks: tuple[RemarkRow, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One operation waiting to be pushed (or that failed for good)."""

    seq: int
    key: str
    kind: str
    conversation_id: str | None
    created_at: datetime
    not_before: datetime
    attempts: int
    state: str
    last_error: str | None


@dataclass(frozen=True, slots=True)
class SyncStatus:
    """What the status bar shows about the link to the backend."""

    online: bool
    last_sync_at: datetime | None
    outbox_depth: int
    last_error: str | None
    agent_name: str | None


@dataclass(frozen=True, slots=True)
class CaseEventRow:
    """One entry of a case's history."""

    event_id: str
    at: datetime
    author: str
    action: str
    changes: str


@dataclass(frozen=True, slots=True)
class CaseRow:
    """An after-sales case as the register shows it."""

    case_id: str
    conversation_id: str | None
    customer_id: str | None
    customer_name: str | None
    order_id: str | None
    order_number: str | None
    category: str
    responsible: str | None
    resolution: str | None
    status: str
    refund_minor: int
    compensation_minor: int
    postage_lost_minor: int
    currency: str
    follow_up_on: date | None
    evidence: tuple[str, ...]
    notes: str
    created_by: str
    approved_by: str | None
    created_at: datetime
    updated_at: datetime
    delivery: DeliveryState


@dataclass(frozen=True, slots=True)
class CustomerMatch:
    """A customer record found when linking records of one person by hand."""

    customer_id: str
    name: str
    email: str | None
    phone: str | None


@dataclass(frozen=True, slots=True)
class Abilities:
    """What the configured backend can do: the UI greys out the rest and says why."""

    backend: str
    #: ability name (as in ``backends.base.ABILITIES``) -> why it is missing.
    missing: dict[str, str] = field(default_factory=dict)

    def reason(self, ability: str) -> str | None:
        """None when the backend can; else a sentence for the agent."""
        return self.missing.get(ability)
