"""The message thread: line-rendered, wrapped by terminal cells, loaded in pages.

Customer, agent, internal note and system event each get their own look; an agent's
own message shows whether it is queued, sent or failed.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from cs_console.domain import DeliveryState, MessageKind
from cs_console.sanitize import sanitize, sanitize_line
from cs_console.ui.text import local_time
from cs_console.views import MessageRow

_KIND_LABEL = {
    MessageKind.CUSTOMER: "customer",
    MessageKind.AGENT: "agent",
    MessageKind.NOTE: "internal note",
    MessageKind.SYSTEM: "event",
}
_DELIVERY_LABEL = {
    DeliveryState.QUEUED: "◷ queued",
    DeliveryState.SENT: "✓ sent",
    DeliveryState.FAILED: "✗ failed · F5 retries",
}


class ThreadView(ScrollView, can_focus=True):
    """A conversation's messages, newest at the bottom."""

    HELP = """
## Thread

Scroll with the arrows or PgUp/PgDn; older messages load as you reach the top.
Internal notes are only seen by agents.
"""

    BINDINGS = [
        Binding("up,k", "scroll_up", "Up", show=False, id="thread.up"),
        Binding("down,j", "scroll_down", "Down", show=False, id="thread.down"),
        Binding("pageup", "page_up", "Page up", show=False, id="thread.page_up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="thread.page_down"),
        Binding("end,G", "scroll_end", "Newest", show=False, id="thread.end"),
    ]

    COMPONENT_CLASSES = {
        "thread--customer",
        "thread--agent",
        "thread--note",
        "thread--system",
        "thread--meta",
        "thread--queued",
        "thread--failed",
        "thread--placeholder",
    }

    @dataclass
    class NeedOlder(Message):
        """The agent scrolled to the top; load older messages before ``before_seq``."""

        before_seq: int

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.messages: list[MessageRow] = []
        self.has_older = False
        self._lines: list[Strip] = []
        self._width = 0
        self.placeholder = "Open a conversation from the queue (Enter)."

    def show(
        self, messages: list[MessageRow], *, has_older: bool, keep_position: bool = False
    ) -> None:
        """Replace the thread; scroll to the newest message unless ``keep_position``."""
        at_end = self.scroll_y >= self.max_scroll_y - 1
        self.messages = messages
        self.has_older = has_older
        self._rebuild()
        if not keep_position or at_end:
            self.scroll_end(animate=False, immediate=True, force=True)

    def prepend(self, older: list[MessageRow], *, has_older: bool) -> None:
        """Add older messages on top, keeping the agent's place."""
        before = len(self._lines)
        self.messages = older + self.messages
        self.has_older = has_older
        self._rebuild()
        self.scroll_to(y=len(self._lines) - before, animate=False, immediate=True, force=True)

    def on_resize(self) -> None:
        self._rebuild()

    def _rebuild(self) -> None:
        width = max(self.scrollable_content_region.width, 10)
        self._width = width
        console: Console = self.app.console
        lines: list[Strip] = []
        if self.has_older:
            lines.append(Strip([], 0))
            lines.extend(
                self._render_text(
                    Text("  ↑ older messages load when you scroll up", self._style("thread--meta")),
                    width,
                    console,
                )
            )
        if not self.messages:
            lines.extend(
                self._render_text(
                    Text(self.placeholder, self._style("thread--placeholder")), width, console
                )
            )
        for message in self.messages:
            lines.extend(self._render_message(message, width, console))
        self._lines = lines
        self.virtual_size = Size(width, len(lines))
        self.refresh()

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(name, partial=True)

    def _render_text(self, text: Text, width: int, console: Console) -> list[Strip]:
        options = console.options.update_width(width)
        return [Strip(line) for line in console.render_lines(text, options, pad=False)]

    def _render_message(self, m: MessageRow, width: int, console: Console) -> list[Strip]:
        kind_style = self._style(f"thread--{m.kind.value}")
        meta = self._style("thread--meta")
        header = Text()
        header.append(local_time(m.created_at, "%m-%d %H:%M") + "  ", meta)
        header.append(sanitize_line(m.author), kind_style + Style(bold=True))
        header.append(f"  · {_KIND_LABEL[m.kind]}", meta)
        if m.kind in (MessageKind.AGENT, MessageKind.NOTE) and m.delivery is not DeliveryState.SENT:
            state_style = self._style(
                "thread--failed" if m.delivery is DeliveryState.FAILED else "thread--queued"
            )
            header.append("  " + _DELIVERY_LABEL[m.delivery], state_style)
        body = Text("  ") + Text(sanitize(m.body), kind_style)
        lines = [Strip([], 0)]
        lines.extend(self._render_text(header, width, console))
        lines.extend(self._render_text(body, width, console))
        return lines

    def render_line(self, y: int) -> Strip:
        index = int(self.scroll_y) + y
        if 0 <= index < len(self._lines):
            return (
                self._lines[index]
                .crop_extend(0, self._width, self.rich_style)
                .apply_style(self.rich_style)
            )
        return Strip.blank(self._width or self.size.width, self.rich_style)

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if new <= 0 < old and self.has_older and self.messages:
            self.post_message(self.NeedOlder(self.messages[0].seq))
