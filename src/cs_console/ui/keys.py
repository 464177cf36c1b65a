"""The keys as people see them: F1's table, ``cs-console keys``, the ``[keymap]`` check,
and bindings shown in the interface language. All of it reads the action table
(:mod:`cs_console.ui.actions`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from textual.binding import ActiveBinding, Binding
from textual.markup import escape

from cs_console.i18n import N_, _
from cs_console.ui.actions import ACTIONS, AREAS, BY_ID, COMPOSER, EVERYWHERE, current_keys, in_area
from cs_console.ui.text import safe_line

#: Descriptions of Textual's own bindings that reach the footer, so that extraction
#: puts them in the catalogues (:func:`translate_active_bindings` translates them).
TEXTUAL_DESCRIPTIONS = (N_("palette"), N_("Quit"))


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


def translate_active_bindings(
    active: dict[str, ActiveBinding],
    why_not: Callable[[Binding], str | None] | None = None,
) -> dict[str, ActiveBinding]:
    """``Screen.active_bindings`` (what the footer and the keys panel read) translated.

    Args:
        active: The screen's active bindings.
        why_not: Why a greyed-out binding does not apply now; shown as its tooltip.
    """
    translated = {}
    for key, item in active.items():
        tooltip = _(item.tooltip) if item.tooltip else item.tooltip
        reason = why_not(item.binding) if why_not is not None and not item.enabled else None
        if reason:
            # Tooltips are markup, and a backend's reason is untrusted text.
            tooltip = escape(safe_line(reason))
        translated[key] = ActiveBinding(
            item.node, translate_binding(item.binding), item.enabled, tooltip
        )
    return translated


def applied_keymap(app: object) -> dict[str, str]:
    """The ``[keymap]`` the app applied at start-up (binding id -> keys)."""
    keymap: dict[str, str] = getattr(app, "effective_keymap", {})
    return keymap


def binding_table(keymap: dict[str, str], composer_note: str = "") -> str:
    """Markdown listing every binding with its keys (as remapped), description and id.

    Args:
        keymap: The ``[keymap]`` in effect (binding id -> keys).
        composer_note: The composer's send and new-line keys, which are no bindings.
    """
    lines = ["# " + _("Keys"), ""]
    header = "| {} | {} | {} |".format(_("keys"), _("action"), _("id"))
    for area in AREAS:
        lines += [f"## {_(area)}", "", header, "| --- | --- | --- |"]
        for action in in_area(area):
            keys = current_keys(action, keymap)
            lines.append(f"| `{keys}` | {_(action.description)} | `{action.id}` |")
        if area == COMPOSER and composer_note:
            send_or_newline = _("send / new line")
            lines.append(f"| `{composer_note}` | {send_or_newline} | |")
        lines.append("")
    lines.append(_("Press Escape to close."))
    return "\n".join(lines)


def check_keymap(keymap: dict[str, str]) -> list[str]:
    """Problems with a ``[keymap]`` table: unknown binding ids, and two actions of one
    area (or an area and "Everywhere") ending up on the same key."""
    problems: list[str] = []
    for binding_id in sorted(keymap):
        if binding_id not in BY_ID:
            problems.append(
                _("unknown binding id {binding_id!r} (cs-console keys lists them)").format(
                    binding_id=binding_id
                )
            )
    everywhere = list(in_area(EVERYWHERE))
    for area in AREAS:
        seen: dict[str, str] = {}
        # An area's keys meet the Everywhere keys; two Everywhere keys on one key are
        # reported once, under Everywhere.
        pool = everywhere if area == EVERYWHERE else [*everywhere, *in_area(area)]
        for action in pool:
            for key in (k.strip() for k in current_keys(action, keymap).split(",")):
                other = seen.get(key)
                if (
                    other is not None
                    and other != action.id
                    and not (
                        area != EVERYWHERE
                        and action.area == EVERYWHERE
                        and BY_ID[other].area == EVERYWHERE
                    )
                ):
                    problems.append(
                        _("{key!r} is bound to both {other} and {binding_id}").format(
                            key=key, other=other, binding_id=action.id
                        )
                    )
                seen[key] = action.id
    return sorted(set(problems))


def effective_keys(keymap: dict[str, str]) -> list[tuple[str, str, str, str]]:
    """(area, binding id, keys, description) for every binding, after remapping."""
    return [
        (action.area, action.id, current_keys(action, keymap), action.description)
        for action in ACTIONS
    ]
