"""Telling a story: one story file's orders, events, remarks and chat, as drafts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cs_console.demo.builder import Story, StoryOrder
from cs_console.demo.drafts import CustomerDraft, Drafts, OrderDraft, Say
from cs_console.demo.notation import Offset, parse_offset, render
from cs_console.demo.shop import RETURN_ADDRESS, SHOP_CLOCK, yuan


@dataclass
class _Told:
    """An order as its story's texts see it: the first shipment, and what came after."""

    draft: OrderDraft
    # The first shipment's: a reissue may replace them on the order, not in the texts.
    carrier: str | None
    tracking: str | None
    reissue: str | None = None
    new_address: str | None = None


def tell(story: Story, drafts: Drafts) -> None:
    """Add ``story``'s records to ``drafts``.

    The seed is drawn from in a fixed order: each order as it is placed, then each
    order's reissued parcel and new address, so a story's ids and numbers never move.
    """
    customer = drafts.customer(story.customer)
    placed = [(spec, _place(spec, customer, drafts)) for spec in story.orders]
    told: list[tuple[StoryOrder, _Told]] = []
    for spec, draft in placed:
        order = _Told(draft, draft.carrier, draft.tracking)
        if spec.reissue is not None:
            order.reissue = drafts.tracking(spec.reissue)
            if spec.reissue_replaces:
                draft.carrier, draft.tracking = spec.reissue, order.reissue
        if spec.readdressed:
            order.new_address = drafts.address(customer.city)
            draft.address = f"{customer.name}，{customer.phone}，{order.new_address}"
        told.append((spec, order))
    fill = _filler(story, drafts, customer, told)
    for spec, order in told:
        for event in spec.events:
            at = _ago(drafts, event.ago)
            drafts.event(order.draft, event.kind, at, render(event.detail, fill))
        for remark in spec.remarks:
            at = _ago(drafts, remark.ago)
            drafts.remark(order.draft, remark.flag, render(remark.text, fill), remark.by, at)
    drafts.conversation(
        story.conversation_id,
        customer,
        story.group,
        story.status,
        story.assignee,
        [
            Say(_ago(drafts, line.ago), line.kind, render(line.body, fill), line.by)
            for line in story.lines
        ],
        # snooze_for is a span forward from now, written in the offset notation.
        snooze_for=None if story.snooze_for is None else story.snooze_for.seconds,
        channel=story.channel,
        subject=None if story.subject is None else render(story.subject, fill),
    )


def _place(spec: StoryOrder, customer: CustomerDraft, drafts: Drafts) -> OrderDraft:
    def ago(offset: Offset | None) -> int | None:
        return None if offset is None else _ago(drafts, offset)

    return drafts.order(
        customer,
        spec.status,
        spec.items,
        placed=_ago(drafts, spec.placed),
        paid=ago(spec.paid),
        group_formed=ago(spec.group_formed),
        shipped=ago(spec.shipped),
        delivered=ago(spec.delivered),
        carrier=spec.carrier,
        scans=None if spec.scans is None else [(_ago(drafts, a), t) for a, t in spec.scans],
        signed=spec.signed,
        group_buy=spec.group_buy,
    )


def _filler(
    story: Story,
    drafts: Drafts,
    customer: CustomerDraft,
    told: list[tuple[StoryOrder, _Told]],
) -> Callable[[str, str | None], str]:
    """What each placeholder of ``story`` stands for (the reader has checked them all)."""
    by_name = {spec.name: order for spec, order in told if spec.name}

    def fill(name: str, argument: str | None) -> str:
        if name == "date":
            moment = drafts.at(_ago(drafts, parse_offset(argument or "")))
            return moment.astimezone(SHOP_CLOCK).strftime("%m-%d")
        if name == "product":
            return drafts.catalogue.products[argument or ""].label
        if name == "return_address":
            return RETURN_ADDRESS
        if name == "address":
            return customer.address
        order = told[0][1] if argument is None else by_name[argument]
        value = {
            "total": yuan(order.draft.total),
            "number": order.draft.number,
            "carrier": order.carrier,
            "tracking": order.tracking,
            "reissue": order.reissue,
            "new_address": order.new_address,
        }[name]
        if value is None:  # the reader refuses such a story; this is a second fence
            raise ValueError(f"{story.source}: {{{name}}} has no value")
        return value

    return fill


def _ago(drafts: Drafts, offset: Offset) -> int:
    return offset.ago(drafts.now)
