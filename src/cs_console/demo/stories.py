"""The demo shop: one small home-goods store with a busy afternoon in its inbox.

Everything is invented. :func:`build_demo_shop` returns the same records for the same
``(now, seed)``, and every time in them is an offset from ``now`` so the demo always
looks current: a customer who "has waited four minutes" has waited four minutes
whenever the server starts.

The stories (one per after-sales case of DOMAIN.md and the common pre-sale chats) are
data: one file each in ``story_files/``, in the format ``builder.py`` describes, about the
customers and goods of ``shop.toml``. They use no randomness of their own, so their ids
never move; ``seed`` varies the filler orders (``fillers.py``), addresses, phone numbers
and tracking numbers around them. :data:`STORY_CONVERSATIONS` names each story's
conversation by the quick-reply scenario it exercises.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from cs_console.demo.builder import load_stories
from cs_console.demo.catalogue import load_catalogue
from cs_console.demo.drafts import Drafts
from cs_console.demo.fillers import add_fillers
from cs_console.demo.notation import parse_offset
from cs_console.demo.resources import DemoDataError, LazyMapping, read_toml
from cs_console.demo.shop import (
    CARRIERS,
    CURRENCY,
    EMS,
    HAO,
    JT,
    JUN,
    LAN,
    LANGUAGES,
    MEI,
    RETURN_ADDRESS,
    SF,
    SHOP_NAME,
    SOFIA,
    YTO,
    YUNDA,
    ZTO,
    DemoShop,
)
from cs_console.demo.telling import tell
from cs_console.protocol import HandoverRecord

__all__ = [
    "CARRIERS",
    "CURRENCY",
    "EMS",
    "HAO",
    "JT",
    "JUN",
    "LAN",
    "MEI",
    "RETURN_ADDRESS",
    "SF",
    "SHOP_NAME",
    "SIMULATOR_LINES",
    "SOFIA",
    "STORY_CONVERSATIONS",
    "YTO",
    "YUNDA",
    "ZTO",
    "DemoShop",
    "build_demo_shop",
]


def build_demo_shop(now: datetime, seed: int = 7) -> DemoShop:
    """Build the demo shop as it stands at ``now`` (an aware datetime).

    The same ``(now, seed)`` always gives the same records. The stories are fixed;
    ``seed`` varies the filler orders, addresses, phones and tracking numbers.

    Raises:
        ValueError: ``now`` is naive.
        DemoDataError: a data file is broken (a ``ValueError`` too).
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    drafts = Drafts(now=now.astimezone(UTC), rng=random.Random(seed), catalogue=load_catalogue())
    drafts.add_customers()
    for story in load_stories():
        tell(story, drafts)
    add_fillers(drafts)
    shop = drafts.finish()
    return replace(shop, handovers=[_handover(now.astimezone(UTC))])


def _handover(now: datetime) -> HandoverRecord:
    """The morning shift's handover (``handover.toml``), for the shift-start screen."""
    label, data = read_toml("handover.toml")
    try:
        started = parse_offset(str(data["shift_started"])).ago(now)
        created = parse_offset(str(data["created"])).ago(now)
        return HandoverRecord(
            id="handover-demo-1",
            author=str(data["author"]),
            shift_started_at=now - timedelta(seconds=started),
            created_at=now - timedelta(seconds=created),
            note=str(data["note"]).strip(),
        )
    except (KeyError, ValueError) as exc:
        raise DemoDataError(f"{label}: {exc}") from None


def _story_conversations() -> dict[str, str]:
    return {story.name: story.conversation_id for story in load_stories()}


def _simulator_lines() -> dict[str, tuple[str, ...]]:
    label, data = read_toml("simulator_lines.toml")
    lines: dict[str, tuple[str, ...]] = {}
    for language, said in data.items():
        if language not in LANGUAGES:
            raise DemoDataError(f"{label}: {language} is not one of {', '.join(LANGUAGES)}")
        if not isinstance(said, list) or not said or not all(isinstance(s, str) for s in said):
            raise DemoDataError(f"{label}: {language} must be an array of lines")
        lines[language] = tuple(said)
    return lines


#: Story name -> the id of the conversation that tells it (stable across seeds).
STORY_CONVERSATIONS: LazyMapping[str, str] = LazyMapping(_story_conversations)

#: What the simulator's customers say, by language: short openers and nudges.
SIMULATOR_LINES: LazyMapping[str, tuple[str, ...]] = LazyMapping(_simulator_lines)
