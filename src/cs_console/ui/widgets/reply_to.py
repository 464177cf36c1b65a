"""The line above an email conversation's composer: to whom, and under what subject."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static


class ReplyTo(Static):
    """The line above an email conversation's composer: where a reply goes and under what
    subject. When the two do not fit on one line, each gets its own (cut with "…"), so a
    narrow terminal still shows the subject."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._parts: tuple[Content, ...] = ()

    def show_parts(self, *parts: Content) -> None:
        """Show ``parts`` side by side, or one under the other when they do not fit."""
        self._parts = parts
        self._lay_out()

    def on_resize(self) -> None:
        self._lay_out()

    def _lay_out(self) -> None:
        parts = self._parts
        width = self.content_region.width
        one_line = Content("  ·  ").join(parts)
        two_lines = len(parts) > 1 and 0 < width < one_line.cell_length
        if two_lines:
            self.update(Content("\n").join(part.truncate(width, ellipsis=True) for part in parts))
        else:
            self.update(one_line)
        self.set_class(two_lines, "-two-lines")
