"""The keys as people see them: F1's table, ``cs-console keys``, the ``[keymap]`` check,
and bindings shown in the interface language. All of it reads the action table
(:mod:`cs_console.ui.actions`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from rich.cells import cell_len
from textual.app import App
from textual.binding import ActiveBinding, Binding
from textual.markup import escape

from cs_console.i18n import N_, _
from cs_console.ui.actions import (
    ACTIONS,
    AREAS,
    BY_ID,
    COMPOSER,
    EVERYWHERE,
    SUGGESTION_KEYS,
    current_keys,
    in_area,
    key_label,
    keys_label,
)
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


#: F1's words for keys that are no rows of the action table.
SEND_OR_NEWLINE = N_("Send / new line")
SLASH = N_("Quick replies, in an empty composer")
TAB = N_("Next ‹blank› of an inserted reply")
PALETTE = N_("Commands: every action, by name")
REPLIES = N_("Quick replies (in the composer)")
SUGGESTED = N_("The three suggested replies above the composer")
HOTKEY = N_("Insert “{title}”")
NO_HOTKEYS = N_("No quick reply has a hotkey yet.")


@dataclass(frozen=True, slots=True)
class KeyRow:
    """One line of F1: the keys in words, what they do, and the binding's id (users
    remap by it; F1 does not show it, ``cs-console keys`` does)."""

    keys: str
    what: str
    detail: str = ""
    binding_id: str = ""


@dataclass(frozen=True, slots=True)
class KeySection:
    """An area of F1: its title and its keys."""

    title: str
    rows: tuple[KeyRow, ...]


def key_sections(
    keymap: dict[str, str],
    composer_note: str = "",
    reply_keys: Sequence[tuple[str, str]] = (),
    palette_key: str | None = App.COMMAND_PALETTE_BINDING,
) -> list[KeySection]:
    """Every key, by area, in the interface language, as ``[keymap]`` remapped it.

    Args:
        keymap: The ``[keymap]`` in effect (binding id -> keys).
        composer_note: The composer's send and new-line keys (no bindings), in words.
        reply_keys: (key, reply title) of the quick replies' hotkeys and the suggestion
            keys now on show. Titles may come from the shop: they are sanitised here.
        palette_key: Textual's command palette key (None: no palette).
    """
    sections: list[KeySection] = []
    for area in AREAS:
        rows = [
            KeyRow(
                keys_label(current_keys(action, keymap).split(",")),
                _(action.description),
                _(action.help) if action.help else "",
                action.id,
            )
            for action in in_area(area)
        ]
        if area == EVERYWHERE and palette_key:
            rows.append(KeyRow(key_label(palette_key), _(PALETTE)))
        if area == COMPOSER:
            if composer_note:
                rows.insert(0, KeyRow(composer_note, _(SEND_OR_NEWLINE)))
            rows += [KeyRow("/", _(SLASH)), KeyRow(key_label("tab"), _(TAB))]
        sections.append(KeySection(_(area), tuple(rows)))
    replies = [
        KeyRow(key_label(key), _(HOTKEY).format(title=safe_line(title)))
        for key, title in reply_keys
        if key not in SUGGESTION_KEYS
    ]
    if not replies:
        replies.append(KeyRow("", _(NO_HOTKEYS)))
    # The suggestion keys are listed whatever the conversation on show suggests.
    replies.append(KeyRow(" / ".join(key_label(key) for key in SUGGESTION_KEYS), _(SUGGESTED)))
    sections.append(KeySection(_(REPLIES), tuple(replies)))
    return sections


def binding_table(
    keymap: dict[str, str],
    composer_note: str = "",
    reply_keys: Sequence[tuple[str, str]] = (),
    *,
    with_ids: bool = False,
) -> str:
    """F1's content as plain text, for ``cs-console keys``.

    Args:
        keymap: The ``[keymap]`` in effect (binding id -> keys).
        composer_note: The composer's send and new-line keys, which are no bindings.
        reply_keys: (key, reply title) of the quick-reply hotkeys (sanitised here).
        with_ids: Add each binding's id, the name ``[keymap]`` remaps it by, marked
            with ``*`` when ``keymap`` remapped it.
    """
    sections = key_sections(keymap, composer_note, reply_keys)
    keys_width = max(cell_len(row.keys) for section in sections for row in section.rows)
    what_width = max(
        cell_len(row.what) for section in sections for row in section.rows if row.binding_id
    )
    lines: list[str] = []
    for section in sections:
        lines += [section.title, ""]
        for row in section.rows:
            line = "  " + pad(row.keys, keys_width) + "  "
            if with_ids and row.binding_id:
                marker = " *" if row.binding_id in keymap else ""
                line += pad(row.what, what_width) + "  " + row.binding_id + marker
            else:
                line += row.what + (f" ({row.detail})" if row.detail else "")
            lines.append(line.rstrip())
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def pad(text: str, width: int) -> str:
    """``text`` followed by blanks up to ``width`` terminal cells (Chinese is two)."""
    return text + " " * max(0, width - cell_len(text))


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
