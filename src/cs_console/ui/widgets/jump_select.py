"""A select that answers to typing while closed: a few letters pick the option whose
label holds them, so a form is filled without opening a list. Enter is left to the form
(it saves); Space, Up and Down open the list as before."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar, Generic, TypeVar

from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.widgets import Select

ValueT = TypeVar("ValueT")

#: Letters typed within this many seconds add up to one search ("lo" for "lost").
_TYPING_PAUSE_S = 0.8


class JumpSelect(Select[ValueT], Generic[ValueT]):
    """``Select`` with type-to-jump while closed, and Enter passed on to the screen."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down,space,up", "show_overlay", "Show menu", show=False),
    ]

    def __init__(
        self,
        options: Iterable[tuple[Text | str, ValueT]],
        *,
        value: Any = Select.NULL,
        prompt: str = "Select",
        allow_blank: bool = True,
        id: str | None = None,
    ) -> None:
        listed = list(options)
        super().__init__(listed, value=value, prompt=prompt, allow_blank=allow_blank, id=id)
        self._labels: list[tuple[str, ValueT]] = [
            ((label.plain if isinstance(label, Text) else label).casefold(), value)
            for label, value in listed
        ]
        self._typed = ""
        self._typed_at = 0.0

    def matching(self, typed: str) -> ValueT | None:
        """The option whose label holds ``typed`` earliest (a word's start beats its
        middle; the list's order breaks ties); None when none does."""
        typed = typed.casefold()
        best: tuple[int, int, ValueT] | None = None
        for order, (label, value) in enumerate(self._labels):
            at = label.find(typed)
            if at == -1:
                continue
            at_word = 0 if at == 0 or not label[at - 1].isalnum() else 1
            rank = (at_word, order, value)
            if best is None or rank[:2] < best[:2]:
                best = rank
        return None if best is None else best[2]

    def on_key(self, event: events.Key) -> None:
        if self.expanded or not event.is_printable or event.character in (None, " "):
            return
        now = event.time
        self._typed = (self._typed if now - self._typed_at < _TYPING_PAUSE_S else "") + (
            event.character or ""
        )
        self._typed_at = now
        found = self.matching(self._typed)
        if found is not None:
            self.value = found
        else:
            self.app.bell()
        event.stop()
        event.prevent_default()
