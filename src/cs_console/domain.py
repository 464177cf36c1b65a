"""The vocabulary of the domain (see ../shared/DOMAIN.md), shared by client and server.

Values are the strings that travel on the wire and sit in the database, so they
never change once released; labels for people live in the UI.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What an agent account may do: supervisors approve what agents may not."""

    AGENT = "agent"
    SUPERVISOR = "supervisor"


class Group(StrEnum):
    """The two desks a shop routes chats to."""

    PRE_SALE = "pre-sale"
    AFTER_SALE = "after-sale"


class ConversationStatus(StrEnum):
    """Where a conversation stands."""

    OPEN = "open"
    PENDING = "pending"
    SNOOZED = "snoozed"
    RESOLVED = "resolved"


class MessageKind(StrEnum):
    """Who a message is from, and whether the customer sees it."""

    CUSTOMER = "customer"
    AGENT = "agent"
    NOTE = "note"  # internal: never shown to the customer
    SYSTEM = "system"  # an event such as "refund requested"


class DeliveryState(StrEnum):
    """The client's view of an agent message on its way to the backend."""

    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"


class OrderStatus(StrEnum):
    """The current state of an order; its history lives in order events."""

    AWAITING_PAYMENT = "awaiting-payment"
    AWAITING_GROUP = "awaiting-group"  # paid, group-buy not yet formed
    AWAITING_SHIPMENT = "awaiting-shipment"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    REFUND_REQUESTED = "refund-requested"
    RETURN_REQUESTED = "return-requested"
    REFUNDED = "refunded"
    RETURNED = "returned"
    CANCELLED = "cancelled"
    COMPLETED = "completed"


class OrderEventKind(StrEnum):
    """One step in an order's timeline."""

    PLACED = "placed"
    PAID = "paid"
    GROUP_FORMED = "group-formed"
    SHIPPED = "shipped"
    LOGISTICS_SCAN = "logistics-scan"
    DELIVERED = "delivered"
    ADDRESS_CHANGED = "address-changed"
    REFUND_REQUESTED = "refund-requested"
    REFUND_APPROVED = "refund-approved"
    REFUND_DECLINED = "refund-declined"
    REFUNDED = "refunded"
    RETURN_REQUESTED = "return-requested"
    RETURN_SHIPPED = "return-shipped"
    RETURN_RECEIVED = "return-received"
    EXCHANGE_SHIPPED = "exchange-shipped"
    REISSUED = "reissued"
    INTERCEPTED = "intercepted"
    CANCELLED = "cancelled"


class FlagColour(StrEnum):
    """Order remark flags; meanings are the shop's (defaults follow the seeds)."""

    RED = "red"
    YELLOW = "yellow"
    GREEN = "green"
    BLUE = "blue"
    PURPLE = "purple"


DEFAULT_FLAG_MEANINGS: dict[FlagColour, str] = {
    FlagColour.RED: "special remark (e.g. a courier matter)",
    FlagColour.YELLOW: "follow up",
    FlagColour.GREEN: "resolved / customer satisfied",
    FlagColour.BLUE: "change to a shipped order",
    FlagColour.PURPLE: "change to an unshipped order",
}

#: Symbols make flags distinguishable without colour (colour-blind agents, 16-colour terminals).
FLAG_SYMBOLS: dict[FlagColour, str] = {
    FlagColour.RED: "●",
    FlagColour.YELLOW: "▲",
    FlagColour.GREEN: "✔",
    FlagColour.BLUE: "◆",
    FlagColour.PURPLE: "■",
}


class CaseStatus(StrEnum):
    """Where an after-sales case stands."""

    OPEN = "open"
    WAITING_CUSTOMER = "waiting-customer"
    WAITING_COURIER = "waiting-courier"
    AWAITING_APPROVAL = "awaiting-approval"
    RESOLVED = "resolved"


#: Hours a shop has to ship after payment (or after the group forms).
DEFAULT_SHIP_BY_HOURS = 48
