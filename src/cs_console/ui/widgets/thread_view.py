"""The message thread: line-rendered, wrapped by terminal cells, loaded in pages.

Customer, agent, internal note and system event each get their own look; an agent's
own message shows whether it is queued, sent or failed.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import OrderedDict
from dataclasses import dataclass
from itertools import accumulate

from rich.cells import cell_len
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from cs_console.domain import DeliveryState, MessageKind
from cs_console.i18n import N_, LazyText, _
from cs_console.sanitize import sanitize, sanitize_line
from cs_console.ui.actions import bindings_for
from cs_console.ui.text import local_time, message_kind_label
from cs_console.views import AttachmentRow, MessageRow

#: Rendered blocks kept (a message at one width is one block): a few threads' worth.
MAX_CACHED_BLOCKS = 2_000


@dataclass(frozen=True, slots=True)
class _Placeholder:
    text: str


class _OlderNotice:
    """The line saying that older messages load on scrolling up."""


_OLDER = _OlderNotice()
Block = MessageRow | _Placeholder | _OlderNotice


def _estimate(block: Block, width: int) -> int:
    """Lines a message will take, near enough to size the scroll bar until it is drawn."""
    if not isinstance(block, MessageRow):
        return 2
    body_width = max(width - 2, 1)
    body = sum(-(-max(cell_len(part), 1) // body_width) for part in block.body.split("\n"))
    return 2 + body + len(block.attachments)


def format_size(size: int) -> str:
    """A file size as people read it: 812 B, 4.1 KB, 1.2 MB."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def describe_attachment(attachment: AttachmentRow) -> str:
    """One line for an attachment, "📎 name · 1.2 MB · image", sanitised: the name, the
    type and a product card's fields are the sender's."""
    if attachment.kind == "product_card":
        fields = (attachment.title or attachment.file_name, attachment.price, attachment.sku)
        return "🛍 " + " · ".join(sanitize_line(f) for f in fields if f)
    kind = _("image") if attachment.kind == "image" else _("file")
    return f"📎 {sanitize_line(attachment.file_name)} · {format_size(attachment.size)} · {kind}"


_DELIVERY_LABEL = {
    DeliveryState.QUEUED: N_("◷ queued"),
    DeliveryState.SENT: N_("✓ sent"),
    DeliveryState.FAILED: N_("✗ failed · F5 retries"),
}


class ThreadView(ScrollView, can_focus=True):
    """A conversation's messages, newest at the bottom."""

    HELP = LazyText(
        """
## Thread

Scroll with the arrows or PgUp/PgDn; older messages load as you reach the top.
Internal notes are only seen by agents.
"""
    )

    BINDINGS = bindings_for("thread")

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

    @dataclass
    class OpenAttachment(Message):
        """The agent asked to open an attachment (``o``)."""

        attachment: AttachmentRow

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.messages: list[MessageRow] = []
        self.has_older = False
        self.placeholder = _("Open a conversation from the queue (Enter).")
        self._width = 0
        #: What the thread is made of, top to bottom: notices and messages.
        self._blocks: list[Block] = []
        #: Lines of each block; exact once rendered, estimated before.
        self._heights: list[int] = []
        self._exact: list[bool] = []
        #: First line of each block (cumulative heights), for bisecting a line to its block.
        self._starts: list[int] = []
        self._strips: OrderedDict[tuple[Block, int], list[Strip]] = OrderedDict()
        self._styles: dict[str, Style] = {}
        #: Bumped by every layout: a settle queued for an older layout does nothing.
        self._layout_generation = 0

    def show(
        self, messages: list[MessageRow], *, has_older: bool, keep_position: bool = False
    ) -> None:
        """Replace the thread; scroll to the newest message unless ``keep_position``."""
        at_end = self.scroll_y >= self.max_scroll_y - 1
        self.messages = messages
        self.has_older = has_older
        to_end = not keep_position or at_end
        # The agent reads the bottom: render until the screen is full, the rest after
        # this frame. A thread kept at a place far up is rendered whole at once.
        self._layout(fill=self.scrollable_content_region.height if to_end else None)
        if to_end:
            self.scroll_end(animate=False, immediate=True, force=True)

    def prepend(self, older: list[MessageRow], *, has_older: bool) -> None:
        """Add older messages on top, keeping the agent's place."""
        before = self.virtual_size.height
        self.messages = older + self.messages
        self.has_older = has_older
        self._layout(fill=None)
        self.scroll_to(
            y=self.virtual_size.height - before, animate=False, immediate=True, force=True
        )

    def on_resize(self) -> None:
        self._layout(fill=None)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        # Theme or focus changed the colours: what was rendered is stale, but colours do
        # not move line breaks, so the layout holds and visible blocks redraw on demand.
        self._styles.clear()
        self._strips.clear()
        self.refresh()

    # --- layout ----------------------------------------------------------------

    def _layout(self, *, fill: int | None) -> None:
        """Lay the blocks out; render exactly those at the bottom that cover ``fill``
        lines (all of them if None) and estimate the others until :meth:`_settle`."""
        self._layout_generation += 1
        width = max(self.scrollable_content_region.width, 10)
        self._width = width
        blocks: list[Block] = []
        if self.has_older:
            blocks.append(_OLDER)
        if not self.messages:
            blocks.append(_Placeholder(self.placeholder))
        blocks.extend(self.messages)
        self._blocks = blocks
        heights = [0] * len(blocks)
        exact = [False] * len(blocks)
        covered = 0
        for index in range(len(blocks) - 1, -1, -1):
            block = blocks[index]
            cached = self._strips.get((block, width))
            if cached is not None or fill is None or covered < fill:
                heights[index] = len(self._render_block(block, width))
                exact[index] = True
            else:
                heights[index] = _estimate(block, width)
            covered += heights[index]
        self._heights = heights
        self._exact = exact
        self._recount()
        if not all(exact):
            # The part above the first screen is rendered once that screen is painted.
            # (Not a 0 s timer: Textual divides by a timer's interval, and the dead
            # timer task ended the app with ZeroDivisionError when it stopped.)
            self.call_after_refresh(self._settle, self._layout_generation)
        self.refresh()

    def _recount(self) -> None:
        starts = list(accumulate(self._heights, initial=0))
        self._starts = starts[:-1]
        self.virtual_size = Size(self._width, starts[-1])

    def _settle(self, generation: int) -> None:
        """Render the blocks laid out by estimate, keeping the lines on screen in place."""
        if generation != self._layout_generation:
            return  # laid out again since: that layout queued its own settle
        width = self._width
        at_end = self.scroll_y >= self.max_scroll_y - 1
        top = int(self.scroll_y)
        shift = 0
        for index, block in enumerate(self._blocks):
            if self._exact[index]:
                continue
            height = len(self._render_block(block, width))
            if self._starts[index] + self._heights[index] <= top:
                shift += height - self._heights[index]
            self._heights[index] = height
            self._exact[index] = True
        self._recount()
        if at_end:
            self.scroll_end(animate=False, immediate=True, force=True)
        elif shift:
            self.scroll_to(y=top + shift, animate=False, immediate=True, force=True)
        self.refresh()

    # --- rendering -------------------------------------------------------------

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            style = self.get_component_rich_style(name, partial=True)
            self._styles[name] = style
        return style

    def _base_style(self) -> Style:
        style = self._styles.get("")
        if style is None:
            style = self._styles[""] = self.rich_style
        return style

    def _render_block(self, block: Block, width: int) -> list[Strip]:
        """The block's lines at ``width``, from the cache when it was drawn before."""
        key = (block, width)
        strips = self._strips.get(key)
        if strips is not None:
            self._strips.move_to_end(key)
            return strips
        console: Console = self.app.console
        if isinstance(block, MessageRow):
            strips = self._render_message(block, width, console)
        elif isinstance(block, _Placeholder):
            text = Text(block.text, self._style("thread--placeholder"))
            strips = self._render_text(text, width, console)
        else:
            text = Text(
                "  " + _("↑ older messages load when you scroll up"), self._style("thread--meta")
            )
            strips = [Strip([], 0), *self._render_text(text, width, console)]
        base = self._base_style()
        # Padded and styled once here rather than on every paint of the line.
        strips = [strip.crop_extend(0, width, base).apply_style(base) for strip in strips]
        self._strips[key] = strips
        if len(self._strips) > MAX_CACHED_BLOCKS:
            self._strips.popitem(last=False)
        return strips

    def _render_text(self, text: Text, width: int, console: Console) -> list[Strip]:
        options = console.options.update_width(width)
        return [Strip(line) for line in console.render_lines(text, options, pad=False)]

    def _render_message(self, m: MessageRow, width: int, console: Console) -> list[Strip]:
        kind_style = self._style(f"thread--{m.kind.value}")
        meta = self._style("thread--meta")
        header = Text()
        header.append(local_time(m.created_at) + "  ", meta)
        header.append(sanitize_line(m.author), kind_style + Style(bold=True))
        header.append(f"  · {message_kind_label(m.kind)}", meta)
        if m.kind in (MessageKind.AGENT, MessageKind.NOTE) and m.delivery is not DeliveryState.SENT:
            state_style = self._style(
                "thread--failed" if m.delivery is DeliveryState.FAILED else "thread--queued"
            )
            header.append("  " + _(_DELIVERY_LABEL[m.delivery]), state_style)
        lines = [Strip([], 0)]
        lines.extend(self._render_text(header, width, console))
        if m.body or not m.attachments:
            # Every line of the body indented, not just the first: an email's paragraphs
            # would otherwise start at the frame, where the headers are.
            body = Text(sanitize(m.body), kind_style)
            indent = Strip([Segment("  ")], 2)
            lines.extend(
                Strip.join([indent, line])
                for line in self._render_text(body, max(width - 2, 1), console)
            )
        for attachment in m.attachments:
            line = Text("  ") + Text(describe_attachment(attachment), kind_style)
            line.append("  " + _("o opens it"), meta)
            lines.extend(self._render_text(line, width, console))
        return lines

    def newest_attachment(self) -> AttachmentRow | None:
        """The last attachment of the newest message that has one (what ``o`` opens)."""
        for message in reversed(self.messages):
            if message.attachments:
                return message.attachments[-1]
        return None

    def action_open_attachment(self) -> None:
        """Open the newest photo or file of the thread (the pane fetches and opens it)."""
        attachment = self.newest_attachment()
        if attachment is None:
            self.notify(_("No photo or file in this conversation."), severity="warning")
            return
        self.post_message(self.OpenAttachment(attachment))

    def render_line(self, y: int) -> Strip:
        line = int(self.scroll_y) + y
        if 0 <= line < self.virtual_size.height and self._blocks:
            index = bisect_right(self._starts, line) - 1
            strips = self._render_block(self._blocks[index], self._width)
            offset = line - self._starts[index]
            if offset < len(strips):
                return strips[offset]
        return Strip.blank(self._width or self.size.width, self._base_style())

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if new <= 0 < old and self.has_older and self.messages:
            self.post_message(self.NeedOlder(self.messages[0].seq))
