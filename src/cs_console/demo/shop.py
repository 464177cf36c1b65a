"""The demo shop's identity: its name, return address, money, agents and carriers.

Code names these (the demo launcher signs in as one of the agents and shows the shop's
return address; the order pane checks carriers), so they stay Python constants. The
catalogue, cities, customers and stories are data files that ``builder.py`` reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta, timezone

from cs_console.domain import Group, Role
from cs_console.protocol import (
    AgentRecord,
    ConversationRecord,
    CustomerRecord,
    HandoverRecord,
    MessageRecord,
    OrderEventRecord,
    OrderRecord,
    RemarkRecord,
)

SHOP_NAME = "Lotus & Pine Home Store"
RETURN_ADDRESS = (
    "浙江省金华市义乌市稠江街道杨村路 300 号 莲松家居仓库 售后组 收，"
    "电话 0579-8555 0172（请勿到付，退货单号请填写在退款申请里）"
)
CURRENCY = "CNY"

#: The shop and its customers live in China; remark dates follow the shop's clock.
SHOP_CLOCK = timezone(timedelta(hours=8), "CST")

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

#: The short names story files use for the carriers.
CARRIER_CODES: dict[str, str] = {
    "SF": SF,
    "ZTO": ZTO,
    "YTO": YTO,
    "YUNDA": YUNDA,
    "EMS": EMS,
    "JT": JT,
}

#: Each courier's tracking numbers have their own recognisable shape: prefix, digits.
TRACKING_SHAPES: dict[str, tuple[str, int]] = {
    SF: ("SF", 13),
    ZTO: ("78", 12),
    YTO: ("YT", 13),
    YUNDA: ("43", 11),
    EMS: ("98", 11),
    JT: ("JT", 13),
}

LAN, JUN, MEI, HAO, SOFIA = "Lan", "Jun", "Mei", "Hao", "Sofia"

AGENTS: tuple[AgentRecord, ...] = (
    AgentRecord(name=LAN, role=Role.AGENT, group=Group.PRE_SALE),
    AgentRecord(name=JUN, role=Role.AGENT, group=Group.PRE_SALE),
    AgentRecord(name=MEI, role=Role.AGENT, group=Group.AFTER_SALE),
    AgentRecord(name=HAO, role=Role.AGENT, group=Group.AFTER_SALE),
    # The supervisor sits with after-sales, where complaints and approvals land.
    AgentRecord(name=SOFIA, role=Role.SUPERVISOR, group=Group.AFTER_SALE),
)

#: The languages the demo's customers write in (the console's own four).
LANGUAGES: tuple[str, ...] = ("en", "zh-CN", "vi", "es")


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
    #: The previous shift's handover, shown when the console starts.
    handovers: list[HandoverRecord] = field(default_factory=list)


def yuan(minor: int) -> str:
    """An amount in fen as the shop writes it: ``¥39.00``."""
    return f"¥{minor // 100}.{minor % 100:02d}"
