"""The footer that fits: the keys that matter where the focus is, as many as the width
holds, whole.

Textual's footer lists every shown binding of the focus chain in order and lets the
line run off the right edge, cutting a key in half. This one (Textual's public API
only: the screen's active bindings and its ``bindings_updated_signal``) orders the shown keys by
the action table's ``importance`` (``ui/actions.py``), shows one key for one thing
(``n`` and Ctrl+G both say "Next waiting"), and leaves out the least important ones
that do not fit. "F1 Help" always stays, first, so every other key is one key away.
Keys read as F1 and the palette write them (:func:`~cs_console.ui.actions.key_label`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.cells import cell_len
from textual import events
from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding
from textual.content import Content
from textual.widget import Widget

from cs_console.ui.actions import BY_ID, EVERYWHERE, SAME_THING, key_label

if TYPE_CHECKING:
    from textual.screen import Screen

#: The binding kept whatever the width.
HELP_ID = "app.help"

#: Where bindings outside the action table (a dialog's own, Textual's) rank: among the
#: table's middling keys, after the focused area's main ones.
OTHER_IMPORTANCE = 50

#: Textual's command palette key: useful, but every command in it has a key of its own.
PALETTE_IMPORTANCE = 20

#: Cells between two keys (``KeyHint``'s ``margin-right`` in ``ui/app.tcss``): one blank
#: would run "F1 Help Enter Open" together where the theme's key colour is faint.
GAP = 2


@dataclass(frozen=True, slots=True)
class ShownKey:
    """One key of the footer, as it is drawn."""

    binding: Binding
    #: The key in words (Ctrl+G, Alt+Q or ⌥Q).
    label: str
    description: str
    enabled: bool
    tooltip: str
    importance: int

    @property
    def width(self) -> int:
        """Cells the key takes: the key, a space, the words."""
        if not self.description:
            return cell_len(self.label)
        return cell_len(self.label) + 1 + cell_len(self.description)


def footer_keys(active: dict[str, ActiveBinding], palette_key: str | None = None) -> list[ShownKey]:
    """The keys the footer may show, most important first, one per thing.

    Args:
        active: ``Screen.active_bindings`` (translated by the screen).
        palette_key: Textual's command palette key, when the palette is enabled: shown
            though its binding is not.
    """
    ranked: list[tuple[tuple[int, int, int], ShownKey]] = []
    for position, (key, item) in enumerate(active.items()):
        binding = item.binding
        row = BY_ID.get(binding.id) if binding.id else None
        if key == palette_key:
            importance = PALETTE_IMPORTANCE
        elif not binding.show:
            continue
        else:
            importance = row.importance if row is not None else OTHER_IMPORTANCE
        shown = ShownKey(
            binding,
            key_label(key),
            binding.description,
            item.enabled,
            # A greyed-out key's tooltip says why (the workspace writes it, escaped).
            item.tooltip or binding.tooltip,
            importance,
        )
        # Ties go to the focused area's key (n rather than Ctrl+G), then the table's order.
        everywhere = row is None or row.area == EVERYWHERE
        ranked.append(((-importance, everywhere, position), shown))
    ranked.sort(key=lambda pair: pair[0])

    keys: list[ShownKey] = []
    seen: set[str] = set()
    for _rank, shown in ranked:
        binding = shown.binding
        # One key per thing: the same action string under several keys (Textual's own
        # rule), rows the table links with ``also``, and keys with the same words.
        things = {f"action:{binding.action}", f"words:{shown.description}"}
        if binding.id:
            things.add(f"row:{SAME_THING.get(binding.id, binding.id)}")
        if things & seen:
            continue
        seen |= things
        keys.append(shown)
    return keys


def fit(keys: Iterable[ShownKey], width: int) -> list[ShownKey]:
    """The keys that fit in ``width`` cells, whole: F1 Help first, then the others in
    order of importance until one does not fit (the rest, less important, stay out)."""
    keys = list(keys)
    pinned = [key for key in keys if key.binding.id == HELP_ID][:1]
    chosen = list(pinned)
    used = sum(key.width for key in pinned)
    for key in keys:
        if key in pinned:
            continue
        needed = key.width + (GAP if chosen else 0)
        if used + needed > width:
            break
        chosen.append(key)
        used += needed
    return chosen


class KeyHint(Widget):
    """One key of the footer: click it to press it (a greyed-out one only beeps)."""

    ALLOW_SELECT = False

    def __init__(self, key: ShownKey) -> None:
        super().__init__(classes="" if key.enabled else "-disabled")
        self.shown = key
        if key.tooltip:
            self.tooltip = key.tooltip

    def render(self) -> Content:
        # Content, not markup: the words are a catalogue's, and a translation may hold
        # brackets.
        key = Content.styled(self.shown.label, "bold $footer-key-foreground")
        if not self.shown.description:
            return key
        return Content.assemble(key, " ", self.shown.description)

    def on_click(self) -> None:
        if self.shown.enabled:
            self.app.simulate_key(self.shown.binding.key)
        else:
            self.app.bell()


class KeyFooter(Widget, can_focus=False):
    """The keys of the focused area, fitted to the width (styles in ``ui/app.tcss``)."""

    ALLOW_SELECT = False

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._fitted_width = 0

    @property
    def shown(self) -> list[ShownKey]:
        """The keys on show, left to right."""
        return [hint.shown for hint in self.query(KeyHint)]

    def compose(self) -> ComposeResult:
        for key in self._fitted():
            yield KeyHint(key)

    def _fitted(self) -> list[ShownKey]:
        app = self.app
        palette_key = app.COMMAND_PALETTE_BINDING if app.ENABLE_COMMAND_PALETTE else None
        # Before the first layout the footer has no size yet: it is as wide as the app.
        width = self.size.width or app.size.width
        self._fitted_width = width
        return fit(footer_keys(self.screen.active_bindings, palette_key), width)

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def on_resize(self, event: events.Resize) -> None:
        """Fit again when the terminal is resized."""
        if event.size.width != self._fitted_width:
            self.call_after_refresh(self.recompose)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        # The focus moved, or what applies changed (greyed-out keys). The bindings are
        # told again on every move of the queue's cursor: drawing the same keys again
        # would cost a layout of the whole screen per keystroke.
        if self.is_attached and screen is self.screen:
            self.call_after_refresh(self._refit)

    def _refit(self) -> None:
        if self.is_attached and self._fitted() != self.shown:
            self.call_next(self.recompose)
