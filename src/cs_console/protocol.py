"""cs-console's sync protocol: the JSON records and operations exchanged with a backend.

Documented for people in ``docs/openapi.json``. The same models validate what the
reference server receives and what the client accepts, strictly: a string where a
number belongs, a time without a zone, or an unknown enum value is an error, not a
guess. Every free-text field is sanitised on the way in.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from cs_console.domain import (
    CaseCategory,
    CaseStatus,
    ConversationStatus,
    FlagColour,
    Group,
    MessageKind,
    OrderEventKind,
    OrderStatus,
    Resolution,
    Responsible,
    Role,
)
from cs_console.sanitize import sanitize, sanitize_line
from cs_console.timeutil import to_utc

PROTOCOL_VERSION = 1
MAX_BODY_CHARS = 8_000
MAX_NAME_CHARS = 200
MAX_PAGE = 2_000
DEFAULT_PAGE = 500


def _iso_only(value: object) -> object:
    """Times travel as ISO 8601 text with a zone. Parsed here, because pydantic would
    otherwise read a number, or a string of digits, as Unix time (a guess)."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or _NUMERIC.match(value):
        raise ValueError("a time must be ISO 8601 text with a zone")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"not an ISO 8601 time: {value[:40]!r}") from None


_NUMERIC = re.compile(r"^\s*[-+]?\d+(\.\d*)?\s*$")

UtcTime = Annotated[AwareDatetime, BeforeValidator(_iso_only), AfterValidator(to_utc)]
Text = Annotated[str, Field(max_length=MAX_BODY_CHARS), AfterValidator(sanitize)]
Line = Annotated[str, Field(max_length=MAX_NAME_CHARS), AfterValidator(sanitize_line)]
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
# Printable ASCII only: a cursor is stored and sent back in a query string, never shown.
Cursor = Annotated[str, Field(max_length=1000, pattern=r"^[\x21-\x7e]*$")]


class Presence(StrEnum):
    """Whether an agent takes new conversations: only ``online`` agents are assigned any;
    ``away`` keeps what they have; ``offline`` gives it back to the pool after a grace
    period."""

    ONLINE = "online"
    AWAY = "away"
    OFFLINE = "offline"


class Priority(StrEnum):
    """How soon a conversation needs an answer; ``urgent`` is also set by the server when
    a refund is pending near the 48-hour ship-by deadline."""

    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


#: Priorities from lowest to highest, for "at least" comparisons.
PRIORITY_ORDER: tuple[Priority, ...] = (Priority.NORMAL, Priority.HIGH, Priority.URGENT)

MAX_TAGS = 20
MAX_CAPACITY = 1_000
MAX_WEIGHT = 100

#: A tag: a short lower-case word with hyphens ("vip", "blacklist", "repeat-complainer").
#: Kept this narrow so a tag is safe to show as it is and to match inside stored JSON.
Tag = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z0-9][a-z0-9-]*$")]


#: Attachments: the largest file an agent may send or the server keeps, how many one
#: message carries, and the types accepted (found by their first bytes, never by name).
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_ATTACHMENTS = 10
MAX_FILE_NAME_CHARS = 120
ATTACHMENT_TYPES: dict[str, str] = {
    "image/jpeg": "image",
    "image/png": "image",
    "image/gif": "image",
    "image/webp": "image",
    "application/pdf": "file",
    "text/plain": "file",
}


class AttachmentKind(StrEnum):
    """What an attachment is: a picture, any other file, or a shop's product card."""

    IMAGE = "image"
    FILE = "file"
    PRODUCT_CARD = "product_card"


def sniff_type(data: bytes) -> str | None:
    """The accepted content type ``data`` is, by its first bytes (the name and the
    declared type are the sender's word); None when it is none of
    :data:`ATTACHMENT_TYPES`. Plain text is UTF-8 without control characters."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if any(ord(c) < 32 and c not in "\t\n\r\f" for c in text) or "\x7f" in text:
        return None
    return "text/plain"


def safe_file_name(name: str) -> str:
    """An untrusted file name made safe to show and to use as the last part of a local
    path: one line, no path separators, no leading dots (no ``..``, no hidden file),
    at most :data:`MAX_FILE_NAME_CHARS` characters; "file" when nothing is left."""
    line = sanitize_line(name).replace("/", "_").replace("\\", "_").replace(":", "_")
    line = line.strip().lstrip(".").strip()
    if len(line) > MAX_FILE_NAME_CHARS:
        _stem, dot, ext = line.rpartition(".")
        keep = ("." + ext) if dot and len(ext) <= 10 else ""
        line = line[: MAX_FILE_NAME_CHARS - len(keep)] + keep
    return line or "file"


FileName = Annotated[str, Field(max_length=1000), AfterValidator(safe_file_name)]
#: An address (a file's, a product page's): one line, longer than a name may be (signed
#: storage addresses run to a few hundred characters).
Address = Annotated[str, Field(max_length=2000), AfterValidator(sanitize_line)]
ContentType = Annotated[str, Field(max_length=100, pattern=r"^[a-z0-9.+-]+/[a-z0-9.+-]+$")]


class Record(BaseModel):
    """Base of every wire record: strict types, unknown fields ignored (forward compatible)."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class AgentRecord(Record):
    """An agent account as others see it (never its token)."""

    name: Line
    role: Role
    group: Group | None = None
    active: bool = True
    presence: Presence = Presence.OFFLINE
    presence_since: UtcTime | None = None
    #: Open conversations the server assigns this agent at most.
    capacity: int = Field(default=5, ge=0, le=MAX_CAPACITY)
    #: Share of new conversations against other eligible agents (0: none by routing).
    weight: int = Field(default=1, ge=0, le=MAX_WEIGHT)


class CustomerRecord(Record):
    """A shop's customer."""

    id: Id
    name: Line
    email: Line | None = None
    phone: Line | None = None
    language: Line = "en"
    notes: Text = ""
    tags: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS)
    updated_at: UtcTime


class ConversationRecord(Record):
    """A chat with one customer, as the backend sees it."""

    id: Id
    customer_id: Id
    channel: Line = "web"
    group: Group
    status: ConversationStatus
    assignee: Line | None = None
    snoozed_until: UtcTime | None = None
    waiting_since: UtcTime | None = None
    last_activity_at: UtcTime
    unread_count: int = Field(default=0, ge=0)
    priority: Priority = Priority.NORMAL
    tags: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS)
    updated_at: UtcTime
    #: An email conversation's subject; None on chat channels.
    subject: Line | None = None
    #: When the customer was last seen typing (the web widget tells).
    customer_typing_at: UtcTime | None = None


class AttachmentRecord(Record):
    """A photo, file or product card carried by a message.

    ``url``: where the bytes are, for an agent's token (the reference server's
    ``/api/v1/attachments/{id}``, relative to the API) or as the backend gives it; a
    product card's page. ``file_name`` is sanitised (no path separators, no ``..``)."""

    id: Id
    kind: AttachmentKind
    file_name: FileName = "file"
    content_type: ContentType = "application/octet-stream"
    size: int = Field(default=0, ge=0)
    url: Address | None = None
    #: A product card's fields.
    title: Line | None = None
    price: Line | None = None
    sku: Line | None = None


class MessageRecord(Record):
    """One message in a conversation; agent messages keep the id their client gave them."""

    id: Id
    conversation_id: Id
    kind: MessageKind
    author: Line
    body: Text
    created_at: UtcTime
    attachments: list[AttachmentRecord] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)


class OrderItem(Record):
    """One line of an order."""

    sku: Line
    name: Line
    quantity: int = Field(ge=0)
    unit_price_minor: int = Field(ge=0)


class OrderRecord(Record):
    """An order; money is in minor units (cents, fen) of ``currency``."""

    id: Id
    number: Line
    customer_id: Id
    status: OrderStatus
    items: list[OrderItem] = Field(default_factory=list, max_length=200)
    total_minor: int = Field(ge=0)
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    carrier: Line | None = None
    tracking_number: Line | None = None
    shipping_address: Text = ""
    placed_at: UtcTime
    paid_at: UtcTime | None = None
    group_formed_at: UtcTime | None = None
    shipped_at: UtcTime | None = None
    delivered_at: UtcTime | None = None
    updated_at: UtcTime


class OrderEventRecord(Record):
    """One entry of an order's timeline."""

    id: Id
    order_id: Id
    kind: OrderEventKind
    at: UtcTime
    detail: Text = ""


class RemarkRecord(Record):
    """A flagged order remark: reason, agent and date, as the seeds prescribe."""

    id: Id
    order_id: Id
    flag: FlagColour
    text: Text
    author: Line
    created_at: UtcTime


Money = Annotated[int, Field(ge=0, le=100_000_000)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


class CaseFields(Record):
    """What an agent fills in for an after-sales case."""

    conversation_id: Id | None = None
    customer_id: Id | None = None
    order_id: Id | None = None
    category: CaseCategory
    responsible: Responsible | None = None
    resolution: Resolution | None = None
    status: CaseStatus = CaseStatus.OPEN
    refund_minor: Money = 0
    compensation_minor: Money = 0
    postage_lost_minor: Money = 0
    currency: Currency = "CNY"
    follow_up_on: date | None = None
    evidence: list[Line] = Field(default_factory=list, max_length=50)
    notes: Text = ""


class CaseRecord(CaseFields):
    """An after-sales case in the register, as the backend keeps it."""

    id: Id
    created_by: Line
    approved_by: Line | None = None
    created_at: UtcTime
    updated_at: UtcTime


class CaseEventRecord(Record):
    """One entry of a case's history: who changed what, when."""

    id: Id
    case_id: Id
    at: UtcTime
    author: Line
    action: Line  # created, updated, approved, declined
    changes: Text = ""  # "field: old → new" lines


class HandoverRecord(Record):
    """A shift's handover note: what was done and what is pending, for the next shift."""

    id: Id
    author: Line
    shift_started_at: UtcTime
    created_at: UtcTime
    note: Text


class ReplyActionRecord(Record):
    """An action a quick reply applies when sent (the library README's ``actions``)."""

    kind: Line
    params: dict[Line, Line | int] = Field(default_factory=dict, max_length=10)


class ReplyRecord(Record):
    """A quick reply the shop published; the fields of a library ``[[reply]]`` table.

    ``deleted`` is a tombstone: the shop took the reply back, and clients drop it. The
    client checks a record with the same rules as a library file before using it.
    """

    id: Id
    language: Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$", max_length=35)]
    group: Annotated[str, Field(pattern=r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$", max_length=64)]
    title: Line
    body: Text
    keywords: list[Line] = Field(default_factory=list, max_length=50)
    scenario: Line
    audience: Literal["pre-sale", "after-sale", "both"]
    hotkey: Line | None = None
    actions: list[ReplyActionRecord] = Field(default_factory=list, max_length=10)
    updated_at: UtcTime
    deleted: bool = False


class ChangePage(Record):
    """One page of changes since a cursor. ``has_more`` asks the client to pull again at once.

    The cursor is opaque to the client: it stores it and hands it back. The reference
    server's is a sequence number; a split backend's holds one cursor per source.
    """

    server_id: Id
    cursor: Cursor
    has_more: bool
    agents: list[AgentRecord] = Field(default_factory=list)
    customers: list[CustomerRecord] = Field(default_factory=list)
    conversations: list[ConversationRecord] = Field(default_factory=list)
    messages: list[MessageRecord] = Field(default_factory=list)
    orders: list[OrderRecord] = Field(default_factory=list)
    order_events: list[OrderEventRecord] = Field(default_factory=list)
    remarks: list[RemarkRecord] = Field(default_factory=list)
    cases: list[CaseRecord] = Field(default_factory=list)
    case_events: list[CaseEventRecord] = Field(default_factory=list)
    handovers: list[HandoverRecord] = Field(default_factory=list)
    replies: list[ReplyRecord] = Field(default_factory=list)

    def count(self) -> int:
        """How many records the page holds."""
        return (
            len(self.agents)
            + len(self.customers)
            + len(self.conversations)
            + len(self.messages)
            + len(self.orders)
            + len(self.order_events)
            + len(self.remarks)
            + len(self.cases)
            + len(self.case_events)
            + len(self.handovers)
            + len(self.replies)
        )


class Me(Record):
    """Who the token belongs to, and which server answers."""

    server_id: Id
    agent: AgentRecord
    protocol: int


# --- operations the client pushes -------------------------------------------------


class AttachmentRef(Record):
    """A file sent with a message. Its bytes go first, in their own idempotent request
    (the reference server's ``PUT /api/v1/attachments/{id}``), so a retried send never
    stores a file twice; the operation then names them by ``id``."""

    id: Id
    file_name: FileName
    content_type: ContentType
    size: int = Field(ge=0, le=MAX_ATTACHMENT_BYTES)


class SendMessage(Record):
    """Send a reply (``kind=agent``) or add an internal note (``kind=note``), with text,
    attached files, or both."""

    op: Literal["send_message"] = "send_message"
    id: Id
    conversation_id: Id
    kind: Literal[MessageKind.AGENT, MessageKind.NOTE]
    body: Text = ""
    attachments: list[AttachmentRef] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)

    @model_validator(mode="after")
    def _says_something(self) -> SendMessage:
        if not self.body and not self.attachments:
            raise ValueError("a message needs a body or an attachment")
        return self


class SetStatus(Record):
    """Resolve, reopen, set pending or snooze a conversation."""

    op: Literal["set_status"] = "set_status"
    conversation_id: Id
    status: ConversationStatus
    snoozed_until: UtcTime | None = None


class Assign(Record):
    """Claim (assignee = self), transfer to an agent or a group, or unassign."""

    op: Literal["assign"] = "assign"
    conversation_id: Id
    assignee: Line | None = None
    group: Group | None = None


class MarkRead(Record):
    """The agent has read the conversation: its unread count drops to zero."""

    op: Literal["mark_read"] = "mark_read"
    conversation_id: Id


class AddRemark(Record):
    """Add a flagged remark to an order."""

    op: Literal["add_remark"] = "add_remark"
    id: Id
    order_id: Id
    flag: FlagColour
    text: Annotated[Text, Field(min_length=1)]


class SaveCase(CaseFields):
    """Open a case (new ``id``) or change one. An agent may not grant compensation above
    the shop's authority limit: such a case must be saved as ``awaiting-approval``."""

    op: Literal["save_case"] = "save_case"
    id: Id


class DecideCase(Record):
    """A supervisor approves or declines a case awaiting approval."""

    op: Literal["decide_case"] = "decide_case"
    id: Id
    approve: bool
    note: Text = ""


class RefundOrder(Record):
    """Give back part or all of what the customer paid for an order (a case settled by
    refund: DOMAIN.md's "approve the refund"). The order system makes the refund; no more
    than the order's total. Compensation on top is a case's business, not this."""

    op: Literal["refund_order"] = "refund_order"
    order_id: Id
    amount_minor: Annotated[int, Field(gt=0, le=100_000_000)]
    currency: Currency
    reason: Annotated[Line, Field(min_length=1)]
    case_id: Id | None = None


class AddHandover(Record):
    """End a shift with a handover note."""

    op: Literal["add_handover"] = "add_handover"
    id: Id
    shift_started_at: UtcTime
    note: Annotated[Text, Field(min_length=1)]


class SetPresence(Record):
    """The agent is online (takes new conversations), away (keeps theirs, takes no new
    ones) or offline (theirs go back to the pool after the server's grace period)."""

    op: Literal["set_presence"] = "set_presence"
    presence: Presence


class SetPriority(Record):
    """Set a conversation's priority by hand (the server may still raise it to urgent)."""

    op: Literal["set_priority"] = "set_priority"
    conversation_id: Id
    priority: Priority


class SetTags(Record):
    """Replace the tags of a conversation or, with ``customer_id``, of a customer."""

    op: Literal["set_tags"] = "set_tags"
    conversation_id: Id | None = None
    customer_id: Id | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS)


Operation = Annotated[
    SendMessage
    | SetStatus
    | Assign
    | MarkRead
    | AddRemark
    | SaveCase
    | DecideCase
    | AddHandover
    | RefundOrder
    | SetPresence
    | SetPriority
    | SetTags,
    Field(discriminator="op"),
]


class OperationEnvelope(Record):
    """The body of ``POST /api/v1/operations``: one operation."""

    operation: Operation


class OperationResult(Record):
    """What the server answers to an operation (and to every repeat of its key)."""

    key: str
    applied: bool
    result: dict[str, Any] = Field(default_factory=dict)


class ErrorBody(Record):
    """The body of every error response."""

    error: Line
    detail: Text = ""
