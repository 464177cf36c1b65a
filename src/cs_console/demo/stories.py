"""The demo shop's data: one small home-goods store with a busy afternoon in its inbox.

Everything here is invented. :func:`build_demo_shop` returns the same records for
the same ``(now, seed)``, and every time in them is an offset from ``now`` so the
demo always looks current: a customer who "has waited four minutes" has waited four
minutes whenever the server starts.

The hand-written stories (one per after-sales case of DOMAIN.md and the common
pre-sale chats) are fixed and use no randomness, so their ids never move;
``seed`` only varies the filler orders, addresses, phone numbers and tracking
numbers around them. :data:`STORY_CONVERSATIONS` names each story's conversation
by the quick-reply scenario it exercises.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import NamedTuple

from cs_console.domain import (
    ConversationStatus,
    FlagColour,
    Group,
    MessageKind,
    OrderEventKind,
    OrderStatus,
    Role,
)
from cs_console.protocol import (
    AgentRecord,
    ConversationRecord,
    CustomerRecord,
    MessageRecord,
    OrderEventRecord,
    OrderItem,
    OrderRecord,
    RemarkRecord,
)

SHOP_NAME = "Lotus & Pine Home Store"
RETURN_ADDRESS = (
    "浙江省金华市义乌市稠江街道杨村路 300 号 莲松家居仓库 售后组 收，"
    "电话 0579-8555 0172（请勿到付，退货单号请填写在退款申请里）"
)
CURRENCY = "CNY"

#: The carriers the shop ships with, spelled as agents see them on the waybill.
SF, ZTO, YTO, YUNDA, EMS, JT = (
    "顺丰速运 SF Express",
    "中通快递 ZTO",
    "圆通速递 YTO",
    "韵达快递 Yunda",
    "EMS",
    "J&T Express",
)
CARRIERS: tuple[str, ...] = (SF, ZTO, YTO, YUNDA, EMS, JT)

# Seconds, so the stories below read like a clock: 4 * _M is "four minutes ago".
_S = 1
_M = 60
_H = 3600
_D = 86400

# The shop and its customers live in China; remark dates follow the shop's clock.
_CST = timezone(timedelta(hours=8), "CST")

# --- agents --------------------------------------------------------------------

LAN, JUN, MEI, HAO, SOFIA = "Lan", "Jun", "Mei", "Hao", "Sofia"

_AGENTS: tuple[AgentRecord, ...] = (
    AgentRecord(name=LAN, role=Role.AGENT, group=Group.PRE_SALE),
    AgentRecord(name=JUN, role=Role.AGENT, group=Group.PRE_SALE),
    AgentRecord(name=MEI, role=Role.AGENT, group=Group.AFTER_SALE),
    AgentRecord(name=HAO, role=Role.AGENT, group=Group.AFTER_SALE),
    # The supervisor sits with after-sales, where complaints and approvals land.
    AgentRecord(name=SOFIA, role=Role.SUPERVISOR, group=Group.AFTER_SALE),
)

# --- catalogue -------------------------------------------------------------------


@dataclass(frozen=True)
class _Product:
    sku: str
    zh: str
    en: str
    price: int  # fen

    @property
    def label(self) -> str:
        return f"{self.zh} · {self.en}"


_CATALOGUE: dict[str, _Product] = {
    p.sku: p
    for p in (
        _Product("MUG-350-BL", "手工陶瓷马克杯 350ml 雾蓝", "Ceramic mug, mist blue", 3900),
        _Product("MUG-350-WH", "手工陶瓷马克杯 350ml 奶白", "Ceramic mug, cream", 3900),
        _Product("CUP-TH-500-BK", "云杉保温杯 500ml 曜黑", "Spruce thermos 500 ml, black", 8900),
        _Product("CUP-TH-500-WH", "云杉保温杯 500ml 月白", "Spruce thermos 500 ml, white", 8900),
        _Product("KTL-15-GL", "玻璃电热水壶 1.5L", "Glass electric kettle 1.5 L", 12900),
        _Product("KTL-08-TV", "便携折叠电热水壶 0.8L", "Folding travel kettle 0.8 L", 9900),
        _Product("TWL-BATH-GR", "长绒棉浴巾 70×140 灰", "Cotton bath towel, grey", 5900),
        _Product("TWL-BATH-WH", "长绒棉浴巾 70×140 白", "Cotton bath towel, white", 5900),
        _Product("TWL-FACE-3", "纯棉毛巾 三条装", "Cotton face towels, 3-pack", 3990),
        _Product("LMP-DESK-OAK", "原木护眼台灯", "Oak desk lamp", 15900),
        _Product("LMP-NIGHT-2", "感应小夜灯 两只装", "Motion night lights, pair", 2990),
        _Product(
            "BED-4P-18", "水洗棉四件套 1.8m 燕麦色", "Washed-cotton bedding 1.8 m, oat", 29900
        ),
        _Product(
            "BED-4P-15", "水洗棉四件套 1.5m 燕麦色", "Washed-cotton bedding 1.5 m, oat", 26900
        ),
        _Product("PIL-LATEX", "泰国乳胶枕", "Latex pillow", 12900),
        _Product("BLK-THROW", "针织沙发毯 130×160", "Knit throw blanket", 8900),
        _Product("VAS-GLASS", "手吹玻璃花瓶", "Hand-blown glass vase", 4500),
        _Product("BWL-SET-4", "日式陶瓷碗 四只装", "Ceramic bowls, set of 4", 6800),
        _Product("CHB-BAMBOO", "整竹砧板", "Bamboo chopping board", 4900),
        _Product("DIF-AROMA", "香薰加湿器", "Aroma diffuser", 13900),
        _Product("STR-BOX-3", "棉麻收纳箱 三件套", "Linen storage boxes, set of 3", 7900),
        _Product("SLP-HOME", "居家棉拖鞋", "Cotton house slippers", 2900),
        _Product("CRT-BLK", "遮光窗帘 1.5×2.7m", "Blackout curtain 1.5 x 2.7 m", 15900),
        _Product("TEA-SET", "旅行茶具套装", "Travel tea set", 11900),
        _Product("PLT-CER-8", "陶瓷餐盘 8 寸", "Ceramic dinner plate 8 in", 2500),
    )
}

# --- customers -------------------------------------------------------------------

# city key -> (province/city/district, district, streets). The key doubles as the
# name of the courier hub the parcel passes through ("成都转运中心").
_CITIES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "上海": ("上海市徐汇区", "徐汇区", ("漕溪北路", "宜山路", "天钥桥路")),
    "北京": ("北京市朝阳区", "朝阳区", ("望京西路", "朝阳北路", "东三环中路")),
    "广州": ("广东省广州市天河区", "天河区", ("天河北路", "体育东路", "员村二横路")),
    "深圳": ("广东省深圳市南山区", "南山区", ("科苑南路", "南海大道", "桃园路")),
    "杭州": ("浙江省杭州市西湖区", "西湖区", ("文三路", "古墩路", "天目山路")),
    "南京": ("江苏省南京市鼓楼区", "鼓楼区", ("中山北路", "汉中门大街", "广州路")),
    "成都": ("四川省成都市武侯区", "武侯区", ("科华北路", "武侯祠大街", "玉林南路")),
    "武汉": ("湖北省武汉市洪山区", "洪山区", ("珞喻路", "雄楚大道", "光谷大道")),
    "西安": ("陕西省西安市雁塔区", "雁塔区", ("小寨东路", "科技路", "雁塔南路")),
    "长沙": ("湖南省长沙市岳麓区", "岳麓区", ("麓山南路", "桐梓坡路", "枫林三路")),
    "厦门": ("福建省厦门市思明区", "思明区", ("厦禾路", "湖滨南路", "莲前西路")),
    "青岛": ("山东省青岛市市南区", "市南区", ("香港中路", "燕儿岛路", "山东路")),
    "重庆": ("重庆市渝中区", "渝中区", ("中山三路", "民族路", "大坪正街")),
    "南宁": ("广西壮族自治区南宁市青秀区", "青秀区", ("民族大道", "金湖路", "东葛路")),
    "昆明": ("云南省昆明市五华区", "五华区", ("东风西路", "青年路", "翠湖南路")),
    "乌鲁木齐": ("新疆维吾尔自治区乌鲁木齐市天山区", "天山区", ("解放南路", "新华南路")),
    "沈阳": ("辽宁省沈阳市和平区", "和平区", ("南京南街", "三好街", "太原北街")),
    "天津": ("天津市南开区", "南开区", ("鞍山西道", "南门外大街", "白堤路")),
    # A township the big couriers do not serve: the "outside the delivery area" story.
    "理塘": ("四川省甘孜藏族自治州理塘县", "理塘县", ("格木乡",)),
}

# (name, language, email, city, notes). Emails use reserved example domains and
# phone numbers are masked the way platforms show them, so nothing here can reach
# a real person.
_CUSTOMERS: tuple[tuple[str, str, str | None, str, str], ...] = (
    ("李晓雯", "zh-CN", "xiaowen.li@example.cn", "杭州", ""),
    ("马丽娟", "zh-CN", None, "乌鲁木齐", "偏远地区，物流慢，提前说明时效"),
    ("周婷婷", "zh-CN", "tingting.zhou@example.cn", "南京", "老客户，回购 4 次"),
    ("陈子豪", "zh-CN", "zihao.chen@example.cn", "深圳", ""),
    ("黄志强", "zh-CN", None, "广州", ""),
    ("张雨桐", "zh-CN", "yutong.zhang@example.cn", "广州", ""),
    ("罗建国", "zh-CN", None, "理塘", "只在中午方便接电话"),
    ("郑可欣", "zh-CN", "kexin.zheng@example.cn", "成都", ""),
    ("吴昊然", "zh-CN", "haoran.wu@example.cn", "北京", "投诉过客服态度，主管已介入"),
    ("孙浩宇", "zh-CN", None, "沈阳", ""),
    ("杨帆", "zh-CN", "fan.yang@example.cn", "武汉", ""),
    ("何雅琴", "zh-CN", "yaqin.he@example.cn", "长沙", ""),
    ("徐静怡", "zh-CN", None, "上海", ""),
    ("赵梦洁", "zh-CN", "mengjie.zhao@example.cn", "西安", ""),
    ("刘佳琪", "zh-CN", "jiaqi.liu@example.cn", "厦门", ""),
    ("梁宇航", "zh-CN", None, "青岛", ""),
    ("胡欣悦", "zh-CN", "xinyue.hu@example.cn", "重庆", ""),
    ("朱文博", "zh-CN", "wenbo.zhu@example.cn", "天津", "习惯发顺丰，愿意补运费"),
    ("林诗涵", "zh-CN", None, "厦门", ""),
    ("宋嘉怡", "zh-CN", "jiayi.song@example.cn", "杭州", ""),
    ("许慧敏", "zh-CN", "huimin.xu@example.cn", "南京", "老客户，常给好评"),
    ("谢晓燕", "zh-CN", None, "重庆", ""),
    ("冯雪", "zh-CN", "xue.feng@example.cn", "北京", ""),
    ("高俊杰", "zh-CN", None, "上海", ""),
    ("王思远", "zh-CN", "siyuan.wang@example.cn", "上海", ""),
    ("郭晨阳", "zh-CN", None, "成都", ""),
    ("唐明轩", "zh-CN", "mingxuan.tang@example.cn", "长沙", ""),
    ("韩磊", "zh-CN", None, "天津", ""),
    ("邓子涵", "zh-CN", "zihan.deng@example.cn", "深圳", ""),
    ("曹丽华", "zh-CN", None, "武汉", "家里有老人收件，送货前请电话联系"),
    (
        "Emily Carter",
        "en",
        "emily.carter@example.com",
        "上海",
        "Teaches at an international school",
    ),
    ("Daniel Brooks", "en", "daniel.brooks@example.com", "北京", "Buys for his company's office"),
    ("Olivia Hughes", "en", "olivia.hughes@example.com", "深圳", ""),
    ("James Whitfield", "en", "j.whitfield@example.com", "广州", ""),
    ("Priya Nair", "en", "priya.nair@example.com", "上海", ""),
    ("Marcus Lee", "en", "marcus.lee@example.com", "杭州", ""),
    ("Nguyễn Thị Hoa", "vi", "hoa.nguyen@example.net", "南宁", "Prefers to chat in Vietnamese"),
    ("Trần Văn Minh", "vi", None, "南宁", ""),
    ("Lê Thu Trang", "vi", "trang.le@example.net", "深圳", ""),
    ("Võ Ngọc Anh", "vi", "ngocanh.vo@example.net", "广州", ""),
    ("Phạm Quốc Bảo", "vi", None, "昆明", ""),
    ("Đặng Hải Yến", "vi", "haiyen.dang@example.net", "南宁", ""),
    ("Lucía Fernández", "es", "lucia.fernandez@example.es", "上海", ""),
    ("Mateo Ruiz", "es", "mateo.ruiz@example.es", "上海", ""),
    ("Valentina Gómez", "es", "valentina.gomez@example.es", "北京", "Prefiere mensajes cortos"),
    ("Alejandro Torres", "es", None, "广州", ""),
    ("Camila Morales", "es", "camila.morales@example.es", "成都", ""),
    ("Diego Herrera", "es", None, "杭州", ""),
)

# --- the public result -----------------------------------------------------------


@dataclass(frozen=True)
class DemoShop:
    """Every record the demo server starts with."""

    agents: list[AgentRecord]
    customers: list[CustomerRecord]
    conversations: list[ConversationRecord]
    messages: list[MessageRecord]
    orders: list[OrderRecord]
    order_events: list[OrderEventRecord]
    remarks: list[RemarkRecord]


# --- building blocks ---------------------------------------------------------------


def _yuan(minor: int) -> str:
    return f"¥{minor // 100}.{minor % 100:02d}"


def _md(value: datetime) -> str:
    """Month-day on the shop's clock, the way remarks are signed ("11-20")."""
    return value.astimezone(_CST).strftime("%m-%d")


class _Say(NamedTuple):
    """One scripted chat line: ``ago`` seconds before now."""

    ago: int
    kind: MessageKind
    body: str
    who: str | None = None  # agent/note author when not the conversation's agent


def _c(ago: int, body: str) -> _Say:
    return _Say(ago, MessageKind.CUSTOMER, body)


def _a(ago: int, body: str, who: str | None = None) -> _Say:
    return _Say(ago, MessageKind.AGENT, body, who)


def _n(ago: int, body: str, who: str | None = None) -> _Say:
    return _Say(ago, MessageKind.NOTE, body, who)


def _s(ago: int, body: str) -> _Say:
    return _Say(ago, MessageKind.SYSTEM, body)


@dataclass
class _Customer:
    id: str
    name: str
    language: str
    email: str | None
    phone: str
    city: str
    district: str
    address: str
    notes: str
    has_story: bool = False


@dataclass
class _Order:
    id: str
    number: str
    customer: _Customer
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
        return sum(item.quantity * item.unit_price_minor for item in self.items)


@dataclass
class _Event:
    order: _Order
    kind: OrderEventKind
    at: datetime
    detail: str
    seq: int  # keeps events that share a timestamp in the order they were added


@dataclass
class _Builder:
    """Accumulates drafts; :meth:`finish` turns them into validated records."""

    now: datetime
    rng: random.Random
    customers: list[_Customer] = field(default_factory=list)
    orders: list[_Order] = field(default_factory=list)
    events: list[_Event] = field(default_factory=list)
    remarks: list[RemarkRecord] = field(default_factory=list)
    conversations: list[ConversationRecord] = field(default_factory=list)
    messages: list[MessageRecord] = field(default_factory=list)
    _by_name: dict[str, _Customer] = field(default_factory=dict)

    def at(self, ago: float) -> datetime:
        return self.now - timedelta(seconds=ago)

    # customers ------------------------------------------------------------------

    def add_customers(self) -> None:
        for index, (name, language, email, city, notes) in enumerate(_CUSTOMERS, start=1):
            customer = _Customer(
                id=f"cus-{index:03d}",
                name=name,
                language=language,
                email=email,
                phone=self.phone(),
                city=city,
                district=_CITIES[city][1],
                address=self.address(city),
                notes=notes,
            )
            self.customers.append(customer)
            self._by_name[name] = customer

    def cust(self, name: str) -> _Customer:
        customer = self._by_name[name]
        customer.has_story = True
        return customer

    def phone(self) -> str:
        r = self.rng
        return f"1{r.choice('35789')}{r.randint(0, 9)}****{r.randint(0, 9999):04d}"

    def address(self, city: str) -> str:
        prefix, _, streets = _CITIES[city]
        r = self.rng
        if city == "理塘":
            return f"{prefix}{streets[0]}{r.randint(1, 6)} 组"
        return (
            f"{prefix}{r.choice(streets)} {r.randint(1, 399)} 号 "
            f"{r.randint(1, 12)} 栋 {r.randint(1, 18)}{r.randint(1, 4):02d} 室"
        )

    # orders ---------------------------------------------------------------------

    def tracking(self, carrier: str) -> str:
        r = self.rng
        # Each courier's numbers have their own recognisable shape.
        prefix, digits = {
            SF: ("SF", 13),
            ZTO: ("78", 12),
            YTO: ("YT", 13),
            YUNDA: ("43", 11),
            EMS: ("98", 11),
            JT: ("JT", 13),
        }[carrier]
        return f"{prefix}{r.randrange(10**digits):0{digits}d}"

    def order(
        self,
        customer: _Customer,
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
    ) -> _Order:
        """Draft an order and the events its timestamps imply (all times in seconds ago)."""
        steps = [t for t in (placed, paid, group_formed, shipped, delivered) if t is not None]
        if steps != sorted(steps, reverse=True) or steps[-1] < 0:
            raise ValueError(f"order times out of sequence: {steps}")
        r = self.rng
        placed_at = self.at(placed)
        draft = _Order(
            id=f"ord-{len(self.orders) + 1:04d}",
            number=f"{placed_at.astimezone(_CST):%y%m%d}-{r.randrange(10**15):015d}",
            customer=customer,
            status=status,
            items=[
                OrderItem(
                    sku=sku,
                    name=_CATALOGUE[sku].label,
                    quantity=quantity,
                    unit_price_minor=_CATALOGUE[sku].price,
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
            self.event(draft, OrderEventKind.PAID, paid, f"{_yuan(draft.total)} · {method}")
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

    def _scans(self, draft: _Order, shipped: int, delivered: int | None) -> list[tuple[int, str]]:
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

    def event(self, order: _Order, kind: OrderEventKind, ago: int, detail: str = "") -> None:
        self.events.append(_Event(order, kind, self.at(ago), detail, len(self.events)))

    def remark(self, order: _Order, flag: FlagColour, reason: str, author: str, ago: int) -> None:
        """A flagged remark: the reason only. The console signs it the way the seeds ask
        (reason — agent month-day) from its author and time, as it does the agent's own."""
        created = self.at(ago)
        self.remarks.append(
            RemarkRecord(
                id=f"rmk-{len(self.remarks) + 1:03d}",
                order_id=order.id,
                flag=flag,
                text=reason,
                author=author,
                created_at=created,
            )
        )

    # conversations --------------------------------------------------------------

    def conversation(
        self,
        customer: _Customer,
        group: Group,
        status: ConversationStatus,
        assignee: str | None,
        lines: Sequence[_Say],
        *,
        agent: str | None = None,
        snooze_for: int | None = None,
        channel: str = "app",
    ) -> str:
        """Add a chat; its queue fields are derived from the lines, never typed by hand."""
        conv_id = f"conv-{len(self.conversations) + 1:03d}"
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
                author = line.who or agent
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
        return conv_id

    # records --------------------------------------------------------------------

    def finish(self) -> DemoShop:
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
                updated_at=touched.get(c.id, self.at(30 * _D)),
            )
            for c in self.customers
        ]
        return DemoShop(
            agents=list(_AGENTS),
            customers=customers,
            conversations=list(self.conversations),
            messages=list(self.messages),
            orders=orders,
            order_events=order_events,
            remarks=list(self.remarks),
        )


# --- the stories -------------------------------------------------------------------
#
# One function per story. Each adds the story's order(s), their events and remarks,
# and exactly one conversation whose lines tell it. Times are seconds before now.


def _refund_before_shipping(b: _Builder) -> None:
    # Paid 47 hours ago and still unshipped: one hour left on the 48-hour clock,
    # with a refund request pending. The most urgent chat in the queue.
    who = b.cust("李晓雯")
    o = b.order(
        who,
        OrderStatus.REFUND_REQUESTED,
        [("CUP-TH-500-BK", 1)],
        placed=47 * _H + 3 * _M,
        paid=47 * _H,
    )
    b.event(
        o, OrderEventKind.REFUND_REQUESTED, 40 * _M, f"仅退款 {_yuan(o.total)} · 原因：拍错颜色"
    )
    b.conversation(
        who,
        Group.AFTER_SALE,
        ConversationStatus.OPEN,
        MEI,
        [
            _s(40 * _M, f"Refund requested: {_yuan(o.total)} · reason: 拍错颜色"),
            _c(12 * _M, "在吗？我申请退款了，帮我处理一下"),
            _a(10 * _M, "亲，在的～看到您的退款申请啦，是保温杯颜色拍错了吗？"),
            _c(9 * _M, "对，想要白色的，手滑拍成黑色了"),
            _n(
                8 * _M,
                "付款 47 小时还没发货，离 48 小时时限只剩 1 小时。先问清楚改色还是退款，别先发货。",
            ),
            _a(6 * _M, "可以直接帮您改成月白色，今天就发出，不用重新拍。您看是改颜色还是退款呢？"),
            _c(4 * _M + 30, "还是退了吧，我重新拍一个白的"),
            _c(4 * _M, "麻烦快点哈"),
        ],
        agent=MEI,
    )


def _no_tracking_update(b: _Builder) -> None:
    # Shipped ten days ago, last scan eight days ago: past the 7-day line where
    # "slow" becomes "abnormal"; the courier gets three days before a claim.
    who = b.cust("马丽娟")
    o = b.order(
        who,
        OrderStatus.SHIPPED,
        [("BLK-THROW", 1), ("STR-BOX-3", 1)],
        placed=10 * _D + 5 * _H,
        paid=10 * _D + 5 * _H - 3 * _M,
        shipped=10 * _D,
        carrier=ZTO,
        scans=[
            (9 * _D + 20 * _H, "【金华转运中心】已发出，下一站【西安转运中心】"),
            (8 * _D + 2 * _H, "【西安转运中心】已到达"),
        ],
    )
    stuck = _md(b.at(8 * _D + 2 * _H))
    deadline = _md(b.at(-3 * _D + 3 * _H))
    b.remark(
        o,
        FlagColour.YELLOW,
        "物流 8 天未更新（停在西安转运中心），已找中通查件，3 天无结果则理赔并补发",
        HAO,
        3 * _H + 2 * _M,
    )
    b.conversation(
        who,
        Group.AFTER_SALE,
        ConversationStatus.SNOOZED,
        HAO,
        [
            _c(3 * _H + 10 * _M, f"你好，我的快递 {o.tracking} 怎么一直不动？"),
            _c(3 * _H + 9 * _M, "停在西安好多天了"),
            _a(
                3 * _H + 5 * _M,
                f"亲，帮您查了，包裹 {stuck} 到西安转运中心以后就没再更新，已经 8 天了，"
                "确实不正常，抱歉让您久等",
            ),
            _a(
                3 * _H + 4 * _M,
                "我已经联系中通查件，给他们 3 天时间。3 "
                "天内找不到的话，我们直接给您补发，您不用操心",
            ),
            _n(3 * _H + 2 * _M, f"中通已登记查件，{deadline} 还没结果就发起理赔并补发。已加黄旗。"),
            _c(2 * _H + 58 * _M, "好吧，那我再等等"),
            _a(2 * _H + 57 * _M, "好的亲，有消息第一时间告诉您，确认收货时间也帮您延长了～"),
        ],
        agent=HAO,
        snooze_for=3 * _D - 3 * _H,
    )


def _damaged_late(b: _Builder) -> None:
    # Signed for 35 days ago, opened today: outside the return window, so the
    # warehouse reissues the broken part instead of taking the lamp back.
    who = b.cust("周婷婷")
    o = b.order(
        who,
        OrderStatus.COMPLETED,
        [("LMP-DESK-OAK", 1)],
        placed=39 * _D,
        paid=39 * _D - 2 * _M,
        shipped=38 * _D + 4 * _H,
        delivered=35 * _D,
        carrier=YUNDA,
        signed="本人签收",
    )
    b.remark(
        o,
        FlagColour.YELLOW,
        "签收 35 天后发现灯罩破裂，外箱完好，已拍照登记，仓库补发灯罩（不用寄回）",
        MEI,
        15 * _M,
    )
    b.conversation(
        who,
        Group.AFTER_SALE,
        ConversationStatus.OPEN,
        MEI,
        [
            _c(26 * _M, "你好，上个月买的台灯，一直放着没拆，今天拆开发现灯罩裂了"),
            _a(24 * _M, "亲，非常抱歉😣 麻烦拍一下外包装和裂开的地方，我帮您登记"),
            _c(20 * _M, "[图片]"),
            _c(20 * _M - 10, "[图片]"),
            _c(19 * _M, "箱子看着是好的"),
            _n(
                16 * _M,
                "签收 35 天，过了售后期；外箱完好、灯罩有裂纹，"
                "多半是包装问题。已拍照登记，找仓库单独补发灯罩。",
            ),
            _a(14 * _M, "照片收到了，已经帮您登记好。给您单独补发一个新灯罩，旧的不用寄回～"),
            _c(11 * _M, "好的，那什么时候能发？"),
        ],
        agent=MEI,
    )


def _wrong_item(b: _Builder) -> None:
    # The label on the box gives the warehouse away: a picking error, so the shop
    # pays both ways and the packer is named in the register.
    who = b.cust("Lucía Fernández")
    o = b.order(
        who,
        OrderStatus.RETURN_REQUESTED,
        [("MUG-350-BL", 2)],
        placed=4 * _D,
        paid=4 * _D - 1 * _M,
        shipped=3 * _D + 6 * _H,
        delivered=1 * _D + 2 * _H,
        carrier=ZTO,
    )
    b.event(
        o,
        OrderEventKind.RETURN_REQUESTED,
        7 * _M,
        f"换货 {_yuan(o.total)} · 原因：发错颜色（收到奶白）",
    )
    b.conversation(
        who,
        Group.AFTER_SALE,
        ConversationStatus.OPEN,
        SOFIA,
        [
            _c(16 * _M, "Hola, me llegaron las tazas en color crema, pero yo pedí las azules."),
            _a(
                14 * _M,
                "¡Hola, Lucía! Lo siento mucho. ¿Me manda una "
                "foto de las tazas y de la etiqueta de la caja?",
            ),
            _c(11 * _M, "Claro. [foto] [foto]"),
            _n(
                10 * _M,
                "Label says MUG-350-WH, order is MUG-350-BL: "
                "picking error. Logged, responsible: packing.",
            ),
            _a(
                8 * _M,
                "Gracias. Fue un error de nuestro almacén. Hoy le enviamos las azules y usted nos "
                "devuelve las de color crema; el envío corre por nuestra cuenta.",
            ),
            _s(7 * _M, f"Return requested: {_yuan(o.total)} · reason: wrong item (exchange)"),
            _c(2 * _M, "Vale, gracias. ¿Dónde pongo el número de seguimiento de la devolución?"),
        ],
        agent=SOFIA,
    )


def _missing_item(b: _Builder) -> None:
    # The courier's weight gives it away: the parcel weighed what the bedding
    # alone weighs, so the pillow never left the warehouse.
    who = b.cust("陈子豪")
    o = b.order(
        who,
        OrderStatus.DELIVERED,
        [("BED-4P-18", 1), ("PIL-LATEX", 1)],
        placed=4 * _D + 3 * _H,
        paid=4 * _D + 3 * _H - 2 * _M,
        shipped=3 * _D + 20 * _H,
        delivered=1 * _D + 5 * _H,
        carrier=ZTO,
    )
    again = b.tracking(SF)
    b.event(o, OrderEventKind.REISSUED, 22 * _M, f"补发 泰国乳胶枕 ×1：{SF} {again}")
    b.remark(
        o,
        FlagColour.YELLOW,
        f"仓库漏发乳胶枕（称重可证），顺丰补发 {again}，责任：打包组",
        MEI,
        22 * _M,
    )
    b.conversation(
        who,
        Group.AFTER_SALE,
        ConversationStatus.RESOLVED,
        MEI,
        [
            _c(45 * _M, "亲，我买了四件套和乳胶枕，只收到了四件套"),
            _c(44 * _M, "枕头没有"),
            _a(42 * _M, "亲，抱歉！麻烦拍一下收到的包裹和快递面单，我马上去查出库记录"),
            _c(38 * _M, "[图片]"),
            _n(
                33 * _M,
                "出库单两件都有；中通称重 2.1kg，四件套单独就约 "
                "2.0kg，枕头应该是漏发。仓库责任，已登记。",
            ),
            _a(30 * _M, "查到了，是仓库漏发了乳胶枕，实在抱歉😔 今天就用顺丰给您补发"),
            _s(22 * _M, f"Reissue shipped: {SF} {again}"),
            _a(21 * _M, f"补发单号：顺丰 {again}，预计后天到。有问题随时找我～"),
        ],
        agent=MEI,
    )


def _counterfeit(b: _Builder) -> None:
    # A counterfeit claim is a dispute, not a chat: the answer is paperwork
    # (authorisation letter, purchase invoices), so the supervisor takes it.
    who = b.cust("黄志强")
    o = b.order(
        who,
        OrderStatus.REFUND_REQUESTED,
        [("CUP-TH-500-WH", 1)],
        placed=6 * _D,
        paid=6 * _D - 3 * _M,
        shipped=5 * _D + 2 * _H,
        delivered=3 * _D,
        carrier=YTO,
    )
    b.event(
        o, OrderEventKind.REFUND_REQUESTED, 52 * _M, f"退货退款 {_yuan(o.total)} · 原因：假冒品牌"
    )
    b.remark(
        o,
        FlagColour.RED,
        "客户称假货，已转纠纷：备好品牌授权书和进货发票，等平台判定",
        SOFIA,
        38 * _M,
    )
    b.conversation(
        who,
        Group.AFTER_SALE,
        ConversationStatus.OPEN,
        SOFIA,
        [
            _c(62 * _M, "你们卖的云杉保温杯是假的吧？logo 跟我在商场看到的不一样"),
            _a(
                60 * _M,
                "亲，我们是云杉品牌的授权店，货都是品牌方直供的，授权书和进货发票都可以提供",
                MEI,
            ),
            _c(57 * _M, "我不信，logo 都是歪的。给我退款，不然投诉到平台"),
            _s(52 * _M, f"Refund requested: {_yuan(o.total)} · reason: 假冒品牌"),
            _n(
                48 * _M, "客户称假货，按纠纷处理：准备授权书、进货发票、同批次照片，转 Sofia。", MEI
            ),
            _s(47 * _M, "Assigned to Sofia"),
            _a(
                40 * _M,
                "您好，我是主管 Sofia。理解您的顾虑，麻烦拍一下杯底的批次号和 logo 特写，"
                "我们核对后把授权书和发票一起提交给平台",
            ),
            _c(31 * _M, "拍什么拍，就是假的"),
            _c(30 * _M, "今天不给退我就找平台"),
        ],
        agent=SOFIA,
    )


def _wrong_address(b: _Builder) -> None:
    # Couriers hold an undeliverable parcel for about three days; the remark is
    # the hand-over, so whoever the customer reaches next knows the story.
    who = b.cust("张雨桐")
    o = b.order(
        who,
        OrderStatus.SHIPPED,
        [("STR-BOX-3", 1), ("SLP-HOME", 2)],
        placed=3 * _D + 8 * _H,
        paid=3 * _D + 8 * _H - 4 * _M,
        shipped=2 * _D + 22 * _H,
        carrier=JT,
        scans=[
            (2 * _D + 18 * _H, "【金华转运中心】已发出，下一站【广州转运中心】"),
            (1 * _D + 9 * _H, "【广州转运中心】已到达"),
            (9 * _H, "【广州市天河区】派件中，快递员正在派送"),
            (5 * _H + 30 * _M, "【广州市天河区】派件异常：门牌号不存在，快件在网点留存 3 天"),
        ],
    )
    until = _md(b.at(-3 * _D + 5 * _H))
    b.remark(
        o,
        FlagColour.RED,
        f"派件异常：门牌号有误，网点留件到 {until}，已留言客户",
        HAO,
        5 * _H + 20 * _M,
    )
    b.conversation(
        who,
        Group.AFTER_SALE,
        ConversationStatus.OPEN,
        HAO,
        [
            _n(
                5 * _H + 20 * _M,
                f"极兔反馈门牌号不存在，网点留件 3 天（到 {until}）。已给客户留言，加红旗。",
            ),
            _a(
                5 * _H + 18 * _M,
                "亲，您好～您的包裹已经到广州天河了，但快递说门牌号找不到，网点只保留 3 天，"
                "麻烦核对一下地址哦",
            ),
            _c(3 * _M, "啊，我写成 18 号了，应该是 81 号"),
            _c(1 * _M, "现在改还来得及吗？"),
        ],
        agent=HAO,
    )


def _outside_area(b: _Builder) -> None:
    # The first courier has no depot out there; EMS does. The order now carries
    # the new tracking number, and the remark says why.
    who = b.cust("罗建国")
    o = b.order(
        who,
        OrderStatus.SHIPPED,
        [("KTL-15-GL", 1)],
        placed=6 * _D,
        paid=6 * _D - 5 * _M,
        shipped=5 * _D + 3 * _H,
        carrier=ZTO,
        scans=[
            (4 * _D + 20 * _H, "【金华转运中心】已发出，下一站【成都转运中心】"),
            (3 * _D + 1 * _H, "【成都转运中心】已到达"),
            (2 * _D + 6 * _H, "【甘孜州理塘县】超出派送范围，无派送网点，快件将退回"),
        ],
    )
    first = o.tracking
    o.carrier, o.tracking = EMS, b.tracking(EMS)
    b.event(
        o,
        OrderEventKind.REISSUED,
        2 * _D + 1 * _H,
        f"改发 {EMS} {o.tracking}（原{ZTO} {first} 退回）",
    )
    b.event(o, OrderEventKind.LOGISTICS_SCAN, 1 * _D + 18 * _H, "【金华市】EMS 已收寄")
    b.event(o, OrderEventKind.LOGISTICS_SCAN, 12 * _H, "【成都邮件处理中心】已到达")
    b.remark(
        o,
        FlagColour.RED,
        f"中通超区无派送点，改发 EMS {o.tracking}，原件退回，已延长收货时间",
        HAO,
        2 * _D + 1 * _H,
    )
    b.conversation(
        who,
        Group.AFTER_SALE,
        ConversationStatus.RESOLVED,
        HAO,
        [
            _c(2 * _D + 5 * _H, "快递说我们这里不派送，让我自己去县城拿，太远了"),
            _a(
                2 * _D + 4 * _H + 50 * _M,
                "亲，抱歉给您添麻烦了。中通在您那边没有网点，我们改发 EMS，邮政能送到乡里",
            ),
            _a(
                2 * _D + 4 * _H + 49 * _M,
                "原来那个包裹会退回仓库，您不用管；确认收货时间也帮您延长了",
            ),
            _c(2 * _D + 4 * _H + 40 * _M, "行，那麻烦快点"),
            _s(2 * _D + 1 * _H, f"Reissued via EMS: {o.tracking}"),
            _a(
                2 * _D + 55 * _M,
                f"已经改发 EMS 了，单号 {o.tracking}，大概 4-5 天到，路上有情况我会跟着",
            ),
        ],
        agent=HAO,
    )


def _misrouted(b: _Builder) -> None:
    who = b.cust("郑可欣")
    b.order(
        who,
        OrderStatus.SHIPPED,
        [("TEA-SET", 1), ("PLT-CER-8", 2)],
        placed=3 * _D + 4 * _H,
        paid=3 * _D + 4 * _H - 2 * _M,
        shipped=3 * _D,
        carrier=YTO,
        scans=[
            (2 * _D + 20 * _H, "【金华转运中心】已发出，下一站【成都转运中心】"),
            (1 * _D + 10 * _H, "【昆明转运中心】已到达（错分）"),
            (20 * _H, "【昆明转运中心】已发出，改派下一站【成都转运中心】"),
        ],
    )
    b.conversation(
        who,
        Group.AFTER_SALE,
        ConversationStatus.OPEN,
        MEI,
        [
            _c(22 * _M, "我的快递怎么跑到昆明去了？我在成都啊"),
            _a(20 * _M, "亲，查到了，是圆通中转时分错了，已经从昆明发回成都了，大概会晚 1-2 天"),
            _a(19 * _M, "确认收货时间帮您延长了，我这边会一直盯着到签收"),
            _c(15 * _M, "晕，周六前能到吗？要送人的"),
        ],
        agent=MEI,
    )


def _damaged_transit(b: _Builder) -> None:
    who = b.cust("Emily Carter")
    o = b.order(
        who,
        OrderStatus.DELIVERED,
        [("KTL-15-GL", 1)],
        placed=3 * _D + 2 * _H,
        paid=3 * _D + 2 * _H - 1 * _M,
        shipped=2 * _D + 20 * _H,
        delivered=5 * _H,
        carrier=SF,
        signed="本人签收",
    )
    b.remark(o, FlagColour.RED, "运输破损（外箱压角），补发新水壶，向顺丰索赔", HAO, 24 * _M)
    b.conversation(
        who,
        Group.AFTER_SALE,
        ConversationStatus.OPEN,
        HAO,
        [
            _c(36 * _M, "Hi, the glass kettle arrived today with a crack in the glass 😞"),
            _c(35 * _M, "One corner of the box was crushed too."),
            _a(
                32 * _M,
                "I'm so sorry, Emily! Could you send a photo of "
                "the box and the crack? Please don't use the kettle.",
            ),
            _c(27 * _M, "[photo] [photo]"),
            _n(
                25 * _M,
                "Damaged in transit (crushed corner). Replacement "
                "today, claim filed with SF. Red flag added.",
            ),
            _a(
                23 * _M,
                "Thank you. We'll send a new kettle today, no need to return the broken one. "
                "If a box ever looks damaged, you can check "
                "it with the courier or refuse it at the door.",
            ),
            _c(90 * _S, "Great, thanks! Can you send me the tracking number when it ships?"),
        ],
        agent=HAO,
    )


def _usage_help(b: _Builder) -> None:
    # Diagnose before sending anything back: the blinking light means "too much water".
    who = b.cust("Võ Ngọc Anh")
    o = b.order(
        who,
        OrderStatus.DELIVERED,
        [("DIF-AROMA", 1)],
        placed=5 * _D,
        paid=5 * _D - 2 * _M,
        shipped=4 * _D + 3 * _H,
        delivered=2 * _D + 4 * _H,
    )
    b.remark(
        o, FlagColour.GREEN, "加水过 MAX 线报警，指导后已正常使用，客户满意", MEI, 1 * _H + 29 * _M
    )
    b.conversation(
        who,
        Group.AFTER_SALE,
        ConversationStatus.RESOLVED,
        MEI,
        [
            _c(
                1 * _H + 40 * _M,
                "Shop ơi, máy xông tinh dầu của mình đèn đỏ nhấp nháy, không ra hơi",
            ),
            _a(
                1 * _H + 38 * _M,
                "Chào chị Ngọc Anh! Chị đổ nước tới đâu ạ? Có quá vạch MAX không chị?",
            ),
            _c(1 * _H + 35 * _M, "Mình đổ gần đầy luôn"),
            _a(
                1 * _H + 34 * _M,
                "Đèn đỏ nhấp nháy là máy báo nước nhiều quá "
                "ạ. Chị rút điện, đổ bớt nước xuống dưới "
                "vạch MAX rồi bật lại nha.",
            ),
            _c(1 * _H + 30 * _M, "Được rồi, ra hơi rồi! Cảm ơn shop nhiều 😊"),
            _a(1 * _H + 29 * _M, "Dạ không có gì ạ! Chị dùng vui, có gì cứ nhắn em nha 💛"),
        ],
        agent=MEI,
    )


def _invoice_missing(b: _Builder) -> None:
    who = b.cust("Daniel Brooks")
    b.order(
        who,
        OrderStatus.DELIVERED,
        [("STR-BOX-3", 2), ("LMP-DESK-OAK", 1)],
        placed=5 * _D + 6 * _H,
        paid=5 * _D + 6 * _H - 4 * _M,
        shipped=4 * _D + 22 * _H,
        delivered=2 * _D + 3 * _H,
        carrier=SF,
    )
    b.conversation(
        who,
        Group.AFTER_SALE,
        ConversationStatus.PENDING,
        MEI,
        [
            _c(
                2 * _H + 10 * _M,
                "Hello, there was no invoice in the box. "
                "I need one for my company's reimbursement.",
            ),
            _a(
                2 * _H + 7 * _M,
                "Sorry about that, Daniel! The invoice should have been packed with the goods. "
                "We can email you a stamped electronic copy today.",
            ),
            _a(2 * _H + 6 * _M, "Could you send me your company name and tax ID?"),
            _c(2 * _H, "Sure, I'll check with our finance team and get back to you."),
            _a(1 * _H + 59 * _M, "No problem, I'll keep this open for you 👍"),
            _n(
                1 * _H + 58 * _M,
                "Invoice missing from the parcel. Waiting for company "
                "name + tax ID, then send the stamped e-invoice.",
            ),
        ],
        agent=MEI,
        channel="web",
    )


def _attitude_complaint(b: _Builder) -> None:
    # Yesterday's curt replies are in the same chat, so the supervisor can read
    # exactly what the customer read before apologising.
    who = b.cust("吴昊然")
    b.order(
        who,
        OrderStatus.AWAITING_SHIPMENT,
        [("CRT-BLK", 2)],
        placed=1 * _D + 3 * _H,
        paid=1 * _D + 3 * _H - 3 * _M,
    )
    b.conversation(
        who,
        Group.AFTER_SALE,
        ConversationStatus.OPEN,
        SOFIA,
        [
            _c(1 * _D + 1 * _H, "请问什么时候发货？"),
            _a(1 * _D + 59 * _M, "48小时内", JUN),
            _c(1 * _D + 58 * _M, "具体哪天？我周五要用"),
            _a(1 * _D + 57 * _M, "详情页写了，自己看", JUN),
            _c(2 * _H + 45 * _M, "昨天那个客服什么态度？问个发货时间就让我自己看，我要投诉"),
            _s(2 * _H + 40 * _M, "Transferred to after-sale · assigned to Sofia"),
            _n(
                2 * _H + 36 * _M,
                "看了 Jun 昨天的记录，回复确实生硬。先道歉，"
                "发 10 元无门槛券（权限内），明早和 Jun 复盘。",
            ),
            _a(
                2 * _H + 33 * _M,
                "您好，我是客服主管 Sofia。昨天的聊天记录我看了，是我们回复不到位，真的很抱歉。"
                "方便的话我给您打个电话？",
            ),
            _a(
                2 * _H + 32 * _M,
                "您的订单今天安排发出，周五前能到。另外补了一张 10 元无门槛券，已经到您账户了",
            ),
            _c(2 * _H + 20 * _M, "电话就不用了，今天一定要发啊"),
        ],
        agent=SOFIA,
    )


def _negative_review(b: _Builder) -> None:
    # Cash for a good review is against platform rules and above an agent's
    # 20-yuan limit anyway; the note keeps the evidence in case the review lands.
    who = b.cust("孙浩宇")
    o = b.order(
        who,
        OrderStatus.DELIVERED,
        [("TWL-FACE-3", 2), ("TWL-BATH-GR", 1)],
        placed=6 * _D,
        paid=6 * _D - 1 * _M,
        shipped=5 * _D + 10 * _H,
        delivered=20 * _H,
        carrier=YUNDA,
    )
    b.remark(
        o,
        FlagColour.YELLOW,
        "客户以差评要挟索要 50 元返现，已拒绝，聊天记录留证",
        HAO,
        1 * _H + 37 * _M,
    )
    b.conversation(
        who,
        Group.AFTER_SALE,
        ConversationStatus.OPEN,
        HAO,
        [
            _c(1 * _H + 52 * _M, "毛巾收到了，物流太慢了，等了 5 天"),
            _c(1 * _H + 51 * _M, "给我返 50 块现金，不然给差评"),
            _a(1 * _H + 48 * _M, "亲，让您久等了，真的抱歉。物流慢的问题我们会反馈给快递"),
            _a(1 * _H + 47 * _M, "返现平台是不允许的哦，我可以给您发一张 10 元店铺券，您看行吗？"),
            _c(1 * _H + 40 * _M, "10 块打发谁呢？不给 50 就差评，还要发小红书"),
            _n(
                1 * _H + 38 * _M,
                "以差评要挟索要 50 元现金，超权限也违反平台规则，"
                "不返现。记录已保留，作恶意差评证据。",
            ),
            _a(
                1 * _H + 36 * _M,
                "理解您等得着急。毛巾如果有任何质量问题，我们包退包换，来回运费我们出",
            ),
            _c(1 * _H + 31 * _M, "质量倒没问题，就是不爽"),
        ],
        agent=HAO,
    )


def _refund_before_group(b: _Builder) -> None:
    # Before the group forms the shop cannot cancel; only the customer can, in the app.
    who = b.cust("杨帆")
    b.order(
        who,
        OrderStatus.AWAITING_GROUP,
        [("VAS-GLASS", 1)],
        placed=3 * _H + 4 * _M,
        paid=3 * _H,
        group_buy=True,
    )
    b.conversation(
        who,
        Group.AFTER_SALE,
        ConversationStatus.PENDING,
        HAO,
        [
            _c(28 * _M, "拼单一直没成，我不想要了，你帮我取消吧"),
            _a(26 * _M, "亲，拼单成团之前商家这边取消不了订单😥 您可以自己在 App 里申请，很快的"),
            _c(24 * _M, "在哪里点？没找到"),
            _a(
                23 * _M,
                "打开“我的订单”→“待分享”，点进这个订单，最下面有“申请退款”，原因选“不想要了”就行",
            ),
            _a(
                22 * _M, "没成团的订单退款是原路秒退的；就算不操作，24 小时没成团系统也会自动退给您"
            ),
        ],
        agent=HAO,
    )


def _refund_shipped(b: _Builder) -> None:
    # Already on the road: intercept first, refund once the courier confirms,
    # and book the lost postage.
    who = b.cust("何雅琴")
    o = b.order(
        who,
        OrderStatus.REFUNDED,
        [("BWL-SET-4", 1), ("CHB-BAMBOO", 1)],
        placed=1 * _D + 8 * _H,
        paid=1 * _D + 8 * _H - 2 * _M,
        shipped=1 * _D + 2 * _H,
        carrier=YTO,
        scans=[(22 * _H, "【金华转运中心】已发出，下一站【长沙转运中心】")],
    )
    b.event(
        o,
        OrderEventKind.REFUND_REQUESTED,
        20 * _H + 48 * _M,
        f"仅退款 {_yuan(o.total)} · 原因：不想要了（已发货）",
    )
    b.event(o, OrderEventKind.INTERCEPTED, 16 * _H, "拦截成功，快件退回义乌仓")
    b.event(o, OrderEventKind.REFUND_APPROVED, 15 * _H + 54 * _M, _yuan(o.total))
    b.event(o, OrderEventKind.REFUNDED, 15 * _H + 50 * _M, f"{_yuan(o.total)} 原路退回")
    b.remark(
        o,
        FlagColour.BLUE,
        f"已发货客户申请仅退款，已拦截圆通 {o.tracking} 退回仓库，运费损失 ¥8 已记账",
        HAO,
        20 * _H + 45 * _M,
    )
    b.conversation(
        who,
        Group.AFTER_SALE,
        ConversationStatus.RESOLVED,
        HAO,
        [
            _c(21 * _H, "东西发了吗？我不想要了，在别家买了"),
            _a(
                20 * _H + 55 * _M,
                f"亲，已经发出了哦，圆通 {o.tracking}。"
                "我马上联系快递拦截，拦截成功就给您退款，可以吗？",
            ),
            _c(20 * _H + 50 * _M, "可以"),
            _s(
                20 * _H + 48 * _M,
                f"Refund requested: {_yuan(o.total)} · reason: 不想要了（已发货）",
            ),
            _n(20 * _H + 45 * _M, "已找圆通拦截，回仓运费 ¥8 记入损耗台账，加蓝旗。"),
            _s(16 * _H, f"Parcel intercepted: {YTO} {o.tracking} · returning to warehouse"),
            _a(15 * _H + 55 * _M, "拦截成功了，退款已经同意，原路退回，1-3 个工作日到账"),
            _s(15 * _H + 54 * _M, f"Refund approved: {_yuan(o.total)}"),
        ],
        agent=HAO,
    )


def _refund_signed(b: _Builder) -> None:
    # Signed for, nothing wrong, "just don't want it": refund-only is declined and
    # the 7-day no-reason return offered instead.
    who = b.cust("徐静怡")
    o = b.order(
        who,
        OrderStatus.DELIVERED,
        [("PIL-LATEX", 1)],
        placed=4 * _D,
        paid=4 * _D - 2 * _M,
        shipped=3 * _D + 4 * _H,
        delivered=2 * _D,
        carrier=YUNDA,
        signed="本人签收",
    )
    b.event(
        o,
        OrderEventKind.REFUND_REQUESTED,
        3 * _H + 5 * _M,
        f"仅退款 {_yuan(o.total)} · 原因：不想要了",
    )
    b.event(
        o,
        OrderEventKind.REFUND_DECLINED,
        2 * _H + 40 * _M,
        "已本人签收且无质量问题，不支持仅退款；可七天无理由退货",
    )
    b.conversation(
        who,
        Group.AFTER_SALE,
        ConversationStatus.OPEN,
        MEI,
        [
            _s(
                3 * _H + 5 * _M,
                f"Refund requested (refund only, keep goods): {_yuan(o.total)} · reason: 不想要了",
            ),
            _c(3 * _H + 4 * _M, "我申请了仅退款，帮我通过一下"),
            _n(2 * _H + 55 * _M, "查了韵达签收记录：本人签收。"),
            _a(2 * _H + 52 * _M, "亲，快递记录显示是您本人签收的。请问是枕头有什么问题吗？"),
            _c(2 * _H + 49 * _M, "没问题，就是不想要了"),
            _a(
                2 * _H + 45 * _M,
                "理解～不喜欢的话可以走七天无理由退货，寄回来仓库收到就给您退款。仅退款这边没法同意哦",
            ),
            _s(2 * _H + 40 * _M, "Refund declined: refund only not applicable — return offered"),
            _c(40 * _S, "那退货运费谁出？"),
        ],
        agent=MEI,
    )


def _price_fixed(b: _Builder) -> None:
    who = b.cust("赵梦洁")
    o = b.order(who, OrderStatus.AWAITING_PAYMENT, [("BED-4P-15", 1)], placed=5 * _M + 20)
    b.conversation(
        who,
        Group.PRE_SALE,
        ConversationStatus.OPEN,
        LAN,
        [
            _c(7 * _M, "老板，这个四件套能便宜点吗"),
            _a(6 * _M + 30, "亲，我们家是统一定价的哦，现在已经是活动价，包邮，48 小时内发货～"),
            _s(5 * _M + 20, f"Order placed: {o.number} · awaiting payment {_yuan(o.total)}"),
            _c(5 * _M, "便宜 20 呗，我刚拍了一套"),
            _a(
                4 * _M, "真的改不了价呢😅 这款是 A 类纯棉，水洗不起球，品质您放心，付款后今天就能发"
            ),
            _c(25 * _S, "你给改个价嘛，改了我马上付"),
        ],
        agent=LAN,
    )


def _size_advice(b: _Builder) -> None:
    who = b.cust("Olivia Hughes")
    o = b.order(
        who,
        OrderStatus.AWAITING_SHIPMENT,
        [("BED-4P-15", 1)],
        placed=50 * _M,
        paid=48 * _M,
    )
    b.conversation(
        who,
        Group.PRE_SALE,
        ConversationStatus.RESOLVED,
        JUN,
        [
            _c(1 * _H + 5 * _M, "Hi! Is the washed-cotton bedding set in oat still in stock?"),
            _a(
                1 * _H + 3 * _M,
                "Hi Olivia! Yes, oat is in stock in both the 1.5 m and the 1.8 m size.",
            ),
            _c(1 * _H + 1 * _M, "My bed is 150 x 200 cm. Which one should I get?"),
            _a(
                59 * _M,
                "The 1.5 m set. Its fitted sheet is 150 x 200 cm with a 30 cm pocket, "
                "so it fits mattresses up to about 28 cm thick.",
            ),
            _c(55 * _M, "Perfect, ordering now 🙂"),
            _s(50 * _M, f"Order placed: {o.number} · {_yuan(o.total)}"),
            _s(48 * _M, f"Payment received: {_yuan(o.total)}"),
            _a(
                46 * _M,
                "Thank you! It ships within 48 hours, usually "
                "the same day. I'll send you the tracking number.",
            ),
        ],
        agent=JUN,
        channel="web",
    )


def _payment_reminder(b: _Builder) -> None:
    who = b.cust("刘佳琪")
    o = b.order(who, OrderStatus.AWAITING_PAYMENT, [("DIF-AROMA", 1)], placed=3 * _H)
    b.conversation(
        who,
        Group.PRE_SALE,
        ConversationStatus.PENDING,
        LAN,
        [
            _s(3 * _H, f"Order placed: {o.number} · awaiting payment {_yuan(o.total)}"),
            _a(1 * _H + 10 * _M, "亲，您好～看到您拍下的香薰加湿器还没付款，是有什么疑问吗？"),
            _c(58 * _M, "没有，等晚上发工资再付哈哈"),
            _a(56 * _M, "好哒～订单会保留 24 小时，付款后 48 小时内发货，一般当天就发出哦"),
        ],
        agent=LAN,
    )


def _address_confirm(b: _Builder) -> None:
    # Address changes on an unshipped order get a purple flag so the packer sees them.
    who = b.cust("梁宇航")
    o = b.order(
        who,
        OrderStatus.AWAITING_SHIPMENT,
        [("TWL-BATH-GR", 2), ("SLP-HOME", 1)],
        placed=2 * _H,
        paid=1 * _H + 58 * _M,
    )
    old = who.address
    new = b.address(who.city)
    o.address = f"{who.name}，{who.phone}，{new}"
    b.event(o, OrderEventKind.ADDRESS_CHANGED, 1 * _H + 20 * _M, f"改为 {new}（原 {old}）")
    b.remark(o, FlagColour.PURPLE, f"客户改地址为 {new}（已搬家）", LAN, 1 * _H + 20 * _M)
    b.conversation(
        who,
        Group.PRE_SALE,
        ConversationStatus.OPEN,
        LAN,
        [
            _s(1 * _H + 58 * _M, f"Payment received: {_yuan(o.total)}"),
            _a(
                1 * _H + 40 * _M,
                f"亲，订单已付款～跟您核对一下收货信息：{old}，没问题的话今天就发出哦",
            ),
            _c(1 * _H + 30 * _M, "地址要改一下，我上周搬家了"),
            _c(1 * _H + 29 * _M, f"改成 {new}"),
            _n(1 * _H + 20 * _M, "已改地址，加紫旗通知仓库。"),
            _a(1 * _H + 19 * _M, f"已经帮您改好了：{new}。仓库那边也备注了，放心～"),
            _c(8 * _M, "好的，大概几天能到？"),
        ],
        agent=LAN,
    )


def _cod_confirm(b: _Builder) -> None:
    who = b.cust("Nguyễn Thị Hoa")
    b.order(who, OrderStatus.AWAITING_PAYMENT, [("KTL-08-TV", 1)], placed=15 * _M)
    b.conversation(
        who,
        Group.PRE_SALE,
        ConversationStatus.OPEN,
        LAN,
        [
            _c(
                13 * _M,
                "Shop ơi, mình đặt ấm siêu tốc rồi, nhận hàng rồi trả tiền (COD) được không ạ?",
            ),
            _a(
                11 * _M,
                "Chào chị Hoa! Đơn trên app phải thanh toán "
                "trước qua nền tảng, shop chưa hỗ trợ COD ạ.",
            ),
            _a(
                10 * _M,
                "Tiền chị trả được nền tảng giữ, chị nhận hàng và xác nhận rồi shop mới nhận được, "
                "nên chị yên tâm nha 😊",
            ),
            _c(5 * _M, "Vậy trả bằng WeChat Pay được không shop?"),
        ],
        agent=LAN,
    )


def _last_night(now: datetime) -> int:
    """Seconds since the latest 00:40 on the shop's clock that is at least 20 minutes old."""
    local = now.astimezone(_CST)
    night = local.replace(hour=0, minute=40, second=0, microsecond=0)
    if night > local - timedelta(minutes=20):
        night -= timedelta(days=1)
    return int((local - night).total_seconds())


def _offline_reply(b: _Builder) -> None:
    # Written after the shop closed at midnight, so it waits for the morning shift.
    who = b.cust("胡欣悦")
    t = _last_night(b.now)
    b.order(
        who,
        OrderStatus.AWAITING_SHIPMENT,
        [("LMP-NIGHT-2", 2)],
        placed=t + 6 * _M,
        paid=t + 5 * _M,
    )
    b.conversation(
        who,
        Group.PRE_SALE,
        ConversationStatus.OPEN,
        None,
        [
            _c(t, "你好，刚拍了两套小夜灯，是送人的，能不能不放价格单？"),
            _c(t - 1 * _M, "有人吗"),
            _s(t - 1 * _M - 5, "Offline message · service hours 09:00–24:00"),
        ],
    )


def _shipping_time(b: _Builder) -> None:
    who = b.cust("James Whitfield")
    o = b.order(
        who,
        OrderStatus.SHIPPED,
        [("MUG-350-BL", 1), ("MUG-350-WH", 1)],
        placed=2 * _D + 6 * _H,
        paid=2 * _D + 6 * _H - 2 * _M,
        shipped=1 * _D + 22 * _H,
    )
    b.conversation(
        who,
        Group.AFTER_SALE,
        ConversationStatus.OPEN,
        None,
        [
            _s(1 * _D + 22 * _H, f"Order shipped: {o.carrier} {o.tracking}"),
            _c(20 * _S, "Hi, where is my parcel?"),
            _c(15 * _S, f"Order {o.number}"),
        ],
        channel="web",
    )


def _shipping_time_es(b: _Builder) -> None:
    who = b.cust("Mateo Ruiz")
    o = b.order(
        who,
        OrderStatus.SHIPPED,
        [("TEA-SET", 1)],
        placed=1 * _D + 20 * _H,
        paid=1 * _D + 20 * _H - 3 * _M,
        shipped=1 * _D + 6 * _H,
        carrier=SF,
    )
    b.conversation(
        who,
        Group.AFTER_SALE,
        ConversationStatus.RESOLVED,
        SOFIA,
        [
            _c(5 * _H, "Hola, ¿cuándo llega mi pedido?"),
            _a(
                4 * _H + 58 * _M,
                f"¡Hola, Mateo! Salió ayer con SF Express, número {o.tracking}. "
                "Suele tardar 2 o 3 días hasta Shanghái.",
            ),
            _c(4 * _H + 55 * _M, "Perfecto, gracias."),
            _a(4 * _H + 54 * _M, "¡A usted! Cualquier cosa, aquí estamos 😊"),
        ],
        agent=SOFIA,
    )


def _when_shipping_vi(b: _Builder) -> None:
    who = b.cust("Trần Văn Minh")
    o = b.order(
        who,
        OrderStatus.AWAITING_SHIPMENT,
        [("CHB-BAMBOO", 1), ("BWL-SET-4", 1)],
        placed=20 * _H,
        paid=20 * _H - 2 * _M,
    )
    b.conversation(
        who,
        Group.PRE_SALE,
        ConversationStatus.OPEN,
        None,
        [
            _s(20 * _H - 2 * _M, f"Payment received: {_yuan(o.total)}"),
            _c(47 * _M, "Shop ơi, khi nào gửi hàng vậy?"),
            _c(45 * _M, f"Mình đặt hôm qua, mã đơn {o.number}"),
        ],
    )


def _extra_postage(b: _Builder) -> None:
    # Upgrading to SF costs the difference in postage, paid through the shop's
    # postage link; the purple flag tells the packer which courier to use.
    who = b.cust("朱文博")
    o = b.order(
        who,
        OrderStatus.AWAITING_SHIPMENT,
        [("KTL-15-GL", 1), ("MUG-350-WH", 2)],
        placed=5 * _H,
        paid=5 * _H - 2 * _M,
    )
    b.remark(o, FlagColour.PURPLE, "客户补运费 ¥12，改发顺丰", JUN, 4 * _H + 33 * _M)
    b.conversation(
        who,
        Group.PRE_SALE,
        ConversationStatus.RESOLVED,
        JUN,
        [
            _c(4 * _H + 50 * _M, "发什么快递？能发顺丰吗"),
            _a(
                4 * _H + 48 * _M,
                "亲，默认发中通或圆通，包邮的哦。想发顺丰的话补 12 元运费差价就可以～",
            ),
            _c(4 * _H + 45 * _M, "那发顺丰吧，怎么补"),
            _a(4 * _H + 44 * _M, "店铺里有个“补运费专用”链接，拍 12 件就是 12 元，拍好跟我说一声"),
            _c(4 * _H + 35 * _M, "拍好了"),
            _n(4 * _H + 33 * _M, "补运费订单已核对，改发顺丰，加紫旗。"),
            _a(4 * _H + 32 * _M, "收到～已经备注改发顺丰，今天发出"),
        ],
        agent=JUN,
    )


def _combine_orders(b: _Builder) -> None:
    who = b.cust("林诗涵")
    bowls = b.order(
        who, OrderStatus.AWAITING_SHIPMENT, [("BWL-SET-4", 1)], placed=40 * _M, paid=39 * _M
    )
    board = b.order(
        who, OrderStatus.AWAITING_SHIPMENT, [("CHB-BAMBOO", 1)], placed=30 * _M, paid=29 * _M
    )
    b.conversation(
        who,
        Group.PRE_SALE,
        ConversationStatus.OPEN,
        None,
        [
            _s(39 * _M, f"Payment received: {_yuan(bowls.total)} · {bowls.number}"),
            _s(29 * _M, f"Payment received: {_yuan(board.total)} · {board.number}"),
            _c(12 * _M, "我刚才拍了两单，能合在一起发吗？"),
            _c(11 * _M, "一个碗一个砧板"),
        ],
    )


def _product_question(b: _Builder) -> None:
    who = b.cust("Marcus Lee")
    b.order(
        who,
        OrderStatus.COMPLETED,
        [("CUP-TH-500-BK", 1)],
        placed=48 * _D,
        paid=48 * _D - 1 * _M,
        shipped=47 * _D + 5 * _H,
        delivered=45 * _D,
    )
    b.conversation(
        who,
        Group.PRE_SALE,
        ConversationStatus.OPEN,
        None,
        [
            _s(9 * _M, f"Customer is viewing: {_CATALOGUE['MUG-350-BL'].label}"),
            _c(8 * _M, "Hi, are the ceramic mugs dishwasher safe?"),
            _c(7 * _M + 30, "And can they go in the microwave?"),
        ],
        channel="web",
    )


def _return_tracking(b: _Builder) -> None:
    who = b.cust("Valentina Gómez")
    o = b.order(
        who,
        OrderStatus.RETURN_REQUESTED,
        [("BLK-THROW", 1)],
        placed=6 * _D,
        paid=6 * _D - 2 * _M,
        shipped=5 * _D + 4 * _H,
        delivered=4 * _D,
    )
    b.event(
        o,
        OrderEventKind.RETURN_REQUESTED,
        1 * _D,
        f"七天无理由退货 {_yuan(o.total)} · 原因：颜色不喜欢",
    )
    b.conversation(
        who,
        Group.AFTER_SALE,
        ConversationStatus.OPEN,
        SOFIA,
        [
            _s(1 * _D, f"Return requested: {_yuan(o.total)} · reason: changed mind (7-day return)"),
            _a(
                23 * _H,
                "Hola, Valentina. Su devolución está "
                f"aprobada. Envíe la manta a: {RETURN_ADDRESS}. "
                "Por favor, no la mande a portes debidos.",
            ),
            _c(48 * _M, "Ya la envié con ZTO. ¿Dónde pongo el número de seguimiento?"),
        ],
        agent=SOFIA,
    )


def _shipping_overdue(b: _Builder) -> None:
    # Paid 40 hours ago: eight hours left before a late-shipment mark.
    who = b.cust("宋嘉怡")
    o = b.order(
        who,
        OrderStatus.AWAITING_SHIPMENT,
        [("BED-4P-18", 1)],
        placed=40 * _H + 5 * _M,
        paid=40 * _H,
    )
    b.conversation(
        who,
        Group.AFTER_SALE,
        ConversationStatus.OPEN,
        None,
        [
            _s(40 * _H, f"Payment received: {_yuan(o.total)}"),
            _c(36 * _M, "怎么还不发货？都快两天了"),
            _c(35 * _M, f"订单 {o.number}，今天能发吗"),
        ],
    )


def _change_before_shipping(b: _Builder) -> None:
    # A colour change before shipping: purple flag, items updated, nothing to return.
    who = b.cust("Lê Thu Trang")
    o = b.order(
        who,
        OrderStatus.AWAITING_SHIPMENT,
        [("TWL-BATH-WH", 1)],
        placed=6 * _H + 20 * _M,
        paid=6 * _H + 18 * _M,
    )
    b.remark(o, FlagColour.PURPLE, "客户改颜色：浴巾灰色改白色（商品已改）", LAN, 5 * _H + 57 * _M)
    b.conversation(
        who,
        Group.PRE_SALE,
        ConversationStatus.RESOLVED,
        LAN,
        [
            _c(6 * _H, "Shop ơi, mình muốn đổi khăn tắm màu xám sang màu trắng được không?"),
            _a(
                5 * _H + 58 * _M,
                "Dạ được chị! Đơn chưa gửi nên em đổi giúp chị sang màu trắng luôn nha.",
            ),
            _n(
                5 * _H + 57 * _M,
                "Colour change grey → white before shipping. Purple flag for the warehouse.",
            ),
            _a(5 * _H + 56 * _M, "Em đã ghi chú cho kho rồi ạ, hôm nay gửi hàng chị nhé 💐"),
            _c(5 * _H + 50 * _M, "Cảm ơn shop!"),
            _a(5 * _H + 49 * _M, "Dạ, chúc chị một ngày vui ạ!"),
        ],
        agent=LAN,
    )


def _closing_rating(b: _Builder) -> None:
    who = b.cust("许慧敏")
    b.order(
        who,
        OrderStatus.DELIVERED,
        [("BWL-SET-4", 1), ("PLT-CER-8", 4)],
        placed=4 * _D,
        paid=4 * _D - 1 * _M,
        shipped=3 * _D + 5 * _H,
        delivered=1 * _D + 4 * _H,
    )
    b.conversation(
        who,
        Group.AFTER_SALE,
        ConversationStatus.RESOLVED,
        MEI,
        [
            _c(1 * _D + 2 * _H, "碗收到了，质感很好，比图片还好看"),
            _a(
                1 * _D + 1 * _H + 58 * _M,
                "谢谢亲的认可🥰 用得开心的话，方便给我们一个五星好评哦，有问题随时找我～",
            ),
            _c(1 * _D + 1 * _H + 50 * _M, "好嘞"),
            _a(1 * _D + 1 * _H + 49 * _M, "谢谢亲，祝您生活愉快🌸"),
        ],
        agent=MEI,
    )


def _address_after_shipping(b: _Builder) -> None:
    # Shipped already, so the change goes through the courier: a blue flag, and the
    # chat snoozed until the courier confirms.
    who = b.cust("Priya Nair")
    o = b.order(
        who,
        OrderStatus.SHIPPED,
        [("CRT-BLK", 1), ("VAS-GLASS", 1)],
        placed=1 * _D + 10 * _H,
        paid=1 * _D + 10 * _H - 3 * _M,
        shipped=20 * _H,
        carrier=YUNDA,
    )
    new = b.address(who.city)
    o.address = f"{who.name}，{who.phone}，{new}"
    b.event(
        o, OrderEventKind.ADDRESS_CHANGED, 2 * _H + 48 * _M, f"已发货改址：申请韵达改派至 {new}"
    )
    b.remark(
        o, FlagColour.BLUE, f"已发货改地址：申请韵达改派至 {new}，待快递确认", HAO, 2 * _H + 48 * _M
    )
    b.conversation(
        who,
        Group.AFTER_SALE,
        ConversationStatus.SNOOZED,
        HAO,
        [
            _c(
                3 * _H,
                "Hi, I just realised I used my old office address. "
                "The parcel has already shipped. Can you change it?",
            ),
            _a(
                2 * _H + 57 * _M,
                "Hi Priya! Once it has shipped we ask the "
                "courier to redirect it. What's the new address?",
            ),
            _c(2 * _H + 50 * _M, new),
            _n(
                2 * _H + 48 * _M,
                "Asked Yunda to redirect; they confirm within 24 h. Blue flag added.",
            ),
            _a(
                2 * _H + 46 * _M,
                "Done, I've asked Yunda to redirect it. They usually "
                "confirm within a day; I'll tell you as soon as they do.",
            ),
        ],
        agent=HAO,
        snooze_for=20 * _H,
        channel="web",
    )


def _courier_door(b: _Builder) -> None:
    who = b.cust("谢晓燕")
    b.order(
        who,
        OrderStatus.DELIVERED,
        [("BED-4P-18", 1)],
        placed=4 * _D,
        paid=4 * _D - 2 * _M,
        shipped=3 * _D + 2 * _H,
        delivered=3 * _H,
        carrier=ZTO,
        signed="菜鸟驿站代收",
    )
    b.conversation(
        who,
        Group.AFTER_SALE,
        ConversationStatus.OPEN,
        None,
        [
            _s(3 * _H, "Order delivered: 菜鸟驿站代收"),
            _c(115 * _S, "快递都不送上门的吗？直接放驿站了，我家 6 楼没电梯"),
            _c(70 * _S, "四件套很重的"),
        ],
    )


def _quality(b: _Builder) -> None:
    who = b.cust("冯雪")
    b.order(
        who,
        OrderStatus.DELIVERED,
        [("PIL-LATEX", 2)],
        placed=6 * _D,
        paid=6 * _D - 1 * _M,
        shipped=5 * _D + 8 * _H,
        delivered=3 * _D,
        carrier=JT,
    )
    b.conversation(
        who,
        Group.AFTER_SALE,
        ConversationStatus.OPEN,
        None,
        [
            _c(3 * _H + 42 * _M, "乳胶枕一股味道，这正常吗？"),
            _c(3 * _H + 41 * _M, "[图片]"),
            _c(3 * _H + 40 * _M, "放阳台两天了还有"),
        ],
    )


def _stock(b: _Builder) -> None:
    who = b.cust("高俊杰")
    b.order(
        who,
        OrderStatus.COMPLETED,
        [("TWL-FACE-3", 1)],
        placed=62 * _D,
        paid=62 * _D - 1 * _M,
        shipped=61 * _D + 3 * _H,
        delivered=59 * _D,
    )
    b.conversation(
        who,
        Group.PRE_SALE,
        ConversationStatus.OPEN,
        None,
        [
            _s(2 * _M, f"Customer is viewing: {_CATALOGUE['LMP-DESK-OAK'].label}"),
            _c(55 * _S, "原木台灯有现货吗？今天拍今天能发吗"),
            _c(50 * _S, "想周末前拿到"),
        ],
    )


def _product_question_es(b: _Builder) -> None:
    who = b.cust("Alejandro Torres")
    b.order(who, OrderStatus.AWAITING_PAYMENT, [("CRT-BLK", 2)], placed=9 * _M)
    b.conversation(
        who,
        Group.PRE_SALE,
        ConversationStatus.OPEN,
        None,
        [
            _s(8 * _M, f"Customer is viewing: {_CATALOGUE['CRT-BLK'].label}"),
            _c(6 * _M, "Hola, ¿las cortinas opacas tienen ganchos incluidos?"),
            _c(5 * _M + 40, "Mi ventana mide 2,8 m de ancho, ¿con dos paños es suficiente?"),
        ],
    )


def _product_question_vi(b: _Builder) -> None:
    who = b.cust("Phạm Quốc Bảo")
    b.order(
        who,
        OrderStatus.DELIVERED,
        [("KTL-08-TV", 1)],
        placed=7 * _D,
        paid=7 * _D - 2 * _M,
        shipped=6 * _D + 4 * _H,
        delivered=3 * _D + 2 * _H,
    )
    b.conversation(
        who,
        Group.PRE_SALE,
        ConversationStatus.OPEN,
        None,
        [
            _s(15 * _M, f"Customer is viewing: {_CATALOGUE['CUP-TH-500-WH'].label}"),
            _c(14 * _M, "Cho mình hỏi cốc giữ nhiệt Spruce giữ nóng được bao lâu vậy shop?"),
            _c(13 * _M + 30, "Mình định mua tặng bố 🎁"),
        ],
    )


def _refund_timing(b: _Builder) -> None:
    who = b.cust("Camila Morales")
    o = b.order(
        who,
        OrderStatus.REFUNDED,
        [("SLP-HOME", 2)],
        placed=2 * _D + 5 * _H,
        paid=2 * _D + 5 * _H - 2 * _M,
    )
    b.event(
        o,
        OrderEventKind.REFUND_REQUESTED,
        2 * _D + 1 * _H,
        f"仅退款 {_yuan(o.total)} · 原因：拍错尺码",
    )
    b.event(o, OrderEventKind.REFUND_APPROVED, 1 * _D + 23 * _H, _yuan(o.total))
    b.event(o, OrderEventKind.REFUNDED, 1 * _D + 23 * _H - 5 * _M, f"{_yuan(o.total)} 原路退回")
    b.conversation(
        who,
        Group.AFTER_SALE,
        ConversationStatus.OPEN,
        None,
        [
            _s(1 * _D + 23 * _H - 5 * _M, f"Refund completed: {_yuan(o.total)}"),
            _c(26 * _M, "Hola, me aprobaron el reembolso hace dos días pero no veo el dinero."),
            _c(25 * _M, "¿Cuánto tarda en llegar a la tarjeta?"),
        ],
    )


def _call_before_delivery(b: _Builder) -> None:
    who = b.cust("曹丽华")
    o = b.order(
        who,
        OrderStatus.SHIPPED,
        [("BED-4P-18", 1), ("PIL-LATEX", 2)],
        placed=2 * _D + 2 * _H,
        paid=2 * _D + 2 * _H - 1 * _M,
        shipped=1 * _D + 16 * _H,
        carrier=ZTO,
    )
    b.conversation(
        who,
        Group.AFTER_SALE,
        ConversationStatus.OPEN,
        None,
        [
            _s(1 * _D + 16 * _H, f"Order shipped: {o.carrier} {o.tracking}"),
            _c(9 * _M, "快递送货前能不能先打个电话？家里只有老人在，怕听不见敲门"),
            _c(8 * _M + 30, "打订单上的电话就行"),
        ],
    )


#: Story name (a quick-reply scenario where one fits) and the function that tells it.
#: Order matters: each story adds one conversation, so its position is its id.
_STORIES: tuple[tuple[str, Callable[[_Builder], None]], ...] = (
    ("refund-before-shipping", _refund_before_shipping),
    ("no-tracking-update", _no_tracking_update),
    ("damaged-late", _damaged_late),
    ("wrong-item", _wrong_item),
    ("missing-item", _missing_item),
    ("counterfeit", _counterfeit),
    ("wrong-address", _wrong_address),
    ("outside-area", _outside_area),
    ("misrouted", _misrouted),
    ("damaged-transit", _damaged_transit),
    ("usage-help", _usage_help),
    ("invoice-missing", _invoice_missing),
    ("attitude-complaint", _attitude_complaint),
    ("negative-review", _negative_review),
    ("refund-before-group", _refund_before_group),
    ("refund-shipped", _refund_shipped),
    ("refund-signed", _refund_signed),
    ("price-fixed", _price_fixed),
    ("size-advice", _size_advice),
    ("payment-reminder", _payment_reminder),
    ("address-confirm", _address_confirm),
    ("cod-confirm", _cod_confirm),
    ("offline-reply", _offline_reply),
    ("shipping-time", _shipping_time),
    ("shipping-time-es", _shipping_time_es),
    ("shipping-48h", _when_shipping_vi),
    ("extra-postage", _extra_postage),
    ("combine-orders", _combine_orders),
    ("product-question", _product_question),
    ("return-tracking", _return_tracking),
    ("shipping-overdue", _shipping_overdue),
    ("change-before-shipping", _change_before_shipping),
    ("closing-rating", _closing_rating),
    ("address-after-shipping", _address_after_shipping),
    ("courier-door", _courier_door),
    ("quality", _quality),
    ("stock", _stock),
    ("product-question-es", _product_question_es),
    ("product-question-vi", _product_question_vi),
    ("refund-timing", _refund_timing),
    ("call-before-delivery", _call_before_delivery),
)

#: Story name -> the id of the conversation that tells it (stable across seeds).
STORY_CONVERSATIONS: dict[str, str] = {
    name: f"conv-{index:03d}" for index, (name, _) in enumerate(_STORIES, start=1)
}


# --- filler orders -----------------------------------------------------------------
#
# Around the stories, ordinary orders in every state, drawn from the seed, so the
# order list looks like a shop's and not like a test fixture.

_FILLER_ORDERS = 52

# Weights for the filler statuses after each status has appeared once: most of a
# shop's orders are quietly delivered or completed.
_FILLER_WEIGHTS: dict[OrderStatus, int] = {
    OrderStatus.AWAITING_PAYMENT: 3,
    OrderStatus.AWAITING_GROUP: 2,
    OrderStatus.AWAITING_SHIPMENT: 5,
    OrderStatus.SHIPPED: 7,
    OrderStatus.DELIVERED: 6,
    OrderStatus.REFUND_REQUESTED: 1,
    OrderStatus.RETURN_REQUESTED: 1,
    OrderStatus.REFUNDED: 2,
    OrderStatus.RETURNED: 1,
    OrderStatus.CANCELLED: 2,
    OrderStatus.COMPLETED: 10,
}


def _filler_order(b: _Builder, customer: _Customer, status: OrderStatus) -> None:
    """One ordinary order in ``status``; times are drawn backwards from its latest step."""
    r = b.rng

    def span(low: float, high: float) -> int:
        return int(r.uniform(low, high))

    skus = r.sample(sorted(_CATALOGUE), r.choice((1, 1, 1, 2, 2, 3)))
    items = [(sku, r.choice((1, 1, 1, 2))) for sku in skus]
    # Customers with a story keep it as their newest order; their fillers are history.
    if customer.has_story:
        status = OrderStatus.COMPLETED

    group_buy = r.random() < 0.3
    if status is OrderStatus.AWAITING_PAYMENT:
        b.order(customer, status, items, placed=span(15 * _M, 20 * _H))
        return
    if status is OrderStatus.AWAITING_GROUP:
        paid = span(30 * _M, 20 * _H)
        b.order(
            customer, status, items, placed=paid + span(1 * _M, 5 * _M), paid=paid, group_buy=True
        )
        return
    if status is OrderStatus.CANCELLED:
        placed = span(2 * _D, 25 * _D)
        if r.random() < 0.5:
            o = b.order(customer, status, items, placed=placed)
            b.event(o, OrderEventKind.CANCELLED, placed - 24 * _H, "超时未付款，系统自动取消")
        else:
            paid = placed - span(1 * _M, 10 * _M)
            o = b.order(customer, status, items, placed=placed, paid=paid)
            b.event(
                o,
                OrderEventKind.CANCELLED,
                paid - span(20 * _M, 6 * _H),
                "发货前买家取消，款项原路退回",
            )
        return
    unshipped = status is OrderStatus.AWAITING_SHIPMENT or (
        status in (OrderStatus.REFUND_REQUESTED, OrderStatus.REFUNDED) and r.random() < 0.5
    )
    if unshipped:
        if status is OrderStatus.AWAITING_SHIPMENT:
            # Inside the 48-hour window, some of them close to its end.
            ship_base = span(20 * _M, 44 * _H)
        elif status is OrderStatus.REFUND_REQUESTED:
            ship_base = span(2 * _H, 40 * _H)
        else:
            ship_base = span(3 * _D, 30 * _D)
        group = ship_base if group_buy else None
        paid = ship_base + (span(10 * _M, 3 * _H) if group_buy else 0)
        o = b.order(
            customer,
            status,
            items,
            placed=paid + span(1 * _M, 15 * _M),
            paid=paid,
            group_formed=group,
        )
        if status is OrderStatus.REFUND_REQUESTED:
            asked = ship_base - span(20 * _M, max(ship_base - 5 * _M, 21 * _M))
            b.event(
                o,
                OrderEventKind.REFUND_REQUESTED,
                max(asked, 5 * _M),
                f"仅退款 {_yuan(o.total)} · 原因：不想要了",
            )
        elif status is OrderStatus.REFUNDED:
            asked = ship_base - span(1 * _H, 20 * _H)
            b.event(
                o,
                OrderEventKind.REFUND_REQUESTED,
                asked,
                f"仅退款 {_yuan(o.total)} · 原因：不想要了",
            )
            b.event(o, OrderEventKind.REFUND_APPROVED, asked - 30 * _M, _yuan(o.total))
            b.event(o, OrderEventKind.REFUNDED, asked - 40 * _M, f"{_yuan(o.total)} 原路退回")
        return

    # Everything else has left the warehouse. Pick the latest step first.
    if status is OrderStatus.SHIPPED:
        shipped, delivered = span(2 * _H, 3 * _D), None
    else:
        if status is OrderStatus.DELIVERED:
            delivered = span(1 * _H, 6 * _D)
        elif status is OrderStatus.COMPLETED:
            delivered = span(45 * _D, 150 * _D) if customer.has_story else span(10 * _D, 60 * _D)
        elif status in (OrderStatus.REFUNDED, OrderStatus.RETURNED):
            delivered = span(9 * _D, 30 * _D)
        else:  # refund or return requested after delivery
            delivered = span(1 * _D, 6 * _D)
        shipped = delivered + span(1 * _D, 4 * _D)
    ship_base = shipped + span(3 * _H, 36 * _H)
    group = ship_base if group_buy else None
    paid = ship_base + (span(10 * _M, 4 * _H) if group_buy else 0)
    o = b.order(
        customer,
        status,
        items,
        placed=paid + span(1 * _M, 15 * _M),
        paid=paid,
        group_formed=group,
        shipped=shipped,
        delivered=delivered,
    )
    if delivered is None:
        return
    if status is OrderStatus.REFUND_REQUESTED:
        reason = r.choice(("质量问题：有瑕疵", "与描述不符", "少件"))
        b.event(
            o,
            OrderEventKind.REFUND_REQUESTED,
            delivered - span(1 * _H, 20 * _H),
            f"退货退款 {_yuan(o.total)} · 原因：{reason}",
        )
    elif status is OrderStatus.RETURN_REQUESTED:
        b.event(
            o, OrderEventKind.RETURN_REQUESTED, delivered - span(1 * _H, 20 * _H), "七天无理由退货"
        )
    elif status in (OrderStatus.REFUNDED, OrderStatus.RETURNED):
        asked = delivered - span(4 * _H, 2 * _D)
        back = b.tracking(r.choice((ZTO, YTO, YUNDA)))
        b.event(o, OrderEventKind.RETURN_REQUESTED, asked, "七天无理由退货")
        b.event(o, OrderEventKind.RETURN_SHIPPED, asked - 1 * _D, f"退货单号 {back}")
        b.event(o, OrderEventKind.RETURN_RECEIVED, asked - 4 * _D, "仓库已验收，商品完好")
        if status is OrderStatus.REFUNDED:
            b.event(
                o, OrderEventKind.REFUNDED, asked - 4 * _D - 2 * _H, f"{_yuan(o.total)} 原路退回"
            )


def _add_fillers(b: _Builder) -> None:
    r = b.rng
    statuses = list(OrderStatus)  # each status at least once, whatever the seed
    weights = list(_FILLER_WEIGHTS.values())
    statuses += r.choices(list(_FILLER_WEIGHTS), weights=weights, k=_FILLER_ORDERS - len(statuses))
    # Customers without a story get an order first, so nobody is an empty profile.
    quiet = [c for c in b.customers if not c.has_story]
    chosen = quiet + r.choices(b.customers, k=_FILLER_ORDERS - len(quiet))
    spare = [c for c in chosen if not c.has_story]
    for index, status in enumerate(statuses):
        customer = chosen[index]
        if customer.has_story and status is not OrderStatus.COMPLETED and spare:
            # Keep the rare statuses on customers whose newest order they can be.
            customer = r.choice(spare)
        _filler_order(b, customer, status)


# --- the public entry points ---------------------------------------------------------


def build_demo_shop(now: datetime, seed: int = 7) -> DemoShop:
    """Build the demo shop as it stands at ``now`` (an aware datetime).

    The same ``(now, seed)`` always gives the same records. The stories are fixed;
    ``seed`` varies the filler orders, addresses, phones and tracking numbers.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    b = _Builder(now=now.astimezone(UTC), rng=random.Random(seed))
    b.add_customers()
    for name, tell in _STORIES:
        tell(b)
        if b.conversations[-1].id != STORY_CONVERSATIONS[name]:
            raise AssertionError(f"story {name!r} must add exactly one conversation")
    _add_fillers(b)
    return b.finish()


#: What the simulator's customers say, by language: short openers and nudges.
SIMULATOR_LINES: dict[str, tuple[str, ...]] = {
    "zh-CN": (
        "在吗？",
        "亲，在不在",
        "我的快递到哪了？",
        "什么时候发货呀",
        "能便宜点吗",
        "这个有现货吗？",
        "发什么快递？",
        "可以开发票吗",
        "我想改一下地址",
        "退款什么时候到账？",
        "收到的东西有点问题",
        "怎么申请退货？",
        "物流好几天没动了",
        "能发顺丰吗？",
        "拍了两件能一起发吗",
        "好的，谢谢",
        "有人吗？？",
        "这个枕头能机洗吗",
    ),
    "en": (
        "Hi, anyone there?",
        "Where is my parcel?",
        "When will my order ship?",
        "Is this still in stock?",
        "Can I change my delivery address?",
        "Do you ship to Hong Kong?",
        "Can I get an invoice for this order?",
        "How do I return an item?",
        "My tracking hasn't updated in days.",
        "Is there any discount if I buy two?",
        "The box arrived damaged.",
        "When will I get my refund?",
        "Which courier do you use?",
        "Is the kettle BPA-free?",
        "Thanks, that helps!",
        "Hello?",
        "Can you ship it today?",
    ),
    "vi": (
        "Shop ơi, có ai không ạ?",
        "Đơn của mình tới đâu rồi shop?",
        "Khi nào shop gửi hàng vậy?",
        "Còn hàng không shop?",
        "Có giảm giá không ạ?",
        "Mình muốn đổi địa chỉ nhận hàng",
        "Có ship COD không shop?",
        "Làm sao để trả hàng vậy?",
        "Hàng bị vỡ rồi shop ơi",
        "Bao lâu thì nhận được tiền hoàn?",
        "Shop gửi bằng bên vận chuyển nào?",
        "Có xuất hóa đơn không ạ?",
        "Mình mua hai cái gửi chung được không?",
        "Cảm ơn shop nhiều nha",
        "Sao mấy ngày rồi chưa cập nhật vận đơn?",
        "Cái này dùng sao vậy shop?",
    ),
    "es": (
        "Hola, ¿hay alguien?",
        "¿Dónde está mi paquete?",
        "¿Cuándo envían mi pedido?",
        "¿Les queda en stock?",
        "¿Me pueden hacer un descuento?",
        "Quiero cambiar la dirección de entrega",
        "¿Puedo pagar contra reembolso?",
        "¿Cómo hago una devolución?",
        "El paquete llegó dañado",
        "¿Cuándo me devuelven el dinero?",
        "¿Con qué mensajería envían?",
        "¿Me pueden dar factura?",
        "El seguimiento no se actualiza desde hace días",
        "¿Puedo juntar dos pedidos en un envío?",
        "Muchas gracias",
        "¿Cómo se usa esto?",
    ),
}
