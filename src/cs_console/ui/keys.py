"""The bindings of the workspace, gathered for the help screen, and shown in the
interface language."""

from __future__ import annotations

from dataclasses import replace

from textual.app import App
from textual.binding import ActiveBinding, Binding

from cs_console.i18n import N_, _

#: Descriptions of Textual's own bindings that reach the footer, so that extraction
#: puts them in the catalogues (:func:`translate_active_bindings` translates them).
TEXTUAL_DESCRIPTIONS = (N_("palette"), N_("Quit"))


def _areas() -> list[tuple[str, list[Binding]]]:
    from cs_console.ui.app import ConsoleApp
    from cs_console.ui.screens.workspace import WorkspaceScreen
    from cs_console.ui.widgets.composer import Composer
    from cs_console.ui.widgets.order_pane import OrderPane
    from cs_console.ui.widgets.queue_list import QueueList
    from cs_console.ui.widgets.thread_view import ThreadView

    def bindings(cls: type) -> list[Binding]:
        return [b for b in getattr(cls, "BINDINGS", []) if isinstance(b, Binding)]

    return [
        (N_("Everywhere"), bindings(ConsoleApp) + bindings(WorkspaceScreen)),
        (N_("Queue (single keys)"), bindings(QueueList)),
        (N_("Thread"), bindings(ThreadView)),
        (N_("Composer"), bindings(Composer)),
        (N_("Orders"), bindings(OrderPane)),
    ]


def translate_binding(binding: Binding) -> Binding:
    """The binding with its description and tooltip in the interface language.

    Descriptions are written in English (marked with ``N_``) because class attributes
    are evaluated at import, before the language is chosen; they are translated here,
    where they are shown.
    """
    description = _(binding.description) if binding.description else binding.description
    tooltip = _(binding.tooltip) if binding.tooltip else binding.tooltip
    if description == binding.description and tooltip == binding.tooltip:
        return binding  # English, or no catalogue entry: spare the copy
    return replace(binding, description=description, tooltip=tooltip)


def translate_active_bindings(active: dict[str, ActiveBinding]) -> dict[str, ActiveBinding]:
    """``Screen.active_bindings`` (what the footer and the keys panel read) translated."""
    return {
        key: ActiveBinding(
            item.node,
            translate_binding(item.binding),
            item.enabled,
            _(item.tooltip) if item.tooltip else item.tooltip,
        )
        for key, item in active.items()
    }


def binding_table(app: App[object]) -> str:
    """Markdown listing every binding with its id, keys (as remapped) and description."""
    keymap = getattr(app, "effective_keymap", {})
    lines = ["# " + _("Keys"), ""]
    composer_note = getattr(app, "composer_keys_note", "")
    header = "| {} | {} | {} |".format(_("keys"), _("action"), _("id"))
    for area, items in _areas():
        lines += [f"## {_(area)}", "", header, "| --- | --- | --- |"]
        for binding in items:
            keys = keymap.get(binding.id, binding.key) if binding.id else binding.key
            description = _(binding.description) if binding.description else binding.action
            lines.append(f"| `{keys}` | {description} | `{binding.id or ''}` |")
        if area == "Composer" and composer_note:
            send_or_newline = _("send / new line")
            lines.append(f"| `{composer_note}` | {send_or_newline} | |")
        lines.append("")
    lines.append(_("Press Escape to close."))
    return "\n".join(lines)


def check_keymap(keymap: dict[str, str]) -> list[str]:
    """Problems with a ``[keymap]`` table: unknown binding ids, and two actions of one
    area (or an area and "Everywhere") ending up on the same key."""
    problems: list[str] = []
    areas = _areas()
    known = {b.id for _area, items in areas for b in items if b.id}
    for binding_id in sorted(keymap):
        if binding_id not in known:
            problems.append(
                _("unknown binding id {binding_id!r} (cs-console keys lists them)").format(
                    binding_id=binding_id
                )
            )
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
                    problems.append(
                        _("{key!r} is bound to both {other} and {binding_id}").format(
                            key=key, other=other, binding_id=binding.id
                        )
                    )
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
