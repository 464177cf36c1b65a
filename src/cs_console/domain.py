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


class CaseCategory(StrEnum):
    """After-sales case categories: DOMAIN.md's cases, grouped by family ("family.case")."""

    WRONG_ADDRESS = "logistics.wrong-address"
    OUTSIDE_AREA = "logistics.outside-area"
    NO_TRACKING_UPDATE = "logistics.no-tracking-update"
    MISROUTED = "logistics.misrouted"
    LOST = "logistics.lost"
    COURIER_DOOR = "logistics.courier-door"
    DAMAGED_TRANSIT = "goods.damaged-transit"
    DAMAGED_LATE = "goods.damaged-late"
    QUALITY = "goods.quality"
    DISLIKE = "goods.dislike"
    USAGE_QUESTION = "goods.usage-question"
    COUNTERFEIT = "goods.counterfeit"
    MISSING_ITEM = "fulfilment.missing-item"
    WRONG_ITEM = "fulfilment.wrong-item"
    REFUND_BEFORE_GROUP = "refund.before-group"
    REFUND_BEFORE_SHIPPING = "refund.before-shipping"
    REFUND_SHIPPED = "refund.shipped-refund-only"
    REFUND_SIGNED = "refund.signed-refund-only"
    REFUND_LATE_CLAIM = "refund.late-claim"
    INVOICE = "invoice.missing"
    ATTITUDE = "service.attitude"
    NEGATIVE_REVIEW = "review.negative"
    SUGGESTION = "feedback.suggestion"
    FEEDBACK = "feedback.after-sale"

    @property
    def family(self) -> str:
        """The part before the dot: logistics, goods, fulfilment, refund, ..."""
        return self.value.split(".", 1)[0]


class Responsible(StrEnum):
    """Who caused an after-sales problem (the seeds: find the responsible person)."""

    WAREHOUSE = "warehouse"
    COURIER = "courier"
    SUPPLIER = "supplier"
    CUSTOMER = "customer"
    SHOP = "shop"
    PLATFORM = "platform"


class Resolution(StrEnum):
    """How a case was (or is to be) settled."""

    REFUND = "refund"
    RETURN_AND_REFUND = "return-and-refund"
    EXCHANGE = "exchange"
    REISSUE = "reissue"
    COMPENSATION = "compensation"
    COURIER_INTERCEPT = "courier-intercept"
    COURIER_CLAIM = "courier-claim"
    DECLINED = "declined"
    EXPLAINED = "explained"


_C = CaseCategory

#: DOMAIN.md's standard handling as the case form's first answer: who is usually
#: responsible and how such a case is usually settled (None: it depends, the agent says).
#: The agent changes either with a key; a preset they keep is a field they need not fill.
STANDARD_HANDLING: dict[CaseCategory, tuple[Responsible | None, Resolution | None]] = {
    _C.WRONG_ADDRESS: (Responsible.CUSTOMER, None),
    _C.OUTSIDE_AREA: (Responsible.COURIER, Resolution.REISSUE),
    _C.NO_TRACKING_UPDATE: (Responsible.COURIER, None),
    _C.MISROUTED: (Responsible.COURIER, None),
    _C.LOST: (Responsible.COURIER, Resolution.COURIER_CLAIM),
    _C.COURIER_DOOR: (Responsible.COURIER, Resolution.EXPLAINED),
    _C.DAMAGED_TRANSIT: (Responsible.COURIER, Resolution.REISSUE),
    _C.DAMAGED_LATE: (None, Resolution.REISSUE),
    _C.QUALITY: (Responsible.SUPPLIER, Resolution.RETURN_AND_REFUND),
    _C.DISLIKE: (Responsible.CUSTOMER, Resolution.RETURN_AND_REFUND),
    _C.USAGE_QUESTION: (None, Resolution.EXPLAINED),
    _C.COUNTERFEIT: (None, None),
    _C.MISSING_ITEM: (Responsible.WAREHOUSE, Resolution.REISSUE),
    _C.WRONG_ITEM: (Responsible.WAREHOUSE, Resolution.EXCHANGE),
    _C.REFUND_BEFORE_GROUP: (Responsible.PLATFORM, Resolution.EXPLAINED),
    _C.REFUND_BEFORE_SHIPPING: (None, Resolution.REFUND),
    _C.REFUND_SHIPPED: (None, Resolution.COURIER_INTERCEPT),
    _C.REFUND_SIGNED: (None, Resolution.RETURN_AND_REFUND),
    _C.REFUND_LATE_CLAIM: (None, None),
    _C.INVOICE: (Responsible.SHOP, None),
    _C.ATTITUDE: (Responsible.SHOP, Resolution.COMPENSATION),
    _C.NEGATIVE_REVIEW: (None, None),
    _C.SUGGESTION: (None, None),
    _C.FEEDBACK: (None, None),
}

#: Compensation an agent may grant alone, in minor units (the seeds name 20 yuan).
DEFAULT_AUTHORITY_LIMIT_MINOR = 2_000
