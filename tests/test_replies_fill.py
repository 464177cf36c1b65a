"""Fill-in blanks: ``{fill:label}`` is always a hole the agent must fill, lint checks its
label, and the shipped library uses it wherever the agent has to write something."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cs_console.cli import main
from cs_console.replies import load_library, shipped_library_dir
from cs_console.replies.library import lint_dirs
from cs_console.replies.placeholders import (
    HOLE_RE,
    ReplyContext,
    fill,
    has_holes,
    placeholders_in,
)

KNOWN = ReplyContext(customer_name="Lan", order_number="A-1001", carrier="SF Express")


def test_a_blank_is_a_hole_labelled_as_written() -> None:
    filled = fill("Hi {customer_name}, the new address is {fill:new address}.{cursor}", KNOWN)
    assert filled.text == "Hi Lan, the new address is ‹new address›."
    start, end, label = filled.holes[0]
    assert (filled.text[start:end], label) == ("‹new address›", "new address")
    # The agent lands on the blank, not on the {cursor} after it.
    assert filled.landing() == start
    assert filled.cursor == len(filled.text)


def test_a_blank_stays_a_hole_whatever_the_conversation_knows() -> None:
    # Even a label that names a known value is the agent's to write (a *new* carrier).
    filled = fill("Reshipped with {fill:carrier}, was {carrier}", KNOWN)
    assert filled.text == "Reshipped with ‹carrier›, was SF Express"
    assert [label for _, _, label in filled.holes] == ["carrier"]


def test_blanks_and_missing_values_are_holes_in_order() -> None:
    filled = fill("{fill:补偿金额}元 · {tracking_number} · {fill:  日期 }", ReplyContext())
    assert filled.text == "‹补偿金额›元 · ‹tracking_number› · ‹日期›"
    assert [label for _, _, label in filled.holes] == ["补偿金额", "tracking_number", "日期"]
    assert placeholders_in("{fill:a} {carrier}") == ["fill:a", "carrier"]


def test_hole_pattern_finds_every_hole_and_nothing_else() -> None:
    text = "Paid ‹amount›, sent to ‹nombre, teléfono y dirección› by ‹carrier›"
    assert [m.group(0) for m in HOLE_RE.finditer(text)] == [
        "‹amount›",
        "‹nombre, teléfono y dirección›",
        "‹carrier›",
    ]
    assert has_holes("due ‹ngày có hàng›")
    assert not has_holes("no holes here, only «quotes» and ‹›")
    assert not has_holes("‹a line\nbreak›")


@pytest.mark.parametrize(
    ("placeholder", "message"),
    [
        ("{fill:}", "needs a label"),
        ("{fill:   }", "needs a label"),
        ("{fill:" + "x" * 41 + "}", "over 40 characters"),
        ("{fill:a‹b}", "must not contain"),
        ("{fill}", "{fill:what to write}"),
    ],
)
def test_lint_rejects_a_blank_without_a_proper_label(
    tmp_path: Path, placeholder: str, message: str
) -> None:
    folder = tmp_path / "lib" / "en"
    folder.mkdir(parents=True)
    (folder / "shipping.toml").write_text(
        'group = "shipping"\n\n'
        "[[reply]]\n"
        'id = "en.shipping.new-address"\n'
        'title = "New address"\n'
        'body = """\n'
        "Sure, we will send it to\n"
        f"{placeholder} instead.\n"
        '"""\n'
        'scenario = "wrong-address"\n'
        'audience = "after-sale"\n',
        encoding="utf-8",
    )
    issues = lint_dirs([tmp_path / "lib"])
    assert len(issues) == 1
    assert issues[0].path.endswith("shipping.toml")
    assert issues[0].line == 8  # the body line holding the blank
    assert message in issues[0].message


def test_a_good_blank_passes_lint_and_the_cli(tmp_path: Path) -> None:
    folder = tmp_path / "lib" / "vi"
    folder.mkdir(parents=True)
    (folder / "shipping.toml").write_text(
        'group = "shipping"\n\n[[reply]]\nid = "vi.shipping.phi"\ntitle = "Phí ship"\n'
        'body = "Phí ship chênh lệch là {fill:số tiền} ạ."\n'
        'scenario = "extra-postage"\naudience = "both"\n',
        encoding="utf-8",
    )
    assert lint_dirs([tmp_path / "lib"]) == []
    assert main(["--home", str(tmp_path), "replies", "lint", str(tmp_path / "lib")]) == 0


def test_shipped_library_asks_the_agent_where_it_must_write() -> None:
    library, issues = load_library([shipped_library_dir()])
    assert issues == []
    blanks = {
        reply.id: [name for name in placeholders_in(reply.body) if name.startswith("fill:")]
        for reply in library
    }
    # The replies that name a new tracking number, a compensation, a restock date.
    assert blanks["en.wrong-missing.reissued"] == ["fill:new tracking number"]
    assert blanks["zh-CN.complaint.attitude-compensate"] == ["fill:补偿金额"]
    assert blanks["es.pre-sale.out-of-stock"] == ["fill:fecha de reposición"]
    assert blanks["vi.shipping.extra-postage"] == ["fill:số tiền"]
    assert sum(1 for names in blanks.values() if names) >= 26
    for language in ("zh-CN", "en", "vi", "es"):
        assert any(names for reply_id, names in blanks.items() if reply_id.startswith(language))
    # What is left of {cursor} is a landing spot at the very end, never a gap mid-text.
    for reply in library:
        if "{cursor}" in reply.body:
            assert reply.body.endswith("{cursor}"), reply.id
            assert not re.search(r"[:：]\s*\{cursor\}$", reply.body), reply.id
    # A blank reply cannot go out as it is.
    reissued = library.get("en.wrong-missing.reissued")
    assert reissued is not None
    assert has_holes(fill(reissued.body, KNOWN).text)
