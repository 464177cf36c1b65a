"""The composer: a multi-line box whose send key is the agent's choice.

With ``enter_sends`` (the default) Enter sends and Ctrl+J inserts a newline; without
it, the other way round (many terminals send Ctrl+J for Ctrl+Enter). Ctrl+N switches
between a reply and an internal note; each keeps its own draft.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import events
from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import TextArea
from textual.widgets.text_area import Selection

from cs_console.i18n import LazyText, _
from cs_console.replies.placeholders import HOLE_RE as HOLE
from cs_console.ui.actions import bindings_for

REPLY, NOTE = "reply", "note"

#: ``HOLE`` (from the placeholders) finds an unfilled placeholder or blank as a quick
#: reply inserts it, ‹tracking_number› or ‹new address›: Tab stops, and a send refused.
__all__ = ["HOLE", "NOTE", "REPLY", "Composer"]


def _location(text: str, index: int) -> tuple[int, int]:
    """(row, column) of a character offset in ``text``."""
    index = max(0, min(index, len(text)))
    row = text.count("\n", 0, index)
    return row, index - (text.rfind("\n", 0, index) + 1)


def _index(text: str, location: tuple[int, int]) -> int:
    """Character offset of a (row, column) location in ``text``."""
    row, column = location
    lines = text.split("\n")
    return sum(len(line) + 1 for line in lines[:row]) + column


class Composer(TextArea):
    """Where replies and notes are written."""

    HELP = LazyText(
        """
## Composer

Enter sends (or Ctrl+J, if you chose Ctrl+Enter-style sending); the other key adds a
line. Ctrl+N switches between reply and internal note. Ctrl+R takes back the last
reply while it is still queued. `/` on an empty composer (or Ctrl+T) opens quick
replies; Alt+A S D G H J K L Z X insert the bound ones, Alt+Q W E the
suggestions; Tab jumps to the next ‹blank›. Ctrl+U sends a photo or file.
"""
    )

    BINDINGS = bindings_for("composer")

    mode: reactive[str] = reactive(REPLY)

    @dataclass
    class Submitted(Message):
        """The agent pressed the send key."""

        composer: Composer
        text: str
        mode: str

    @dataclass
    class ModeChanged(Message):
        """Reply/note switched; the screen swaps drafts."""

        composer: Composer
        old: str
        new: str

    @dataclass
    class Left(Message):
        """The agent went back to the queue."""

    @dataclass
    class PaletteRequested(Message):
        """Ctrl+T, or ``/`` on an empty composer: open the quick-reply palette."""

    @dataclass
    class AttachRequested(Message):
        """Ctrl+U: pick a photo or file to send."""

    @dataclass
    class ReplyKey(Message):
        """A quick-reply hotkey (or a suggestion key) was pressed."""

        key: str

    def __init__(self, *, enter_sends: bool = True, id: str | None = None) -> None:
        super().__init__(id=id, soft_wrap=True, show_line_numbers=False, tab_behavior="focus")
        self.enter_sends = enter_sends
        #: Keys that insert a quick reply (hotkeys and suggestion keys), set by the screen.
        self.reply_keys: frozenset[str] = frozenset()
        self._announce_mode = True

    @property
    def send_key(self) -> str:
        """The key that sends."""
        return "enter" if self.enter_sends else "ctrl+j"

    @property
    def newline_key(self) -> str:
        """The key that adds a line."""
        return "ctrl+j" if self.enter_sends else "enter"

    async def _on_key(self, event: events.Key) -> None:
        if event.key in self.reply_keys:
            event.prevent_default()
            event.stop()
            self.post_message(self.ReplyKey(event.key))
            return
        if event.key == "slash" and not self.text:
            event.prevent_default()
            event.stop()
            self.post_message(self.PaletteRequested())
            return
        if event.key == "tab" and self.select_next_hole():
            event.prevent_default()
            event.stop()
            return
        if event.key == self.send_key:
            event.prevent_default()
            event.stop()
            self.post_message(self.Submitted(self, self.text, self.mode))
            return
        if event.key in (self.newline_key, "alt+enter"):
            event.prevent_default()
            event.stop()
            self.insert("\n")
            return
        await super()._on_key(event)

    def action_palette(self) -> None:
        self.post_message(self.PaletteRequested())

    def action_attach(self) -> None:
        """Open the file picker (the pane owns it, and queues what is picked)."""
        self.post_message(self.AttachRequested())

    def insert_filled(
        self, text: str, holes: tuple[tuple[int, int, str], ...], landing: int
    ) -> None:
        """Insert a filled reply at the cursor (replies stack); put the cursor where the
        reply says, selecting the first hole so that typing replaces it."""
        start = _index(self.text, self.cursor_location)
        before = self.text[:start]
        if before and not before[-1].isspace():
            # Stacked replies: each starts on its own line.
            self.insert("\n")
            start += 1
        self.insert(text)
        if holes:
            first_start, first_end, _hole = holes[0]
            self.selection = Selection(
                _location(self.text, start + first_start),
                _location(self.text, start + first_end),
            )
        else:
            self.move_cursor(_location(self.text, start + landing))

    def select_next_hole(self) -> bool:
        """Select the next unfilled ‹placeholder› after the cursor (wrapping). False if none."""
        text = self.text
        holes = [(m.start(), m.end()) for m in HOLE.finditer(text)]
        if not holes:
            return False
        here = _index(self.text, self.selection.end)
        start, end = next(((s, e) for s, e in holes if s >= here), holes[0])
        self.selection = Selection(_location(self.text, start), _location(self.text, end))
        return True

    def action_toggle_mode(self) -> None:
        self.mode = NOTE if self.mode == REPLY else REPLY

    def show_mode(self, mode: str) -> None:
        """Put the composer in ``mode`` for another conversation, without posting
        :class:`ModeChanged`: the screen loads that conversation's draft itself, and the
        message would otherwise save this text as the new conversation's other draft."""
        self._announce_mode = False
        try:
            self.mode = mode
        finally:
            self._announce_mode = True

    def watch_mode(self, old: str, new: str) -> None:
        self.set_class(new == NOTE, "-note")
        # Content: a translation must never be read as markup.
        self.border_title = Content(
            _("Internal note (only agents see it)") if new == NOTE else _("Reply")
        )
        if old != new and self._announce_mode:
            self.post_message(self.ModeChanged(self, old, new))

    def action_leave(self) -> None:
        self.post_message(self.Left())
