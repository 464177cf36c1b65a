"""Rendering untrusted text: sanitised, never parsed as markup, fitted by terminal cells.

Everything a customer or a backend wrote reaches the screen through these helpers, and
so do the domain's words (statuses, desks, flags) and times and money, in the interface
language.
"""

from __future__ import annotations

from datetime import datetime

from rich.cells import cell_len, set_cell_size
from rich.text import Text
from textual.content import Content

from cs_console.domain import (
    CaseStatus,
    ConversationStatus,
    FlagColour,
    Group,
    MessageKind,
    OrderEventKind,
    OrderStatus,
    Resolution,
    Responsible,
)
from cs_console.i18n import N_, _, current_language
from cs_console.money import format_money
from cs_console.sanitize import sanitize, sanitize_line

_STATUS = {
    ConversationStatus.OPEN: N_("open"),
    ConversationStatus.PENDING: N_("pending"),
    ConversationStatus.SNOOZED: N_("snoozed"),
    ConversationStatus.RESOLVED: N_("resolved"),
}
_GROUP = {Group.PRE_SALE: N_("pre-sale"), Group.AFTER_SALE: N_("after-sale")}
_ORDER_STATUS = {
    OrderStatus.AWAITING_PAYMENT: N_("awaiting payment"),
    OrderStatus.AWAITING_GROUP: N_("awaiting group"),
    OrderStatus.AWAITING_SHIPMENT: N_("awaiting shipment"),
    OrderStatus.SHIPPED: N_("shipped"),
    OrderStatus.DELIVERED: N_("delivered"),
    OrderStatus.REFUND_REQUESTED: N_("refund requested"),
    OrderStatus.RETURN_REQUESTED: N_("return requested"),
    OrderStatus.REFUNDED: N_("refunded"),
    OrderStatus.RETURNED: N_("returned"),
    OrderStatus.CANCELLED: N_("cancelled"),
    OrderStatus.COMPLETED: N_("completed"),
}
_EVENT = {
    OrderEventKind.PLACED: N_("placed"),
    OrderEventKind.PAID: N_("paid"),
    OrderEventKind.GROUP_FORMED: N_("group formed"),
    OrderEventKind.SHIPPED: N_("shipped"),
    OrderEventKind.LOGISTICS_SCAN: N_("logistics scan"),
    OrderEventKind.DELIVERED: N_("delivered"),
    OrderEventKind.ADDRESS_CHANGED: N_("address changed"),
    OrderEventKind.REFUND_REQUESTED: N_("refund requested"),
    OrderEventKind.REFUND_APPROVED: N_("refund approved"),
    OrderEventKind.REFUND_DECLINED: N_("refund declined"),
    OrderEventKind.REFUNDED: N_("refunded"),
    OrderEventKind.RETURN_REQUESTED: N_("return requested"),
    OrderEventKind.RETURN_SHIPPED: N_("return shipped"),
    OrderEventKind.RETURN_RECEIVED: N_("return received"),
    OrderEventKind.EXCHANGE_SHIPPED: N_("exchange shipped"),
    OrderEventKind.REISSUED: N_("reissued"),
    OrderEventKind.INTERCEPTED: N_("intercepted"),
    OrderEventKind.CANCELLED: N_("cancelled"),
}
_FLAG = {
    FlagColour.RED: N_("red"),
    FlagColour.YELLOW: N_("yellow"),
    FlagColour.GREEN: N_("green"),
    FlagColour.BLUE: N_("blue"),
    FlagColour.PURPLE: N_("purple"),
}
_MESSAGE_KIND = {
    MessageKind.CUSTOMER: N_("customer"),
    MessageKind.AGENT: N_("agent"),
    MessageKind.NOTE: N_("internal note"),
    MessageKind.SYSTEM: N_("event"),
}
_CASE_STATUS = {
    CaseStatus.OPEN: N_("open"),
    CaseStatus.WAITING_CUSTOMER: N_("waiting for customer"),
    CaseStatus.WAITING_COURIER: N_("waiting for courier"),
    CaseStatus.AWAITING_APPROVAL: N_("awaiting approval"),
    CaseStatus.RESOLVED: N_("resolved"),
}
_RESPONSIBLE = {
    Responsible.WAREHOUSE: N_("warehouse"),
    Responsible.COURIER: N_("courier"),
    Responsible.SUPPLIER: N_("supplier"),
    Responsible.CUSTOMER: N_("customer"),
    Responsible.SHOP: N_("shop"),
    Responsible.PLATFORM: N_("platform"),
}
_RESOLUTION = {
    Resolution.REFUND: N_("refund"),
    Resolution.RETURN_AND_REFUND: N_("return and refund"),
    Resolution.EXCHANGE: N_("exchange"),
    Resolution.REISSUE: N_("reissue"),
    Resolution.COMPENSATION: N_("compensation"),
    Resolution.COURIER_INTERCEPT: N_("courier intercept"),
    Resolution.COURIER_CLAIM: N_("courier claim"),
    Resolution.DECLINED: N_("declined"),
    Resolution.EXPLAINED: N_("explained"),
}
#: strftime's %a follows the C locale (never set: nothing happens at import time).
_WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))
#: Day before month where the language reads dates that way.
_DAY_FIRST = frozenset({"es", "vi"})


def safe(text: str | None) -> Content:
    """Untrusted text as literal Content (no markup, no escape sequences)."""
    return Content(sanitize(text or ""))


def safe_line(text: str | None) -> str:
    """Untrusted text folded onto one line and sanitised (for list cells).

    Still a plain string: give it to a widget only inside ``Content``/``Text`` (see
    :func:`safe_text`), never where Textual would parse it as markup.
    """
    return sanitize_line(text or "")


def safe_text(text: str | None) -> Text:
    """Untrusted text on one line as a Rich ``Text``, for ``Select`` options.

    ``Select`` parses a plain-string option as markup (``N[/]`` raises MarkupError,
    ``[@click=...]`` becomes a live action) and its type-to-search only reads ``str``
    and ``Text`` prompts, so a ``Text`` keeps both the label literal and the search.
    """
    return Text(sanitize_line(text or ""))


def status_label(status: ConversationStatus) -> str:
    """A conversation status in the interface language."""
    return _(_STATUS[status])


def group_label(group: Group) -> str:
    """A desk (pre-sale, after-sale) in the interface language."""
    return _(_GROUP[group])


def order_status_label(status: OrderStatus) -> str:
    """An order status in the interface language."""
    return _(_ORDER_STATUS[status])


def event_label(kind: OrderEventKind) -> str:
    """An order event in the interface language."""
    return _(_EVENT[kind])


def flag_label(flag: FlagColour) -> str:
    """A flag colour's name in the interface language."""
    return _(_FLAG[flag])


def message_kind_label(kind: MessageKind) -> str:
    """Who wrote a message (customer, agent, internal note, event)."""
    return _(_MESSAGE_KIND[kind])


def case_status_label(value: str) -> str:
    """A case status (its wire value) in the interface language; unknown values as given."""
    try:
        return _(_CASE_STATUS[CaseStatus(value)])
    except ValueError:
        return value


def responsible_label(value: str) -> str:
    """A responsible party (its wire value) in the interface language; other values
    (the reports' "not set") through the catalogue."""
    try:
        return _(_RESPONSIBLE[Responsible(value)])
    except ValueError:
        return _(value)


def resolution_label(value: str) -> str:
    """A resolution (its wire value) in the interface language."""
    try:
        return _(_RESOLUTION[Resolution(value)])
    except ValueError:
        return value


def weekday_label(value: datetime) -> str:
    """The short weekday name of ``value`` in the interface language."""
    return _(_WEEKDAYS[value.weekday()])


def fit(text: str, width: int) -> str:
    """Pad or cut ``text`` to exactly ``width`` terminal cells (CJK and emoji count two)."""
    if width <= 0:
        return ""
    if cell_len(text) > width:
        return set_cell_size(text, width - 1) + "…"
    return set_cell_size(text, width)


def local_time(value: datetime | None, fmt: str | None = None) -> str:
    """A stored UTC time shown in the machine's local zone.

    Without ``fmt``, month and day in the interface language's order (``11-20 10:00``;
    Spanish and Vietnamese ``20/11 10:00``).
    """
    if value is None:
        return ""
    if fmt is None:
        fmt = "%d/%m %H:%M" if current_language() in _DAY_FIRST else "%m-%d %H:%M"
    return value.astimezone().strftime(fmt)


def money(minor: int, currency: str) -> str:
    """Minor units as an amount with its currency sign, written the interface language's
    way (``¥78.00``; Spanish ``78,00 ¥``)."""
    return format_money(minor, currency, language=current_language())
