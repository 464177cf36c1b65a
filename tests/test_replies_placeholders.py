"""Filling placeholders: values go in literally, missing ones become holes."""

from __future__ import annotations

import dataclasses

from hypothesis import given
from hypothesis import strategies as st

from cs_console.replies.placeholders import (
    HOLE_CLOSE,
    HOLE_OPEN,
    PLACEHOLDERS,
    ReplyContext,
    fill,
    placeholders_in,
)

FULL = ReplyContext(
    customer_name="Lan",
    order_number="A-1001",
    order_status="shipped",
    carrier="SF Express",
    tracking_number="SF123",
    ship_by="12 May",
    days_since_delivery="3",
    refund_amount="¥25.00",
    agent_name="Mai",
    shop_name="Tea House",
    return_address="1 Road, Hangzhou",
    today="10 May",
)


def test_placeholders_match_the_readme_and_the_context() -> None:
    names = {field.name for field in dataclasses.fields(ReplyContext)}
    assert names | {"cursor"} == PLACEHOLDERS
    assert len(PLACEHOLDERS) == 13


def test_every_placeholder_is_filled() -> None:
    body = " ".join(f"{{{name}}}" for name in sorted(PLACEHOLDERS - {"cursor"}))
    filled = fill(body, FULL)
    assert filled.holes == ()
    assert filled.cursor is None
    expected = " ".join(str(FULL.values()[name]) for name in sorted(PLACEHOLDERS - {"cursor"}))
    assert filled.text == expected


def test_missing_values_become_holes_with_offsets() -> None:
    ctx = ReplyContext(customer_name="Lan", tracking_number="  ")
    filled = fill("Hi {customer_name}, order {order_number} via {carrier} ({tracking_number})", ctx)
    assert filled.text == "Hi Lan, order ‹order_number› via ‹carrier› (‹tracking_number›)"
    assert [filled.text[start:end] for start, end, _ in filled.holes] == [
        "‹order_number›",
        "‹carrier›",
        "‹tracking_number›",
    ]
    assert [name for _, _, name in filled.holes] == ["order_number", "carrier", "tracking_number"]
    assert filled.holes[0] == (14, 28, "order_number")
    assert filled.landing() == 14


def test_cursor_offset_and_literal_braces() -> None:
    filled = fill("Use {{code}} {cursor}now, {customer_name}}}", FULL)
    assert filled.text == "Use {code} now, Lan}"
    assert filled.cursor == len("Use {code} ")
    assert filled.landing() == filled.cursor
    assert fill("Plain", FULL).landing() == len("Plain")


def test_cursor_after_holes_counts_hole_text() -> None:
    filled = fill("{carrier} then {cursor}", ReplyContext())
    assert filled.text == "‹carrier› then "
    assert filled.cursor == len("‹carrier› then ")
    assert filled.landing() == 0


def test_values_are_inserted_literally() -> None:
    ctx = ReplyContext(
        customer_name="{order_number} [bold]x[/] [@click=app.quit]", order_number="N"
    )
    filled = fill("Hi {customer_name}! {order_number}", ctx)
    assert filled.text == "Hi {order_number} [bold]x[/] [@click=app.quit]! N"
    assert filled.holes == ()


def test_unknown_and_unbalanced_stay_as_written() -> None:
    assert fill("a {nope} b { c } d", FULL).text == "a {nope} b { c } d"
    assert fill("open { only", FULL).text == "open { only"
    assert fill("close } only", FULL).text == "close } only"


def test_placeholders_in() -> None:
    body = "{customer_name} {{not_me}} {carrier} {customer_name} {typo} {cursor}"
    assert placeholders_in(body) == ["customer_name", "carrier", "typo", "cursor"]
    assert placeholders_in("no braces") == []


@given(
    st.lists(
        st.one_of(
            st.text(alphabet="ab \n‹›[]", max_size=6),
            st.sampled_from(sorted(f"{{{name}}}" for name in PLACEHOLDERS)),
            st.sampled_from(["{", "}", "{{", "}}", "{nope}"]),
        ),
        max_size=12,
    ),
    st.dictionaries(
        st.sampled_from(sorted(PLACEHOLDERS - {"cursor"})),
        st.one_of(st.none(), st.sampled_from(["", " ", "x", "{carrier}", "‹today›", "[b]"])),
    ),
)
def test_holes_always_point_at_their_marks(
    pieces: list[str], values: dict[str, str | None]
) -> None:
    filled = fill("".join(pieces), ReplyContext(**values))
    previous_end = 0
    for start, end, name in filled.holes:
        assert start >= previous_end
        assert filled.text[start:end] == f"{HOLE_OPEN}{name}{HOLE_CLOSE}"
        previous_end = end
    if filled.cursor is not None:
        assert 0 <= filled.cursor <= len(filled.text)
