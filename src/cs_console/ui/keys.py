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


def check_keymap(keymap: dict[str, str]) -> list[str]:
    """Problems with a ``[keymap]`` table: unknown binding ids, and two actions of one
    area (or an area and "Everywhere") ending up on the same key."""
    problems: list[str] = []
    areas = _areas()
    known = {b.id for _, items in areas for b in items if b.id}
    for binding_id in sorted(keymap):
        if binding_id not in known:
            problems.append(f"unknown binding id {binding_id!r} (cs-console keys lists them)")
    everywhere = {b.id for b in areas[0][1] if b.id}
    for area, items in areas:
        seen: dict[str, str] = {}
        pool = items if area == "Everywhere" else [*areas[0][1], *items]
        for binding in pool:
            keys = keymap.get(binding.id, binding.key) if binding.id else binding.key
            for key in (k.strip() for k in keys.split(",")):
                other = seen.get(key)
                if (
                    other is not None
                    and other != binding.id
                    and not (
                        binding.id in everywhere and other in everywhere and area != "Everywhere"
                    )
                ):
                    problems.append(f"{key!r} is bound to both {other} and {binding.id}")
                seen[key] = binding.id or binding.action
    return sorted(set(problems))


def effective_keys(keymap: dict[str, str]) -> list[tuple[str, str, str, str]]:
    """(area, binding id, keys, description) for every binding, after remapping."""
    rows = []
    for area, items in _areas():
        for binding in items:
            if binding.id:
                keys = keymap.get(binding.id, binding.key)
                rows.append((area, binding.id, keys, binding.description or binding.action))
    return rows
