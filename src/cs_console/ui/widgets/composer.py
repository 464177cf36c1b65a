"""The composer: a multi-line box whose send key is the agent's choice.

With ``enter_sends`` (the default) Enter sends and Ctrl+J inserts a newline; without
it, the other way round (many terminals send Ctrl+J for Ctrl+Enter). Ctrl+N switches
between a reply and an internal note; each keeps its own draft.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import TextArea

REPLY, NOTE = "reply", "note"


class Composer(TextArea):
    """Where replies and notes are written."""

    HELP = """
## Composer

Enter sends (or Ctrl+J, if you chose Ctrl+Enter-style sending); the other key adds a
line. Ctrl+N switches between reply and internal note. Ctrl+R takes back the last
reply while it is still queued. `/` on an empty composer opens quick replies.
"""

    BINDINGS = [
        Binding("ctrl+n", "toggle_mode", "Reply/Note", id="composer.toggle_note"),
        Binding("escape", "leave", "Queue", id="composer.leave"),
    ]

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

    def __init__(self, *, enter_sends: bool = True, id: str | None = None) -> None:
        super().__init__(id=id, soft_wrap=True, show_line_numbers=False, tab_behavior="focus")
        self.enter_sends = enter_sends

    @property
    def send_key(self) -> str:
        """The key that sends."""
        return "enter" if self.enter_sends else "ctrl+j"

    @property
    def newline_key(self) -> str:
        """The key that adds a line."""
        return "ctrl+j" if self.enter_sends else "enter"

    async def _on_key(self, event: events.Key) -> None:
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

    def action_toggle_mode(self) -> None:
        self.mode = NOTE if self.mode == REPLY else REPLY

    def watch_mode(self, old: str, new: str) -> None:
        self.set_class(new == NOTE, "-note")
        self.border_title = "Internal note (only agents see it)" if new == NOTE else "Reply"
        if old != new:
            self.post_message(self.ModeChanged(self, old, new))

    def action_leave(self) -> None:
        self.post_message(self.Left())
