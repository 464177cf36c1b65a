"""Drafts of the demo shop's records, and how they become validated records.

:class:`Drafts` numbers everything in the order it is added (``cus-001``,
``ord-0001``, ``msg-00001``...), draws what the seed varies (phones, addresses, order
numbers, carriers, tracking numbers) and derives what follows from the times given
(an order's events, a conversation's waiting clock and unread count), so a story
never types a field that could contradict another.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from cs_console.demo.catalogue import Catalogue
from cs_console.demo.shop import (
    AGENTS,
    CARRIERS,
    CURRENCY,
    SHOP_CLOCK,
    TRACKING_SHAPES,
    DemoShop,
    yuan,
)
from cs_console.domain import (
    ConversationStatus,
    FlagColour,
    Group,
    MessageKind,
    OrderEventKind,
    OrderStatus,
)
from cs_console.protocol import (
    ConversationRecord,
    CustomerRecord,
    MessageRecord,
    OrderEventRecord,
    OrderItem,
    OrderRecord,
    RemarkRecord,
)

_M, _D = 60, 86400


class Say(NamedTuple):
    """One chat line: ``ago`` seconds before now; ``who`` is the agent or note author
    when not the conversation's agent."""

    ago: int
    kind: MessageKind
    body: str
    who: str | None = None


@dataclass
class CustomerDraft:
    """A customer, with the phone and address the seed gave them."""

    id: str
    name: str
    language: str
    email: str | None
    phone: str
    city: str
    district: str
    address: str
    notes: str
    tags: tuple[str, ...] = ()
    has_story: bool = False


@dataclass
class OrderDraft:
    """An order being built; times are absolute."""

    id: str
    number: str
    customer: CustomerDraft
    status: OrderStatus
    items: list[OrderItem]
    address: str
    placed: datetime
    paid: datetime | None = None
    group_formed: datetime | None = None
    shipped: datetime | None = None
    delivered: datetime | None = None
    carrier: str | None = None
    tracking: str | None = None

    @property
    def total(self) -> int:
        """The order's total in fen."""
        return sum(item.quantity * item.unit_price_minor for item in self.items)


@dataclass
class _Event:
    order: OrderDraft
    kind: OrderEventKind
    at: datetime
    detail: str
    seq: int  # keeps events that share a timestamp in the order they were added


@dataclass
class Drafts:
    """Accumulates drafts; :meth:`finish` turns them into validated records."""

    now: datetime
    rng: random.Random
    catalogue: Catalogue
    customers: list[CustomerDraft] = field(default_factory=list)
    orders: list[OrderDraft] = field(default_factory=list)
    events: list[_Event] = field(default_factory=list)
    remarks: list[RemarkRecord] = field(default_factory=list)
    conversations: list[ConversationRecord] = field(default_factory=list)
    messages: list[MessageRecord] = field(default_factory=list)
    _by_name: dict[str, CustomerDraft] = field(default_factory=dict)

    def at(self, ago: float) -> datetime:
        """The moment ``ago`` seconds before now."""
        return self.now - timedelta(seconds=ago)

    # customers ------------------------------------------------------------------

    def add_customers(self) -> None:
        """Every customer of the catalogue, numbered in its order."""
        for index, row in enumerate(self.catalogue.customers, start=1):
            customer = CustomerDraft(
                id=f"cus-{index:03d}",
                name=row.name,
                language=row.language,
                email=row.email,
                phone=self.phone(),
                city=row.city,
                district=self.catalogue.cities[row.city].district,
                address=self.address(row.city),
                notes=row.notes,
                tags=row.tags,
            )
            self.customers.append(customer)
            self._by_name[row.name] = customer

    def customer(self, name: str) -> CustomerDraft:
        """The customer called ``name``, marked as having a story."""
        customer = self._by_name[name]
        customer.has_story = True
        return customer

    def phone(self) -> str:
        """A mobile number, masked the way platforms show them."""
        r = self.rng
        return f"1{r.choice('35789')}{r.randint(0, 9)}****{r.randint(0, 9999):04d}"

    def address(self, city: str) -> str:
        """A street address in ``city``."""
        place, r = self.catalogue.cities[city], self.rng
        if place.township:
            return f"{place.area}{place.streets[0]}{r.randint(1, 6)} 组"
        return (
            f"{place.area}{r.choice(place.streets)} {r.randint(1, 399)} 号 "
            f"{r.randint(1, 12)} 栋 {r.randint(1, 18)}{r.randint(1, 4):02d} 室"
        )

    # orders ---------------------------------------------------------------------

    def tracking(self, carrier: str) -> str:
        """A tracking number in ``carrier``'s shape."""
        prefix, digits = TRACKING_SHAPES[carrier]
        return f"{prefix}{self.rng.randrange(10**digits):0{digits}d}"

    def order(
        self,
        customer: CustomerDraft,
        status: OrderStatus,
        items: Sequence[tuple[str, int]],
        *,
        placed: int,
        paid: int | None = None,
        group_formed: int | None = None,
        shipped: int | None = None,
        delivered: int | None = None,
        carrier: str | None = None,
        scans: Sequence[tuple[int, str]] | None = None,
        signed: str | None = None,
        group_buy: bool = False,
    ) -> OrderDraft:
        """Draft an order and the events its timestamps imply (all times in seconds ago).

        Raises:
            ValueError: the times run backwards or lie in the future.
        """
        steps = [t for t in (placed, paid, group_formed, shipped, delivered) if t is not None]
        if steps != sorted(steps, reverse=True) or steps[-1] < 0:
            raise ValueError(f"order times out of sequence: {steps}")
        r = self.rng
        placed_at = self.at(placed)
        products = self.catalogue.products
        draft = OrderDraft(
            id=f"ord-{len(self.orders) + 1:04d}",
            number=f"{placed_at.astimezone(SHOP_CLOCK):%y%m%d}-{r.randrange(10**15):015d}",
            customer=customer,
            status=status,
            items=[
                OrderItem(
                    sku=sku,
                    name=products[sku].label,
                    quantity=quantity,
                    unit_price_minor=products[sku].price,
                )
                for sku, quantity in items
            ],
            address=f"{customer.name}，{customer.phone}，{customer.address}",
            placed=placed_at,
        )
        self.orders.append(draft)
        group_buy = group_buy or group_formed is not None
        self.event(draft, OrderEventKind.PLACED, placed, "发起拼单" if group_buy else "")
        if paid is not None:
            draft.paid = self.at(paid)
            method = r.choice(("微信支付", "支付宝", "银行卡"))
            self.event(draft, OrderEventKind.PAID, paid, f"{yuan(draft.total)} · {method}")
        if group_formed is not None:
            draft.group_formed = self.at(group_formed)
            self.event(draft, OrderEventKind.GROUP_FORMED, group_formed, "拼单成功，2 人成团")
        if shipped is not None:
            draft.carrier = carrier or r.choice(CARRIERS)
            draft.tracking = self.tracking(draft.carrier)
            draft.shipped = self.at(shipped)
            self.event(
                draft,
                OrderEventKind.SHIPPED,
                shipped,
                f"{draft.carrier} {draft.tracking} · 【义乌市】已揽收",
            )
            for ago, text in scans if scans is not None else self._scans(draft, shipped, delivered):
                self.event(draft, OrderEventKind.LOGISTICS_SCAN, ago, text)
        if delivered is not None:
            draft.delivered = self.at(delivered)
            how = signed or r.choice(("本人签收", "本人签收", "已放入快递柜", "菜鸟驿站代收"))
            where = f"【{customer.city}市{customer.district}】"
            self.event(draft, OrderEventKind.DELIVERED, delivered, f"{where}已签收，{how}")
        return draft

    def _scans(
        self, draft: OrderDraft, shipped: int, delivered: int | None
    ) -> list[tuple[int, str]]:
        """A plausible route from the Yiwu warehouse to the customer's district."""
        city, district = draft.customer.city, draft.customer.district
        route = (
            (0.08, f"【金华转运中心】已发出，下一站【{city}转运中心】"),
            (0.6, f"【{city}转运中心】已到达"),
            (0.82, f"【{city}市{district}】已到达{district}营业点"),
            (0.93, f"【{city}市{district}】派件中，快递员正在派送"),
        )
        # Delivered parcels show the whole route; ones still travelling only the
        # steps a three-day trip would have reached by now.
        span = shipped - delivered if delivered is not None else 3 * _D
        scans = [(shipped - int(span * share), text) for share, text in route]
        floor = delivered if delivered is not None else 10 * _M
        return [(ago, text) for ago, text in scans if ago > floor]

    def event(self, order: OrderDraft, kind: OrderEventKind, ago: int, detail: str = "") -> None:
        """Add an event to ``order``'s timeline."""
        self.events.append(_Event(order, kind, self.at(ago), detail, len(self.events)))

    def remark(
        self, order: OrderDraft, flag: FlagColour, reason: str, author: str, ago: int
    ) -> None:
        """A flagged remark: the reason only. The console signs it the way the seeds ask
        (reason — agent month-day) from its author and time, as it does the agent's own."""
        self.remarks.append(
            RemarkRecord(
                id=f"rmk-{len(self.remarks) + 1:03d}",
                order_id=order.id,
                flag=flag,
                text=reason,
                author=author,
                created_at=self.at(ago),
            )
        )

    # conversations --------------------------------------------------------------

    def conversation(
        self,
        conv_id: str,
        customer: CustomerDraft,
        group: Group,
        status: ConversationStatus,
        assignee: str | None,
        lines: Sequence[Say],
        *,
        snooze_for: int | None = None,
        channel: str = "app",
        subject: str | None = None,
    ) -> None:
        """Add a chat (or an email conversation, with its ``subject``); its queue fields
        are derived from the lines, never typed by hand.

        Raises:
            ValueError: the lines do not run forward, lie in the future, or an agent
                line has no author.
        """
        agos = [line.ago for line in lines]
        if not lines or agos != sorted(agos, reverse=True) or len(set(agos)) != len(agos):
            raise ValueError(f"{conv_id}: lines must run strictly forward in time")
        if agos[-1] < 0:
            raise ValueError(f"{conv_id}: a line lies in the future")
        last_agent = -1
        for index, line in enumerate(lines):
            author: str | None
            if line.kind is MessageKind.CUSTOMER:
                author = customer.name
            elif line.kind is MessageKind.SYSTEM:
                author = "system"
            else:
                author = line.who or assignee
            if author is None:
                raise ValueError(f"{conv_id}: line {index} has no author")
            if line.kind is MessageKind.AGENT:
                last_agent = index
            self.messages.append(
                MessageRecord(
                    id=f"msg-{len(self.messages) + 1:05d}",
                    conversation_id=conv_id,
                    kind=line.kind,
                    author=author,
                    body=line.body,
                    created_at=self.at(line.ago),
                )
            )
        # Only customer lines after the last agent reply keep a customer waiting;
        # notes and system events do not answer anyone.
        unanswered = [ln for ln in lines[last_agent + 1 :] if ln.kind is MessageKind.CUSTOMER]
        last_activity = self.at(lines[-1].ago)
        self.conversations.append(
            ConversationRecord(
                id=conv_id,
                customer_id=customer.id,
                channel=channel,
                subject=subject,
                group=group,
                status=status,
                assignee=assignee,
                snoozed_until=None if snooze_for is None else self.at(-snooze_for),
                waiting_since=self.at(unanswered[0].ago) if unanswered else None,
                last_activity_at=last_activity,
                unread_count=len(unanswered),
                updated_at=last_activity,
            )
        )

    # records --------------------------------------------------------------------

    def finish(self) -> DemoShop:
        """The records, validated; customers are touched when their last record was."""
        by_order: dict[str, list[_Event]] = {}
        for ev in sorted(self.events, key=lambda e: (e.order.id, e.at, e.seq)):
            by_order.setdefault(ev.order.id, []).append(ev)
        order_events: list[OrderEventRecord] = []
        orders: list[OrderRecord] = []
        touched: dict[str, datetime] = {}
        for draft in self.orders:
            timeline = by_order[draft.id]
            for ev in timeline:
                order_events.append(
                    OrderEventRecord(
                        id=f"evt-{len(order_events) + 1:05d}",
                        order_id=draft.id,
                        kind=ev.kind,
                        at=ev.at,
                        detail=ev.detail,
                    )
                )
            updated = timeline[-1].at
            orders.append(
                OrderRecord(
                    id=draft.id,
                    number=draft.number,
                    customer_id=draft.customer.id,
                    status=draft.status,
                    items=draft.items,
                    total_minor=draft.total,
                    currency=CURRENCY,
                    carrier=draft.carrier,
                    tracking_number=draft.tracking,
                    shipping_address=draft.address,
                    placed_at=draft.placed,
                    paid_at=draft.paid,
                    group_formed_at=draft.group_formed,
                    shipped_at=draft.shipped,
                    delivered_at=draft.delivered,
                    updated_at=updated,
                )
            )
            cid = draft.customer.id
            touched[cid] = max(touched.get(cid, updated), updated)
        for conv in self.conversations:
            cid = conv.customer_id
            touched[cid] = max(touched.get(cid, conv.updated_at), conv.updated_at)
        customers = [
            CustomerRecord(
                id=c.id,
                name=c.name,
                email=c.email,
                phone=c.phone,
                language=c.language,
                notes=c.notes,
                tags=list(c.tags),
                updated_at=touched.get(c.id, self.at(30 * _D)),
            )
            for c in self.customers
        ]
        return DemoShop(
            agents=list(AGENTS),
            customers=customers,
            conversations=list(self.conversations),
            messages=list(self.messages),
            orders=orders,
            order_events=order_events,
            remarks=list(self.remarks),
        )
