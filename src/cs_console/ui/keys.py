"""The bindings of the workspace, gathered for the help screen."""

from __future__ import annotations

from textual.app import App
from textual.binding import Binding


def _areas() -> list[tuple[str, list[Binding]]]:
    from cs_console.ui.app import ConsoleApp
    from cs_console.ui.screens.workspace import WorkspaceScreen
    from cs_console.ui.widgets.composer import Composer
    from cs_console.ui.widgets.queue_list import QueueList
    from cs_console.ui.widgets.thread_view import ThreadView

    def bindings(cls: type) -> list[Binding]:
        return [b for b in getattr(cls, "BINDINGS", []) if isinstance(b, Binding)]

    return [
        ("Everywhere", bindings(ConsoleApp) + bindings(WorkspaceScreen)),
        ("Queue (single keys)", bindings(QueueList)),
        ("Thread", bindings(ThreadView)),
        ("Composer", bindings(Composer)),
    ]


def binding_table(app: App[object]) -> str:
    """Markdown listing every binding with its id, keys (as remapped) and description."""
    keymap = getattr(app, "effective_keymap", {})
    lines = ["# Keys", ""]
    composer_note = getattr(app, "composer_keys_note", "")
    for area, items in _areas():
        lines += [f"## {area}", "", "| keys | action | id |", "| --- | --- | --- |"]
        for binding in items:
            keys = keymap.get(binding.id, binding.key) if binding.id else binding.key
            lines.append(
                f"| `{keys}` | {binding.description or binding.action} | `{binding.id or ''}` |"
            )
        if area == "Composer" and composer_note:
            lines.append(f"| `{composer_note}` | send / new line | |")
        lines.append("")
    lines.append("Press Escape to close.")
    return "\n".join(lines)
