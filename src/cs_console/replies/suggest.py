"""Reply suggestions from the customer's last message and the order's status.

Suggestions must be predictable, so this is plain scoring, not a model: keywords of a
reply found in the message count by how specific they are (a long phrase says more
than "when"), and scenarios that fit the order's status get a fixed boost, which
also decides between replies the message alone cannot tell apart ("refund" before
or after shipping). The conversation's language comes first.
"""

from __future__ import annotations

import re

from cs_console.domain import OrderStatus
from cs_console.replies.library import Library, QuickReply
from cs_console.replies.search import ReplyIndex

#: Scenarios that usually fit an order in each status, most typical first.
STATUS_SCENARIOS: dict[str, tuple[str, ...]] = {
    OrderStatus.AWAITING_PAYMENT: (
        "payment-reminder",
        "address-confirm",
        "cod-confirm",
        "extra-postage",
        "price-fixed",
        "discount",
    ),
    OrderStatus.AWAITING_GROUP: ("refund-before-group", "shipping-48h"),
    OrderStatus.AWAITING_SHIPMENT: (
        "shipping-48h",
        "shipping-time",
        "address-confirm",
        "refund-before-shipping",
        "carrier-choice",
    ),
    OrderStatus.SHIPPED: (
        "no-tracking-update",
        "shipping-time",
        "courier-door",
        "wrong-address",
        "outside-area",
        "misrouted",
        "courier-intercept",
        "refund-shipped",
    ),
    OrderStatus.DELIVERED: (
        "damage-photos",
        "damaged-transit",
        "damaged-late",
        "missing-item",
        "wrong-item",
        "quality",
        "usage-help",
        "refund-signed",
        "return-how",
        "invoice-missing",
        "counterfeit",
        "closing-rating",
    ),
    OrderStatus.REFUND_REQUESTED: (
        "refund-before-group",
        "refund-before-shipping",
        "refund-shipped",
        "refund-signed",
    ),
    OrderStatus.RETURN_REQUESTED: ("return-how", "return-tracking"),
    OrderStatus.REFUNDED: ("feedback", "thanks", "closing-rating"),
    OrderStatus.RETURNED: ("return-tracking", "reissue-apology", "feedback"),
    OrderStatus.CANCELLED: ("thanks", "feedback"),
    OrderStatus.COMPLETED: ("closing-rating", "feedback", "negative-review", "thanks"),
}

# A status that fits is worth about one short keyword and makes the message's
# keywords count half again: enough to tell "moved" (house) from "not moved"
# (parcel) for a shipped order, not enough to bury what the customer said.
_STATUS_BOOST = 1.5
_STATUS_FACTOR = 1.5
# Replies for the other desk stay available but drop behind.
_OTHER_AUDIENCE_FACTOR = 0.5
# Chinese packs a word into two characters; weigh a character like 2.5 letters.
_HAN_UNITS = 2.5
_UNITS_PER_POINT = 6.0
_HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def keyword_weight(keyword: str) -> float:
    """How much a matched keyword says: 1 plus a point per ~6 letters (or ~2 hanzi).

    Args:
        keyword: a folded keyword.
    """
    han = len(_HAN_RE.findall(keyword))
    other = sum(1 for char in keyword if not char.isspace()) - han
    return 1.0 + (han * _HAN_UNITS + other) / _UNITS_PER_POINT


def suggest(
    index: ReplyIndex,
    library: Library,
    *,
    last_customer_message: str | None,
    order_status: str | None,
    language: str,
    audience: str | None = None,
    limit: int = 3,
) -> list[QuickReply]:
    """Suggest replies for the open conversation, best first.

    Args:
        index: the search index over ``library`` (its folded keywords are reused).
        library: the replies to choose from.
        last_customer_message: what the customer last wrote, if anything.
        order_status: the selected order's status (an ``OrderStatus`` value).
        language: the conversation's language; its replies come first.
        audience: the agent's desk (``pre-sale`` or ``after-sale``), if known.
        limit: the most replies to return.

    Returns:
        At most ``limit`` replies; none when neither the message nor the status
        points anywhere. The same inputs always give the same list.
    """
    if limit <= 0:
        return []
    matches = index.keyword_matches(last_customer_message) if last_customer_message else {}
    fitting = STATUS_SCENARIOS.get(order_status, ()) if order_status else ()

    scored: list[tuple[bool, float, int, QuickReply]] = []
    for order, reply in enumerate(library.replies):
        score = sum(keyword_weight(keyword) for keyword in matches.get(reply.id, ()))
        if reply.scenario in fitting:
            score = score * _STATUS_FACTOR + _STATUS_BOOST
        if score <= 0:
            continue
        if audience is not None and reply.audience not in (audience, "both"):
            score *= _OTHER_AUDIENCE_FACTOR
        scored.append((reply.language != language, -score, order, reply))
    scored.sort(key=lambda item: item[:3])
    return [reply for *_key, reply in scored[:limit]]
