"""Suggestions for what customers really write, in the four shipped languages: the right
reply is in the top three, the order's state picks between look-alikes, and a message
about nothing the library answers suggests nothing."""

from __future__ import annotations

import pytest

from cs_console.replies import Library, load_library, shipped_library_dir
from cs_console.replies.search import ReplyIndex
from cs_console.replies.suggest import intents_in, suggest


@pytest.fixture(scope="module")
def library() -> Library:
    loaded, issues = load_library([shipped_library_dir()])
    assert issues == []
    return loaded


@pytest.fixture(scope="module")
def index(library: Library) -> ReplyIndex:
    return ReplyIndex(library.replies)


def top_three(
    index: ReplyIndex, library: Library, message: str | None, status: str | None, language: str
) -> list[tuple[str, str]]:
    return [
        (reply.language, reply.scenario)
        for reply in suggest(
            index, library, last_customer_message=message, order_status=status, language=language
        )
    ]


@pytest.mark.parametrize(
    ("language", "message", "status", "scenario"),
    [
        # Asks when it ships.
        ("zh-CN", "亲，什么时候发货呀？拍了两天了", "awaiting-shipment", "shipping-48h"),
        ("zh-CN", "我的东西怎么还没发？", "awaiting-shipment", "shipping-48h"),
        ("en", "hey when are you shipping my order??", "awaiting-shipment", "shipping-48h"),
        ("en", "It still hasn't been sent", "awaiting-shipment", "shipping-48h"),
        ("vi", "khi nào shop gửi hàng vậy ạ", "awaiting-shipment", "shipping-48h"),
        ("vi", "sao don cua em chua gui a", "awaiting-shipment", "shipping-48h"),
        ("es", "¿cuándo envían mi pedido?", "awaiting-shipment", "shipping-48h"),
        ("es", "todavia no lo han enviado", "awaiting-shipment", "shipping-48h"),
        # Says the parcel has not moved.
        ("zh-CN", "物流三天都不动了，怎么回事", "shipped", "no-tracking-update"),
        ("zh-CN", "快递一直没更新", "shipped", "no-tracking-update"),
        ("en", "tracking hasn't updated in 4 days", "shipped", "no-tracking-update"),
        ("en", "my package is stuck somewhere", "shipped", "no-tracking-update"),
        ("vi", "đơn hàng mấy ngày rồi không thấy cập nhật", "shipped", "no-tracking-update"),
        ("es", "mi paquete está parado desde el lunes", "shipped", "no-tracking-update"),
        ("es", "el seguimiento no se ha actualizado en días", "shipped", "no-tracking-update"),
        # Asks for a refund: the order's state says which refund reply.
        ("zh-CN", "我不想要了，可以退款吗", "awaiting-shipment", "refund-before-shipping"),
        ("zh-CN", "我要退款", "delivered", "refund-signed"),
        ("en", "Can I get my money back?", "awaiting-shipment", "refund-before-shipping"),
        ("en", "I want to cancel and get a refund", "shipped", "refund-shipped"),
        ("vi", "em muốn hoàn tiền", "awaiting-shipment", "refund-before-shipping"),
        ("vi", "cho em tra hang hoan tien", "delivered", "refund-signed"),
        ("es", "quiero que me devuelvan el dinero", "awaiting-shipment", "refund-before-shipping"),
        # Arrived broken, wrong, incomplete.
        ("zh-CN", "收到的杯子碎了", "delivered", "damage-photos"),
        ("zh-CN", "发错货了，我买的是红色的", "delivered", "wrong-item"),
        ("en", "the mug arrived cracked", "delivered", "damage-photos"),
        ("vi", "hàng bị vỡ rồi shop ơi", "delivered", "damage-photos"),
        ("es", "llegó rota la taza", "delivered", "damage-photos"),
    ],
)
def test_the_right_reply_is_in_the_top_three(
    index: ReplyIndex, library: Library, language: str, message: str, status: str, scenario: str
) -> None:
    top = top_three(index, library, message, status, language)
    assert 1 <= len(top) <= 3
    assert (language, scenario) in top, top
    # The conversation's language comes first.
    assert top[0][0] == language


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("zh-CN", "你们家猫可爱吗"),
        ("en", "what's your favourite colour?"),
        ("vi", "hôm nay trời đẹp quá"),
        ("es", "me gusta tu foto de perfil"),
    ],
)
def test_an_unrelated_message_suggests_nothing(
    index: ReplyIndex, library: Library, language: str, message: str
) -> None:
    # Even with an order whose status alone would point at replies.
    assert top_three(index, library, message, "shipped", language) == []
    assert intents_in(message) == []


def test_the_state_decides_between_refund_replies(index: ReplyIndex, library: Library) -> None:
    firsts = {
        status: top_three(index, library, "退款", status, "zh-CN")[0][1]
        for status in ("awaiting-group", "awaiting-shipment", "shipped", "delivered")
    }
    assert firsts == {
        "awaiting-group": "refund-before-group",
        "awaiting-shipment": "refund-before-shipping",
        "shipped": "refund-shipped",
        "delivered": "refund-signed",
    }


def test_another_language_only_when_the_message_speaks_it(
    index: ReplyIndex, library: Library
) -> None:
    # A Chinese conversation with a Chinese message: only Chinese replies, even when
    # fewer than three fit.
    assert {lang for lang, _ in top_three(index, library, "发错货了", "delivered", "zh-CN")} == {
        "zh-CN"
    }
    # Without a message, the status alone suggests the conversation's own language.
    assert {lang for lang, _ in top_three(index, library, None, "shipped", "vi")} == {"vi"}
    # A customer writing English in a Vietnamese conversation is understood, and
    # answered in the conversation's language.
    mixed = top_three(index, library, "where is my parcel? it hasn't moved", "shipped", "vi")
    assert mixed[0] == ("vi", "no-tracking-update")
    # The same for a broken item.
    mixed = top_three(index, library, "the mug arrived cracked", "delivered", "vi")
    assert mixed[0] == ("vi", "damage-photos")


def test_intents_read_messages_typed_without_diacritics() -> None:
    assert [i.name for i in intents_in("khi nao shop gui hang vay")] == ["ship-when"]
    assert [i.name for i in intents_in("cuando me llega, no se mueve")] == ["not-moving"]
    # Folded Vietnamese "vo" is also "wife": only the accented word means broken.
    assert intents_in("vo em dat don nay") == []
    assert [i.name for i in intents_in("hàng bị vỡ")] == ["damaged"]
