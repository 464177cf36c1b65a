"""The demo shop's data files: what a broken story file would break, pinned.

The checks read the shipped files twice: raw (``tomllib`` on the package files, so a
reader that stopped checking something cannot hide it) and through the reader, which
must refuse a broken file with a message naming the file and the key.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from collections import Counter
from datetime import UTC, datetime
from importlib.resources import files
from typing import Any

import pytest

from cs_console.demo.builder import Story, load_stories, read_story
from cs_console.demo.catalogue import load_catalogue
from cs_console.demo.notation import parse_offset, placeholders
from cs_console.demo.resources import DemoDataError
from cs_console.demo.stories import SIMULATOR_LINES, STORY_CONVERSATIONS, build_demo_shop
from cs_console.domain import ConversationStatus

LANGUAGES = {"en", "zh-CN", "vi", "es"}

# Clocks that move the "night" anchor: mid-afternoon in the shop, 00:30 and 00:50 on the
# shop's clock (either side of 00:40 + 20 minutes), and a leap-year month end.
NOWS = [
    datetime(2026, 11, 20, 10, 0, tzinfo=UTC),
    datetime(2026, 11, 19, 16, 30, tzinfo=UTC),
    datetime(2025, 11, 19, 16, 50, tzinfo=UTC),
    datetime(2028, 2, 29, 23, 59, 59, tzinfo=UTC),
]


def _raw_stories() -> dict[str, dict[str, Any]]:
    folder = files("cs_console.demo").joinpath("story_files")
    return {
        entry.name.removesuffix(".toml"): tomllib.loads(entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".toml")
    }


def _raw_shop() -> dict[str, Any]:
    return tomllib.loads(files("cs_console.demo").joinpath("shop.toml").read_text("utf-8"))


# --- the shipped files --------------------------------------------------------------------


def test_every_story_file_parses_and_is_told() -> None:
    raw = _raw_stories()
    assert len(raw) >= 40
    stories = load_stories()
    assert sorted(story.name for story in stories) == sorted(raw)
    # Told in the order of their conversation ids, one conversation each.
    shop = build_demo_shop(NOWS[0])
    assert [c.id for c in shop.conversations] == [story.conversation_id for story in stories]


def test_conversation_ids_are_unique_across_files() -> None:
    ids = Counter(data["conversation"]["id"] for data in _raw_stories().values())
    assert [conv_id for conv_id, count in ids.items() if count > 1] == []
    assert all(re.fullmatch(r"conv-\d{3}", conv_id) for conv_id in ids)


@pytest.mark.parametrize("now", NOWS)
def test_every_offset_lies_in_the_past_except_the_declared_future(now: datetime) -> None:
    for story in load_stories():
        for offset in story.offsets():
            assert offset.ago(now) >= 0, (story.name, offset.text)
        if story.snooze_for is not None:
            # The one thing a story places ahead of now, and only when it says snoozed.
            assert story.status is ConversationStatus.SNOOZED, story.name
            assert story.snooze_for.ago(now) > 0, story.name
    shop = build_demo_shop(now)
    assert all(m.created_at <= now for m in shop.messages)
    assert all(e.at <= now for e in shop.order_events)
    assert all(r.created_at <= now for r in shop.remarks)


def test_every_language_is_one_of_the_four() -> None:
    shop = _raw_shop()
    customers = {row["name"]: row["language"] for row in shop["customers"]}
    assert set(customers.values()) == LANGUAGES
    stories = _raw_stories()
    for name, data in stories.items():
        assert data["language"] in LANGUAGES, name
        assert customers[data["customer"]] == data["language"], name
    # Stories are written in all four languages.
    assert {data["language"] for data in stories.values()} == LANGUAGES
    assert set(SIMULATOR_LINES) == LANGUAGES


def test_every_product_referenced_is_in_the_catalogue() -> None:
    skus = {row["sku"] for row in _raw_shop()["products"]}
    assert len(skus) == len(_raw_shop()["products"])
    for name, data in _raw_stories().items():
        for order in data["orders"]:
            assert set(order["items"]) <= skus, name
    for story in load_stories():
        for text in story.texts():
            for placeholder, argument in placeholders(text):
                if placeholder == "product":
                    assert argument in skus, (story.name, text)


def test_every_customer_named_by_a_story_exists_once() -> None:
    names = Counter(row["name"] for row in _raw_shop()["customers"])
    assert max(names.values()) == 1
    told = Counter(data["customer"] for data in _raw_stories().values())
    assert set(told) <= set(names)
    # One open story per customer: a second would make "the customer's newest order"
    # ambiguous. A resolved one is their history (what the customer pane shows).
    open_ones = Counter(
        data["customer"]
        for data in _raw_stories().values()
        if data["conversation"]["status"] != "resolved"
    )
    assert max(open_ones.values()) == 1
    assert max(told.values()) <= 2


def test_story_conversations_names_existing_conversations() -> None:
    assert set(STORY_CONVERSATIONS) == set(_raw_stories())
    for now in NOWS[:2]:
        for seed in (7, 11):
            shop = build_demo_shop(now, seed)
            assert set(STORY_CONVERSATIONS.values()) <= {c.id for c in shop.conversations}


def test_every_placeholder_is_filled() -> None:
    shop = build_demo_shop(NOWS[0])
    texts = [m.body for m in shop.messages]
    texts += [e.detail for e in shop.order_events] + [r.text for r in shop.remarks]
    assert [t for t in texts if re.search(r"\{[a-z_]+(:[^{}]*)?\}", t)] == []


def test_data_is_read_on_first_use_not_at_import() -> None:
    # server/demo.py imports this module at start-up; reading 40 files is for later.
    code = (
        "import cs_console.demo.stories, cs_console.demo.builder as b,"
        " cs_console.demo.catalogue as c;"
        "print(b.load_stories.cache_info().currsize, c.load_catalogue.cache_info().currsize)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["0", "0"]


# --- the reader refuses a broken file ----------------------------------------------------

GOOD = """
customer = "李晓雯"
language = "zh-CN"

[[orders]]
status = "shipped"
items = { MUG-350-BL = 2 }
placed = "2d 3h"
paid = "2d 3h -2m"
shipped = "1d"
carrier = "SF"
events = [{ ago = "40m", kind = "refund-requested", detail = "仅退款 {total}" }]
remarks = [{ ago = "30m", flag = "red", by = "Mei", text = "到 {date:-3d 3h}" }]

[conversation]
id = "conv-900"
group = "after-sale"
status = "open"
assignee = "Mei"
messages = [
  { ago = "12m", customer = "单号 {tracking}？" },
  { ago = "10m", note = "看一下", by = "Sofia" },
]
"""


def _read(text: str) -> Story:
    return read_story("story_files/test.toml", tomllib.loads(text), load_catalogue())


def test_a_good_story_reads() -> None:
    story = _read(GOOD)
    assert story.name == "test"
    assert story.orders[0].items == (("MUG-350-BL", 2),)
    assert [line.by for line in story.lines] == [None, "Sofia"]


@pytest.mark.parametrize(
    ("old", "new", "complaint"),
    [
        ('customer = "李晓雯"', 'customer = "Nobody"', "no customer Nobody"),
        ('language = "zh-CN"', 'language = "es"', "writes in zh-CN, not es"),
        ("MUG-350-BL = 2", "MUG-999 = 2", "no product MUG-999"),
        ("MUG-350-BL = 2", "MUG-350-BL = 0", "quantity of 1 or more"),
        ('placed = "2d 3h"', 'placed = "2 days"', "'2 days' is not an offset"),
        ('ago = "12m"', 'ago = "-12m"', "-12m lies in the future"),
        ('carrier = "SF"', 'carrier = "DHL"', "carrier 'DHL' is not one of"),
        ('status = "shipped"', 'status = "posted"', "status 'posted' is not one of"),
        ('by = "Mei"', 'by = "Ming"', "no agent named Ming"),
        ("{total}", "{totl}", "{totl} in '仅退款 {totl}': unknown placeholder"),
        ("{tracking}", "{reissue}", "the order has no reissue"),
        ("{total}", "{total:lamp}", "no order named lamp"),
        ("{date:-3d 3h}", "{date}", "takes an argument"),
        ('id = "conv-900"', 'id = "chat-1"', "is not like conv-001"),
        ('assignee = "Mei"', 'asignee = "Mei"', "unknown key asignee"),
        ('{ ago = "10m", note', '{ ago = "10m", system', "only an agent line or a note"),
        (', by = "Sofia"', ', customer = "x"', "exactly one of customer, agent, note, system"),
        ('status = "open"', 'status = "open"\nsnooze_for = "-1h"', "span forward"),
    ],
)
def test_a_broken_story_is_refused_naming_the_file(old: str, new: str, complaint: str) -> None:
    assert old in GOOD
    with pytest.raises(DemoDataError) as refused:
        _read(GOOD.replace(old, new, 1))
    assert str(refused.value).startswith("story_files/test.toml")
    assert complaint in str(refused.value)


def test_a_scan_takes_no_placeholders() -> None:
    broken = GOOD.replace(
        'carrier = "SF"', 'carrier = "SF"\nscans = [{ ago = "20h", scan = "{tracking}" }]'
    )
    with pytest.raises(DemoDataError, match="a scan takes no placeholders"):
        _read(broken)


@pytest.mark.parametrize(
    ("text", "seconds", "night"),
    [
        ("4m 30s", 270, False),
        ("10d 5h -3m", 10 * 86400 + 5 * 3600 - 180, False),
        ("-3d 3h", -3 * 86400 + 3 * 3600, False),
        ("night", 0, True),
        ("night -1m -5s", -65, True),
    ],
)
def test_offsets(text: str, seconds: int, night: bool) -> None:
    offset = parse_offset(text)
    assert (offset.seconds, offset.night) == (seconds, night)


def test_night_is_the_last_0040_at_least_20_minutes_old() -> None:
    night = parse_offset("night")
    # 00:30 shop time: 00:40 today is ahead, so yesterday's (23 h 50 m ago).
    assert night.ago(datetime(2026, 11, 19, 16, 30, tzinfo=UTC)) == 23 * 3600 + 50 * 60
    # 01:10 shop time: today's 00:40 is 30 minutes old.
    assert night.ago(datetime(2026, 11, 19, 17, 10, tzinfo=UTC)) == 30 * 60
