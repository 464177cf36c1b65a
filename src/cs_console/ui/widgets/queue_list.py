"""The conversation queue: a line-rendered virtual list.

It holds only the pages of rows on or near the screen, fetched on demand, so 100,000
conversations cost no more than 100. Each conversation takes two lines: who and how
long they have waited; then what they last said.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from cs_console.domain import Group
from cs_console.i18n import N_, LazyText, _
from cs_console.timeutil import humanize_duration
from cs_console.ui.actions import bindings_for
from cs_console.ui.text import fit, safe_line
from cs_console.views import APP, EMAIL, WEB, QueueRow, channel_kind

#: Tags the shop uses everywhere, shown in the agent's language; others as they are.
TAG_LABELS = {
    "vip": N_("VIP"),
    "blacklist": N_("blacklist"),
    "repeat-complainer": N_("repeat complainer"),
}


def tag_label(tag: str) -> str:
    """A tag as the agent reads it: translated if the shop's own, else made safe (tags
    can come from a backend)."""
    known = TAG_LABELS.get(tag)
    return _(known) if known is not None else safe_line(tag)


def tag_text(tags: tuple[str, ...]) -> str:
    """A row's tags, short: "[VIP][blacklist]"."""
    return "".join(f"[{tag_label(tag)}]" for tag in tags)


#: One cell each (``rich.cells.cell_len``), of East Asian width "neutral" (never
#: "ambiguous", which CJK terminals draw two cells wide) and text, not emoji, by default:
#: the second line's indent holds them, so every column stays where it was. Shapes, not
#: only colours, tell them apart.
CHANNEL_MARKERS = {WEB: "❝", EMAIL: "✉", APP: "▯"}
#: A channel only a backend names (WhatsApp, an API inbox...).
OTHER_CHANNEL_MARKER = "◌"


def channel_marker(channel: str) -> str:
    """The one-cell mark of a conversation's channel in the queue."""
    return CHANNEL_MARKERS.get(channel_kind(channel), OTHER_CHANNEL_MARKER)


PAGE_ROWS = 100
MAX_CACHED_PAGES = 20
ROW_HEIGHT = 2

Fetch = Callable[[int, int], list[QueueRow]]


class QueueList(ScrollView, can_focus=True):
    """Conversations in queue order; Enter opens the highlighted one."""

    HELP = LazyText(
        """
## Queue

Oldest waiting customer first. The clock turns yellow, then red, as the wait grows.
`!!` marks an urgent conversation, `!` a high one. The second line starts with the
channel: ❝ web chat, ✉ email, ▯ app, ◌ another; then the tags (VIP, blacklist...).
`j`/`k` or arrows move, `Enter` opens, `n` jumps to the longest-waiting customer; `P`
shows only urgent, then high and urgent, ones; `T` only one tag.
"""
    )

    BINDINGS = bindings_for("queue")

    COMPONENT_CLASSES = {
        "queue--cursor",
        "queue--name",
        "queue--pre-sale",
        "queue--after-sale",
        "queue--clock",
        "queue--clock-warn",
        "queue--clock-alert",
        "queue--snippet",
        "queue--unread",
        "queue--assignee",
        "queue--empty",
        "queue--priority-high",
        "queue--priority-urgent",
        "queue--tag",
        "queue--channel",
        "queue--channel-email",
    }

    cursor: reactive[int] = reactive(0)

    @dataclass
    class Highlighted(Message):
        """The cursor moved onto a conversation."""

        conversation_id: str

    @dataclass
    class Chosen(Message):
        """The agent opened a conversation."""

        conversation_id: str

    def __init__(
        self,
        *,
        clock: Callable[[], datetime],
        warn_after_s: float = 60.0,
        alert_after_s: float = 180.0,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.clock = clock
        self.warn_after_s = warn_after_s
        self.alert_after_s = alert_after_s
        self.total = 0
        self._fetch: Fetch | None = None
        self._pages: dict[int, list[QueueRow]] = {}
        self.empty_text = _("Loading…")
        #: Rich styles by component class ("" is the widget's own), looked up per paint.
        self._styles: dict[str, Style] = {}

    # --- data ----------------------------------------------------------------

    def set_source(
        self, total: int, fetch: Fetch, *, keep: str | None = None, position: int | None = None
    ) -> None:
        """Show ``total`` rows read through ``fetch``; put the cursor on ``position``."""
        self.total = total
        self._fetch = fetch
        self._pages.clear()
        self.virtual_size = Size(0, total * ROW_HEIGHT)
        target = position if position is not None else min(self.cursor, max(total - 1, 0))
        self.set_reactive(QueueList.cursor, max(0, min(target, max(total - 1, 0))))
        self._scroll_cursor_visible()
        self.refresh()
        row = self.row(self.cursor)
        if row is not None and row.conversation_id != keep:
            self.post_message(self.Highlighted(row.conversation_id))

    def row(self, index: int) -> QueueRow | None:
        """The row at ``index``, fetching its page if needed."""
        if not 0 <= index < self.total or self._fetch is None:
            return None
        page_no = index // PAGE_ROWS
        page = self._pages.get(page_no)
        if page is None:
            if len(self._pages) >= MAX_CACHED_PAGES:
                self._pages.pop(next(iter(self._pages)))
            page = self._fetch(page_no * PAGE_ROWS, PAGE_ROWS)
            self._pages[page_no] = page
        offset = index - page_no * PAGE_ROWS
        return page[offset] if offset < len(page) else None

    @property
    def highlighted(self) -> QueueRow | None:
        """The row under the cursor."""
        return self.row(self.cursor)

    # --- movement ------------------------------------------------------------

    def watch_cursor(self, old: int, new: int) -> None:
        self.refresh_lines(old * ROW_HEIGHT - int(self.scroll_y), ROW_HEIGHT)
        self.refresh_lines(new * ROW_HEIGHT - int(self.scroll_y), ROW_HEIGHT)
        self._scroll_cursor_visible()
        row = self.row(new)
        if row is not None:
            self.post_message(self.Highlighted(row.conversation_id))

    def _scroll_cursor_visible(self) -> None:
        self.scroll_to_region(
            Region(0, self.cursor * ROW_HEIGHT, max(self.size.width, 1), ROW_HEIGHT),
            animate=False,
            force=True,
        )

    def move_to(self, index: int) -> None:
        """Put the cursor on ``index`` (clamped)."""
        if self.total:
            self.cursor = max(0, min(index, self.total - 1))

    def action_cursor_down(self) -> None:
        self.move_to(self.cursor + 1)

    def action_cursor_up(self) -> None:
        self.move_to(self.cursor - 1)

    def action_page_down(self) -> None:
        self.move_to(self.cursor + max(1, self.size.height // ROW_HEIGHT))

    def action_page_up(self) -> None:
        self.move_to(self.cursor - max(1, self.size.height // ROW_HEIGHT))

    def action_first(self) -> None:
        self.move_to(0)

    def action_last(self) -> None:
        self.move_to(self.total - 1)

    def action_choose(self) -> None:
        row = self.highlighted
        if row is not None:
            self.post_message(self.Chosen(row.conversation_id))

    def on_click(self, event: object) -> None:
        offset = getattr(event, "y", 0)
        self.move_to((int(self.scroll_y) + int(offset)) // ROW_HEIGHT)

    # --- rendering -----------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        line = int(self.scroll_y) + y
        index, part = divmod(line, ROW_HEIGHT)
        row = self.row(index)
        if row is None:
            if self.total == 0 and y == 1:
                style = self._full_style("queue--empty")
                return Strip([Segment(fit("  " + self.empty_text, width), style)])
            return Strip.blank(width, self._full_style(""))
        base = self._full_style("queue--cursor" if index == self.cursor else "")
        segments = self._first_line(row, width) if part == 0 else self._second_line(row, width)
        return Strip([Segment(text, base + style) for text, style in segments], width)

    def _full_style(self, name: str) -> Style:
        """The widget's style, plus a component's (full, not partial) when named.
        Kept until the styles change: computing them walks every ancestor."""
        key = "full:" + name
        style = self._styles.get(key)
        if style is None:
            if name == "queue--empty":
                style = self.get_component_rich_style(name)
            elif name:
                style = self._full_style("") + self.get_component_rich_style(name)
            else:
                style = self.rich_style
            self._styles[key] = style
        return style

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = self.get_component_rich_style(name, partial=True)
        return style

    def _first_line(self, row: QueueRow, width: int) -> list[tuple[str, Style]]:
        clock_text, clock_style = self._clock(row)
        # Fitted to six cells: "pre" / "after" in English, 售前 / 售后 in Chinese.
        group = _("pre") if row.group is Group.PRE_SALE else _("after")
        group_style = "queue--pre-sale" if row.group is Group.PRE_SALE else "queue--after-sale"
        # The mark takes the leading blank cell (and one of the name's when urgent), so
        # a normal row looks as it always did.
        mark, mark_style = " ", Style()
        if row.priority == "urgent":
            mark, mark_style = "!!", self._style("queue--priority-urgent")
        elif row.priority == "high":
            mark, mark_style = "!", self._style("queue--priority-high")
        fixed = len(mark) + 6 + 8
        name_width = max(4, width - fixed)
        return [
            (mark, mark_style),
            # One blank cell always stands between a long name and the desk.
            (fit(safe_line(row.customer_name), name_width - 1) + " ", self._style("queue--name")),
            (fit(group, 6), self._style(group_style)),
            (clock_text.rjust(7)[:7] + " ", clock_style),
        ]

    def _second_line(self, row: QueueRow, width: int) -> list[tuple[str, Style]]:
        unread = f"●{row.unread_count}" if row.unread_count else ""
        assignee = safe_line(row.assignee) if row.assignee else "—"
        tail_width = 4 + 9
        snippet_width = max(4, width - 3 - tail_width)
        tags = tag_text(row.tags)
        tag_width = min(len(tags) + 1, snippet_width // 2) if tags else 0
        channel_style = (
            "queue--channel-email" if channel_kind(row.channel) == EMAIL else "queue--channel"
        )
        # The marker sits in the indent's middle cell: the columns right of it stay put.
        segments: list[tuple[str, Style]] = [
            (" ", Style()),
            (channel_marker(row.channel), self._style(channel_style)),
            (" ", Style()),
        ]
        if tag_width:
            segments.append((fit(tags, tag_width - 1) + " ", self._style("queue--tag")))
        return [
            *segments,
            (
                fit(safe_line(row.snippet), snippet_width - tag_width - 1) + " ",
                self._style("queue--snippet"),
            ),
            (fit(unread, 4), self._style("queue--unread")),
            (fit(assignee, 9), self._style("queue--assignee")),
        ]

    def _clock(self, row: QueueRow) -> tuple[str, Style]:
        if row.waiting_since is None:
            return "", self._style("queue--clock")
        waited = (self.clock() - row.waiting_since).total_seconds()
        if waited >= self.alert_after_s:
            name = "queue--clock-alert"
        elif waited >= self.warn_after_s:
            name = "queue--clock-warn"
        else:
            name = "queue--clock"
        return humanize_duration(waited), self._style(name)
