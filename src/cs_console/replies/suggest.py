"""Reply suggestions from the customer's last message and the order's status.

Suggestions must be predictable, so this is plain scoring, not a model:

* keywords of a reply found in the message count by how specific they are (a long
  phrase says more than "when");
* a few things customers ask all day ("when will it ship", "the parcel has not
  moved", "I want a refund", "it arrived broken", "wrong item", "something is
  missing") are recognised by phrasing in Chinese, English, Vietnamese and Spanish
  (:data:`INTENTS`), since customers rarely use a reply's exact keywords;
* scenarios that fit the order's status get a boost, which also decides between
  replies the message alone cannot tell apart ("refund" before or after shipping),
  and scenarios of another stage drop back.

A message that matches nothing suggests nothing: the status alone would only be
noise under a customer's "hi, are the cats in your photo yours?". Without a message
the status alone picks the replies. The conversation's language comes first; another
language's reply is suggested only when the message used its keywords.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cs_console.domain import OrderStatus
from cs_console.replies.library import Library, QuickReply
from cs_console.replies.search import ReplyIndex, fold

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
# evidence count half again: enough to tell "moved" (house) from "not moved"
# (parcel) for a shipped order, not enough to bury what the customer said.
_STATUS_BOOST = 1.5
_STATUS_FACTOR = 1.5
# A scenario tied to another stage of the order (a refund after delivery for an
# order not yet shipped) stays available but drops back.
_OFF_STAGE_FACTOR = 0.6
# A recognised intent says as much as a long, specific keyword.
_INTENT_POINTS = 3.0
# Replies for the other desk stay available but drop behind.
_OTHER_AUDIENCE_FACTOR = 0.5
# Another language's reply must have matched a real word, not "do" or "ok".
_OTHER_LANGUAGE_MIN = 2.0
# Chinese packs a word into two characters; weigh a character like 2.5 letters.
_HAN_UNITS = 2.5
_UNITS_PER_POINT = 6.0
_HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
#: Scenarios some status lists: tied to a stage of the order.
_STAGED: frozenset[str] = frozenset(
    scenario for scenarios in STATUS_SCENARIOS.values() for scenario in scenarios
)


@dataclass(frozen=True, slots=True)
class Intent:
    """Something customers ask in many phrasings, and the scenarios that answer it.

    ``patterns`` run over the message lowercased (``casefold``) and over its folded
    form (no diacritics: Vietnamese and Spanish customers often type without them).
    """

    name: str
    scenarios: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...]

    def matches(self, casefolded: str, folded: str) -> bool:
        """Whether the message says this."""
        return any(p.search(casefolded) or p.search(folded) for p in self.patterns)


def _patterns(*sources: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(source) for source in sources)


_ZH_NUMBER = "[一二两三四五六七八九十几好多\\d]"

#: The everyday questions, one entry per intent; a pattern per language.
INTENTS: tuple[Intent, ...] = (
    Intent(
        "ship-when",
        ("shipping-48h", "shipping-time"),
        _patterns(
            # 什么时候发货 / 啥时候发 / 怎么还没发 / 还没发货吗 / 发货了吗
            r"(什么时候|啥时候|几时|多久|何时|哪天).{0,4}(发货|发出|寄出|发)"
            r"|还没(有)?(发货|发出|寄出|发)|没(有)?发货|(发货|发出|寄出)了(吗|没|嘛)",
            r"\bwhen\b.{0,30}\b(ship|send|dispatch|post|sent)"
            r"|(\bnot|n't|\bnever|\byet to)\b.{0,12}\b(shipped|sent|dispatched|posted)\b"
            r"|\bship(ped)? (it )?yet\b",
            r"\b(khi nao|bao gio|bao lau|may ngay|hom nao)\b.{0,25}\b(gui|giao|ship|phat)\b"
            r"|\bchua\b.{0,12}\b(gui|ship|phat|dong goi)\b|\b(gui|ship) (hang )?chua\b",
            r"\bcuando\b.{0,25}\b(envi|mand|sale|salga|despach)\w*"
            r"|\b(no|todavia no|aun no)\b.{0,15}\b(enviado|mandado|despachado|salido)\b",
        ),
    ),
    Intent(
        "not-moving",
        ("no-tracking-update", "misrouted"),
        _patterns(
            # 物流不动 / 三天没更新 / 一直没动 / 卡住了 / 怎么还没到
            r"(物流|快递|包裹|单号|信息).{0,8}(不动|没动|没有动|没更新|没有更新|不更新|停|卡)"
            rf"|({_ZH_NUMBER}+天|一直|很久|好久).{{0,6}}(没|不)(动|更新|变)"
            r"|卡(住|在)|还没(到|收到)|(包裹|快递)(在哪|到哪)",
            r"(\bnot|n't|\bno)\b.{0,15}\b(mov|updat|chang)\w*|\bstuck\b"
            r"|\bwhere('?s| is) my (parcel|package|order|stuff|delivery)"
            r"|(\bnot|n't)\b.{0,12}\b(arrived|come|here)\b",
            r"\b(khong|chua)\b.{0,15}\b(cap nhat|di chuyen|nhuc nhich)"
            r"|\bdung (yen|im)\b|\b(chua|khong) (nhan|toi|den) (duoc )?hang\b"
            r"|\b(hang|don)( hang)? (dau|o dau|di dau)\b",
            r"\bno se (ha )?(mueve|movido|actualiza|actualizado)|\b(parado|estancado|atascado)\b"
            r"|\bdonde esta (mi|el) (pedido|paquete|envio|compra)"
            r"|\bno (me )?ha llegado\b|\bsin (movimiento|actualizacion)",
        ),
    ),
    Intent(
        "refund",
        (
            "refund-before-group",
            "refund-before-shipping",
            "refund-shipped",
            "refund-signed",
            "courier-intercept",
            "return-how",
        ),
        _patterns(
            # 退款 / 退钱 / 不想要了 / 取消订单 / 退货
            r"退款|退钱|不想要了|不要了|取消.{0,3}(订单|单)|退货|钱.{0,4}退",
            r"\brefund|\bmoney back\b|\bcancel|\breturn (it|this|them|the)\b",
            r"\bhoan (lai )?tien\b|\bhuy don\b|\btra (lai )?hang\b|\bkhong (muon )?mua nua\b",
            r"\breembols|\bdevuelv\w* (el|mi) dinero|\bdevolucion del dinero|\bcancel"
            r"|\bya no lo quiero\b",
        ),
    ),
    Intent(
        "damaged",
        ("damage-photos", "damaged-transit", "damaged-late"),
        _patterns(
            r"碎了|坏了|破了|摔坏|压坏|压扁|破损|裂了|裂开|漏了|变形",
            r"\b(broken|broke|cracked|damaged|smashed|shattered|crushed|dented|leak(ing|ed))\b",
            # Diacritics matter here: folded "vo" is also "wife".
            r"\b(vỡ|bể|móp|méo|nứt|bẹp)\b|\bbị (hỏng|hư)\b|\b(bi|da) (vo|be|mop|nut)\b",
            r"\b(rot[oa]s?|dañad[oa]s?|danad[oa]s?|golpead[oa]s?|quebrad[oa]s?|rajad[oa]s?"
            r"|aplastad[oa]s?|abollad[oa]s?)\b",
        ),
    ),
    Intent(
        "wrong-item",
        ("wrong-item",),
        _patterns(
            r"发错|寄错|错发|不是我(买|要|拍|下单)的|(颜色|尺码|码数|型号|款式)(不对|错了)",
            r"\bwrong (item|size|colou?r|product|one|thing|model|parcel)\b"
            r"|\bnot what i (ordered|bought)\b",
            r"\b(giao|gui) nham\b|\bsai (mau|size|mau ma|san pham|hang)\b",
            r"\b(equivocad[oa]|incorrect[oa])\b|\bno es lo que (pedi|compre)\b",
        ),
    ),
    Intent(
        "missing-item",
        ("missing-item",),
        _patterns(
            r"少了|漏发|少发|缺了|少一|只收到",
            r"\bmissing\b|\bonly (got|received)\b",
            r"\bthieu\b",
            r"\bfalta|\bincomplet[oa]\b|\bsolo (me )?(llego|llegaron|recibi)\b",
        ),
    ),
)


def intents_in(message: str) -> list[Intent]:
    """Return the intents a customer's message expresses, in :data:`INTENTS` order.

    Args:
        message: what the customer wrote.
    """
    casefolded = " ".join(message.casefold().split())
    folded = fold(message)
    return [intent for intent in INTENTS if intent.matches(casefolded, folded)]


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
        At most ``limit`` replies; none when the message matches nothing, or when
        there is no message and the status points nowhere. The same inputs always
        give the same list.
    """
    if limit <= 0:
        return []
    message = (last_customer_message or "").strip()
    matches = index.keyword_matches(message) if message else {}
    intended: set[str] = set()
    for intent in intents_in(message) if message else ():
        intended.update(intent.scenarios)
    fitting = STATUS_SCENARIOS.get(order_status, ()) if order_status else ()

    scored: list[tuple[bool, float, int, QuickReply]] = []
    for order, reply in enumerate(library.replies):
        said = sum(keyword_weight(keyword) for keyword in matches.get(reply.id, ()))
        evidence = said + (_INTENT_POINTS if reply.scenario in intended else 0.0)
        if message and evidence <= 0:
            continue
        foreign = reply.language != language
        # Intents and statuses do not know the language: another language's reply
        # must have matched the message's own words.
        if foreign and said < _OTHER_LANGUAGE_MIN:
            continue
        score = evidence
        if reply.scenario in fitting:
            score = score * _STATUS_FACTOR + _STATUS_BOOST
        elif fitting and reply.scenario in _STAGED:
            score *= _OFF_STAGE_FACTOR
        if score <= 0:
            continue
        if audience is not None and reply.audience not in (audience, "both"):
            score *= _OTHER_AUDIENCE_FACTOR
        scored.append((foreign, -score, order, reply))
    scored.sort(key=lambda item: item[:3])
    return [reply for *_key, reply in scored[:limit]]
