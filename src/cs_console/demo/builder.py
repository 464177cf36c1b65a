"""The demo shop's stories, read from ``story_files/*.toml``: the format, and its reader.

One file tells one story: a customer (by name, from ``shop.toml``), their order(s) with
the events and flagged remarks on each, and the one conversation in which they talk to
the shop. ``telling.py`` turns a story into records; this module reads and checks it.

Times are **offsets**: how long before ``now`` something happened, so the demo always
looks current. An offset is a string of terms, each a whole number and a unit (``d``
days, ``h`` hours, ``m`` minutes, ``s`` seconds); the terms add up, and a term with a
``-`` takes away: ``"4m 30s"``, ``"47h 3m"``, ``"10d 5h -3m"`` (three minutes after
``10d 5h`` ago). A leading ``night`` counts from the latest 00:40 on the shop's clock
that is at least 20 minutes old, for a message left after the shop closed: ``"night"``,
``"night 6m"`` (six minutes before that), ``"night -1m"`` (one after). Everything a
story tells has happened, so offsets are never below zero, except in ``{date:...}``
(``{date:-3d 3h}`` is a day in the future); ``snooze_for`` is a span forward from now,
written the same way.

Texts (message bodies, an email's subject, event details, remarks; scans are plain) may
hold **placeholders** for what the builder knows only when it runs. ``ORDER`` is an
order's ``name``; without it, the story's first order:

* ``{total}``, ``{total:ORDER}``: the order's total in yuan (``¥89.00``);
* ``{number}``, ``{carrier}``, ``{tracking}`` (also ``:ORDER``): its number, and the
  carrier and tracking number it first shipped with;
* ``{reissue}`` (``:ORDER``): the tracking number of the order's ``reissue`` parcel;
* ``{new_address}`` (``:ORDER``): the address a ``readdressed`` order now goes to;
* ``{address}``: the customer's address on file;
* ``{date:OFFSET}``: that moment's month-day on the shop's clock (``{date:-3d 3h}``);
* ``{product:SKU}``: the product's name as order lines show it;
* ``{return_address}``: where customers send returns.

A story file::

    customer = "李晓雯"          # a name from shop.toml
    language = "zh-CN"          # the customer's language: en, zh-CN, vi or es

    [[orders]]                  # one table per order, oldest first
    name = "lamp"               # optional: for placeholders when there are several
    status = "refund-requested" # an OrderStatus value
    items = { CUP-TH-500-BK = 1 }   # SKU = quantity
    placed = "47h 3m"           # also paid, group_formed, shipped, delivered
    carrier = "ZTO"             # SF ZTO YTO YUNDA EMS JT; drawn from the seed if absent
    scans = [{ ago = "9d", scan = "【西安转运中心】已到达" }]  # else a route is drawn
    signed = "本人签收"          # how it was signed for; drawn if absent
    group_buy = true            # a group-buy order (implied by group_formed)
    reissue = "SF"              # a second parcel, tracking number drawn from the seed
    reissue_replaces = true     # ... which the order now shows (the first went back)
    readdressed = true          # the customer gave a new address, drawn from the seed
    events = [{ ago = "40m", kind = "refund-requested", detail = "仅退款 {total}" }]
    remarks = [{ ago = "8m", flag = "red", by = "Mei", text = "the reason only" }]

    [conversation]
    id = "conv-001"             # unique; stories are told in the order of their ids
    group = "after-sale"        # pre-sale or after-sale
    status = "open"             # open, pending, snoozed or resolved
    assignee = "Mei"            # optional; agent lines and notes are theirs
    channel = "web"             # optional, "app" if absent; "web", "email" or "app"
    subject = "关于发票"         # an email's subject (channel "email" only; optional)
    snooze_for = "3d -3h"       # optional: how long from now it sleeps
    messages = [                # oldest first; exactly one of customer, agent, note,
      { ago = "12m", customer = "在吗？" },   # system holds the body; "by" names
      { ago = "8m", note = "...", by = "Sofia" },  # another agent
    ]

Values drawn from the seed (order numbers, payment methods, carriers and tracking
numbers, then ``reissue`` and ``readdressed``) are drawn in that order, story by story,
so the same ``(now, seed)`` always gives the same shop.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from cs_console.demo.catalogue import Catalogue, load_catalogue
from cs_console.demo.notation import (
    ORDER_PLACEHOLDERS,
    OTHER_PLACEHOLDERS,
    Offset,
    parse_offset,
    placeholders,
)
from cs_console.demo.resources import DemoDataError, Fields, read_toml_folder
from cs_console.demo.shop import AGENTS, CARRIER_CODES, LANGUAGES
from cs_console.domain import (
    ConversationStatus,
    FlagColour,
    Group,
    MessageKind,
    OrderEventKind,
    OrderStatus,
)

E = TypeVar("E", bound=StrEnum)


# --- the story, as read -----------------------------------------------------------------


@dataclass(frozen=True)
class StoryEvent:
    """Something that happened to an order, beyond the steps its times imply."""

    kind: OrderEventKind
    ago: Offset
    detail: str


@dataclass(frozen=True)
class StoryRemark:
    """A flagged remark on an order: the reason only (the console signs it)."""

    flag: FlagColour
    ago: Offset
    by: str
    text: str


@dataclass(frozen=True)
class StoryOrder:
    """An order in a story, with its events and remarks."""

    name: str | None
    status: OrderStatus
    items: tuple[tuple[str, int], ...]
    placed: Offset
    paid: Offset | None
    group_formed: Offset | None
    shipped: Offset | None
    delivered: Offset | None
    carrier: str | None
    scans: tuple[tuple[Offset, str], ...] | None
    signed: str | None
    group_buy: bool
    reissue: str | None
    reissue_replaces: bool
    readdressed: bool
    events: tuple[StoryEvent, ...]
    remarks: tuple[StoryRemark, ...]


@dataclass(frozen=True)
class StoryLine:
    """One chat line; ``by`` is the agent when not the conversation's assignee."""

    ago: Offset
    kind: MessageKind
    body: str
    by: str | None


@dataclass(frozen=True)
class Story:
    """One story file."""

    name: str
    source: str
    customer: str
    language: str
    conversation_id: str
    group: Group
    status: ConversationStatus
    assignee: str | None
    channel: str
    subject: str | None
    snooze_for: Offset | None
    orders: tuple[StoryOrder, ...]
    lines: tuple[StoryLine, ...]

    def texts(self) -> list[str]:
        """Every text in the story that may hold placeholders (scans may not)."""
        found = [line.body for line in self.lines]
        if self.subject is not None:
            found.append(self.subject)
        for order in self.orders:
            found += [event.detail for event in order.events]
            found += [remark.text for remark in order.remarks]
        return found

    def offsets(self) -> list[Offset]:
        """Every moment the story places in the past."""
        found = [line.ago for line in self.lines]
        for order in self.orders:
            steps = (order.placed, order.paid, order.group_formed, order.shipped, order.delivered)
            found += [step for step in steps if step is not None]
            found += [ago for ago, _ in order.scans or ()]
            found += [event.ago for event in order.events]
            found += [remark.ago for remark in order.remarks]
        return found


# --- reading ------------------------------------------------------------------------------


@functools.cache
def load_stories() -> tuple[Story, ...]:
    """Every story file, read and checked, in the order of their conversation ids
    (once per process).

    Raises:
        DemoDataError: a file is malformed or refers to something that does not exist.
    """
    catalogue = load_catalogue()
    stories = [
        read_story(label, data, catalogue) for label, data in read_toml_folder("story_files")
    ]
    seen: dict[str, str] = {}
    for story in stories:
        if story.conversation_id in seen:
            raise DemoDataError(
                f"{story.source}: conversation {story.conversation_id} is also"
                f" {seen[story.conversation_id]}'s"
            )
        seen[story.conversation_id] = story.source
    return tuple(sorted(stories, key=lambda story: story.conversation_id))


def read_story(label: str, data: dict[str, Any], catalogue: Catalogue) -> Story:
    """Check one parsed story file (``label`` is its path under the package, which
    names the story) against the format and the catalogue.

    Raises:
        DemoDataError: naming the file and the key at fault.
    """
    top = Fields(label, data)
    customers = {c.name: c for c in catalogue.customers}
    customer = top.text("customer")
    language = top.text("language")
    if customer not in customers:
        raise top.fail(f"no customer {customer} in shop.toml")
    if language not in LANGUAGES or customers[customer].language != language:
        raise top.fail(f"{customer} writes in {customers[customer].language}, not {language}")
    orders = tuple(
        _order(Fields(f"{label}: orders[{index}]", row), catalogue)
        for index, row in enumerate(top.items("orders"))
    )
    chat = Fields(f"{label}: conversation", top.table("conversation"))
    top.done()
    if not orders:
        raise top.fail("a story needs at least one order")
    snooze = chat.maybe_text("snooze_for")
    assignee = chat.maybe_text("assignee")
    story = Story(
        name=label.removeprefix("story_files/").removesuffix(".toml"),
        source=label,
        customer=customer,
        language=language,
        conversation_id=chat.text("id"),
        group=_choice(chat, "group", Group),
        status=_choice(chat, "status", ConversationStatus),
        assignee=_agent(chat, assignee),
        channel=chat.maybe_text("channel") or "app",
        subject=chat.maybe_text("subject"),
        snooze_for=None if snooze is None else _offset(chat, snooze),
        orders=orders,
        lines=tuple(
            _line(Fields(f"{chat.where}: messages[{index}]", row))
            for index, row in enumerate(chat.items("messages"))
        ),
    )
    chat.done()
    if story.snooze_for is not None and (story.snooze_for.night or story.snooze_for.seconds <= 0):
        raise chat.fail("snooze_for is a span forward from now, such as '20h'")
    if story.subject is not None and story.channel != "email":
        raise chat.fail(f"a subject is for an email conversation, not channel {story.channel!r}")
    if re.fullmatch(r"conv-\d{3}", story.conversation_id) is None:
        raise chat.fail(f"id {story.conversation_id!r} is not like conv-001")
    # A "night" offset is at least 20 minutes old, so only its terms can push it forward.
    future = [o.text for o in story.offsets() if o.seconds < (-20 * 60 if o.night else 0)]
    if future:
        raise top.fail(f"{', '.join(future)} lies in the future")
    _check_placeholders(top, story, catalogue)
    return story


def _order(fields: Fields, catalogue: Catalogue) -> StoryOrder:
    def when(key: str) -> Offset | None:
        text = fields.maybe_text(key)
        return None if text is None else _offset(fields, text)

    items: list[tuple[str, int]] = []
    for sku, quantity in fields.table("items").items():
        if sku not in catalogue.products:
            raise fields.fail(f"no product {sku} in shop.toml")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            raise fields.fail(f"items.{sku} must be a quantity of 1 or more")
        items.append((sku, quantity))
    scans = tuple(_scan(Fields(f"{fields.where}: scans", row)) for row in fields.items("scans"))
    placed = when("placed")
    if placed is None or not items:
        raise fields.fail("an order needs placed and items")
    order = StoryOrder(
        name=fields.maybe_text("name"),
        status=_choice(fields, "status", OrderStatus),
        items=tuple(items),
        placed=placed,
        paid=when("paid"),
        group_formed=when("group_formed"),
        shipped=when("shipped"),
        delivered=when("delivered"),
        carrier=_carrier(fields, fields.maybe_text("carrier")),
        # No scans listed: the builder draws a plausible route instead.
        scans=scans or None,
        signed=fields.maybe_text("signed"),
        group_buy=fields.flag("group_buy"),
        reissue=_carrier(fields, fields.maybe_text("reissue")),
        reissue_replaces=fields.flag("reissue_replaces"),
        readdressed=fields.flag("readdressed"),
        events=tuple(
            _event(Fields(f"{fields.where}: events[{index}]", row))
            for index, row in enumerate(fields.items("events"))
        ),
        remarks=tuple(
            _remark(Fields(f"{fields.where}: remarks[{index}]", row))
            for index, row in enumerate(fields.items("remarks"))
        ),
    )
    fields.done()
    if order.reissue_replaces and order.reissue is None:
        raise fields.fail("reissue_replaces needs a reissue")
    return order


def _event(fields: Fields) -> StoryEvent:
    event = StoryEvent(
        kind=_choice(fields, "kind", OrderEventKind),
        ago=_offset(fields, fields.text("ago")),
        detail=fields.maybe_text("detail") or "",
    )
    fields.done()
    return event


def _remark(fields: Fields) -> StoryRemark:
    remark = StoryRemark(
        flag=_choice(fields, "flag", FlagColour),
        ago=_offset(fields, fields.text("ago")),
        by=_agent(fields, fields.text("by")) or "",
        text=fields.text("text"),
    )
    fields.done()
    return remark


def _line(fields: Fields) -> StoryLine:
    bodies = [
        (kind, body) for kind in MessageKind if (body := fields.maybe_text(kind.value)) is not None
    ]
    if len(bodies) != 1:
        raise fields.fail("a message needs exactly one of customer, agent, note, system")
    (kind, body), by = bodies[0], fields.maybe_text("by")
    if by is not None and kind not in (MessageKind.AGENT, MessageKind.NOTE):
        raise fields.fail("only an agent line or a note has a 'by'")
    line = StoryLine(ago=_offset(fields, fields.text("ago")), kind=kind, body=body, by=by)
    _agent(fields, by)
    fields.done()
    return line


def _check_placeholders(fields: Fields, story: Story, catalogue: Catalogue) -> None:
    """Refuse a placeholder the builder could not fill, before anything is built."""
    named = {order.name: order for order in story.orders if order.name is not None}
    for text in story.texts():
        for name, argument in placeholders(text):
            where = f"{{{name}}} in {text!r}"
            if name in ORDER_PLACEHOLDERS:
                order = story.orders[0] if argument is None else named.get(argument)
                if order is None:
                    raise fields.fail(f"{where}: no order named {argument}")
                if name in ("carrier", "tracking") and order.shipped is None:
                    raise fields.fail(f"{where}: the order has not shipped")
                if (name == "reissue" and order.reissue is None) or (
                    name == "new_address" and not order.readdressed
                ):
                    raise fields.fail(f"{where}: the order has no {name}")
            elif name not in OTHER_PLACEHOLDERS:
                raise fields.fail(f"{where}: unknown placeholder")
            elif OTHER_PLACEHOLDERS[name] != (argument is not None):
                raise fields.fail(f"{where}: takes {'an' if argument is None else 'no'} argument")
            elif name == "date":
                _offset(fields, argument or "")
            elif name == "product" and argument not in catalogue.products:
                raise fields.fail(f"{where}: no product {argument} in shop.toml")


def _offset(fields: Fields, text: str) -> Offset:
    try:
        return parse_offset(text)
    except DemoDataError as error:
        raise fields.fail(str(error)) from None


def _choice(fields: Fields, key: str, kind: type[E]) -> E:
    value = fields.text(key)
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise fields.fail(f"{key} {value!r} is not one of {allowed}") from None


def _carrier(fields: Fields, code: str | None) -> str | None:
    if code is not None and code not in CARRIER_CODES:
        raise fields.fail(f"carrier {code!r} is not one of {', '.join(CARRIER_CODES)}")
    return None if code is None else CARRIER_CODES[code]


def _agent(fields: Fields, name: str | None) -> str | None:
    if name is not None and name not in {agent.name for agent in AGENTS}:
        raise fields.fail(f"no agent named {name}")
    return name


def _scan(fields: Fields) -> tuple[Offset, str]:
    scan = (_offset(fields, fields.text("ago")), fields.text("scan"))
    fields.done()
    # Scans are drawn up with the order, before the story's draws exist: plain text only.
    if placeholders(scan[1]):
        raise fields.fail(f"a scan takes no placeholders: {scan[1]!r}")
    return scan
