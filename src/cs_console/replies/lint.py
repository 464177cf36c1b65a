"""Checks for quick-reply library files, reported with file and line.

The rules are the library README's. This module validates one ``[[reply]]`` table at
a time and finds the lines problems sit on; :mod:`cs_console.replies.library` runs
it over whole directories (duplicate ids and hotkey clashes need the whole layer),
and ``library.lint_dirs`` is the entry point for ``cs-console replies lint``. The
allowed values are in :mod:`cs_console.replies.vocabulary`, the actions' rules in
:mod:`cs_console.replies.action_rules`, and line finding in
:mod:`cs_console.replies.source_map`.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

from cs_console.replies.action_rules import (
    ACTION_KINDS,
    MAX_SNOOZE_MINUTES,
    ActionSpec,
    check_action,
)
from cs_console.replies.placeholders import (
    FILL_PREFIX,
    HOLE_CLOSE,
    HOLE_OPEN,
    MAX_FILL_LABEL,
    PLACEHOLDERS,
    fill_label,
    iter_tokens,
)
from cs_console.replies.source_map import Problem, SourceMap, toml_error_position
from cs_console.replies.vocabulary import (
    AUDIENCES,
    GROUP_RE,
    HOTKEYS,
    LANGUAGE_RE,
    REPLY_KEYS,
    SCENARIOS,
    SLUG_RE,
)
from cs_console.sanitize import find_control, sanitize

# The vocabulary, the actions' rules and the line finding live beside this module;
# importers of this one keep finding them here.
__all__ = [
    "ACTION_KINDS",
    "AUDIENCES",
    "GROUP_RE",
    "HOTKEYS",
    "LANGUAGE_RE",
    "MAX_SNOOZE_MINUTES",
    "REPLY_KEYS",
    "SCENARIOS",
    "SLUG_RE",
    "ActionSpec",
    "CheckedReply",
    "LintIssue",
    "Problem",
    "SourceMap",
    "check_action",
    "check_body",
    "check_controls",
    "check_reply",
    "normalize_body",
    "toml_error_position",
]


@dataclass(frozen=True)
class LintIssue:
    """One problem in a library file. ``line`` is 1-based; 0 means "no line" (a folder)."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        # Printed as it is by `replies lint`: a file name or a quoted value must not
        # carry an escape sequence to the terminal.
        return sanitize(f"{self.path}:{self.line}: {self.message}")


class CheckedReply(NamedTuple):
    """The normalised fields of a reply table that passed the fatal checks."""

    id: str
    title: str
    body: str
    keywords: tuple[str, ...]
    scenario: str
    audience: str
    hotkey: str | None
    actions: tuple[ActionSpec, ...]


def normalize_body(body: str) -> str:
    """Strip leading and trailing blank lines; keep line breaks inside (README).

    Args:
        body: the body as TOML parsed it.
    """
    lines = body.replace("\r\n", "\n").split("\n")
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return "\n".join(lines[start:end])


def check_body(body: str) -> list[Problem]:
    """Check a body's placeholders and braces.

    Args:
        body: the normalised body.
    """
    problems: list[Problem] = []
    cursors = 0
    for kind, value, _offset in iter_tokens(body):
        if kind == "field":
            if value == "cursor":
                cursors += 1
                if cursors == 2:
                    problems.append(Problem("body has more than one {cursor}", "body", "{cursor}"))
            elif value.startswith(FILL_PREFIX):
                problems.extend(_check_fill(value))
            elif value not in PLACEHOLDERS:
                hint = _placeholder_hint(value)
                problems.append(
                    Problem(f"unknown placeholder {{{value}}}{hint}", "body", "{" + value + "}")
                )
        elif kind == "open":
            problems.append(
                Problem("unbalanced '{' in body (write '{{' for a literal brace)", "body", "{")
            )
        elif kind == "close":
            problems.append(
                Problem("unbalanced '}' in body (write '}}' for a literal brace)", "body", "}")
            )
    return problems


def _check_fill(name: str) -> list[Problem]:
    """Check a ``{fill:label}`` blank: the label is what the agent sees in the hole."""
    label = fill_label(name) or ""
    needle = "{" + name + "}"
    if not label:
        return [
            Problem(
                "{fill:} needs a label saying what to write, e.g. {fill:new address}",
                "body",
                needle,
            )
        ]
    if len(label) > MAX_FILL_LABEL:
        return [
            Problem(
                f"fill-in label is over {MAX_FILL_LABEL} characters: {label[:20]!r}...",
                "body",
                needle,
            )
        ]
    if HOLE_OPEN in label or HOLE_CLOSE in label:
        return [
            Problem(
                f"fill-in label {label!r} must not contain {HOLE_OPEN} or {HOLE_CLOSE}",
                "body",
                needle,
            )
        ]
    return []


def _placeholder_hint(name: str) -> str:
    stripped = name.strip()
    if stripped.lower() in ("fill", "blank"):
        return " (a blank for the agent is written {fill:what to write})"
    if stripped in PLACEHOLDERS:
        return f" (no spaces inside braces: {{{stripped}}})"
    lowered = stripped.lower().replace("-", "_").replace(" ", "_")
    close = difflib.get_close_matches(lowered, sorted(PLACEHOLDERS), n=1, cutoff=0.75)
    if close:
        return f" (did you mean {{{close[0]}}}?)"
    return "; known: " + ", ".join(sorted(PLACEHOLDERS))


def check_reply(
    table: Mapping[str, object], *, language: str, group: str
) -> tuple[CheckedReply | None, list[Problem]]:
    """Validate one reply table of a file in ``<language>/<group>.toml``.

    Args:
        table: the parsed ``[[reply]]`` table.
        language: the language folder the file is in.
        group: the file's group.

    Returns:
        The normalised reply (``None`` if a fatal problem keeps it out) and every
        problem found.
    """
    problems: list[Problem] = []
    for key in table:
        if key not in REPLY_KEYS:
            problems.append(
                Problem(
                    f"unknown key {key!r} (known: " + ", ".join(REPLY_KEYS) + ")", key, fatal=False
                )
            )

    reply_id = table.get("id")
    if not isinstance(reply_id, str):
        problems.append(Problem(_missing_or_type("id", reply_id, "a string"), _key(table, "id")))
    else:
        prefix = f"{language}.{group}."
        if not reply_id.startswith(prefix) or not SLUG_RE.fullmatch(reply_id[len(prefix) :]):
            problems.append(
                Problem(
                    f"id {reply_id!r} must be '{prefix}<slug>' "
                    "(slug: lowercase a-z, 0-9, '-', and '.' between parts)",
                    "id",
                )
            )

    title = table.get("title")
    if not isinstance(title, str) or not title.strip():
        problems.append(
            Problem(_missing_or_type("title", title, "a non-empty string"), _key(table, "title"))
        )
    elif "\n" in title.strip():
        problems.append(Problem("title must be one line", "title"))

    raw_body = table.get("body")
    body = ""
    if not isinstance(raw_body, str) or not normalize_body(raw_body):
        problems.append(
            Problem(_missing_or_type("body", raw_body, "a non-empty string"), _key(table, "body"))
        )
    else:
        body = normalize_body(raw_body)
        problems.extend(check_body(body))

    keywords: list[str] = []
    raw_keywords = table.get("keywords", [])
    if not isinstance(raw_keywords, list):
        problems.append(Problem("keywords must be a list of strings", "keywords"))
    else:
        for keyword in raw_keywords:
            if not isinstance(keyword, str) or not keyword.strip():
                problems.append(
                    Problem(f"keywords must be non-empty strings, not {keyword!r}", "keywords")
                )
            else:
                keywords.append(keyword.strip())

    scenario = table.get("scenario")
    if scenario not in SCENARIOS:
        problems.append(
            Problem(
                _missing_or_type("scenario", scenario, "one of the README's scenario ids"),
                _key(table, "scenario"),
            )
        )

    audience = table.get("audience")
    if audience not in AUDIENCES:
        problems.append(
            Problem(
                _missing_or_type("audience", audience, " or ".join(repr(a) for a in AUDIENCES)),
                _key(table, "audience"),
            )
        )

    hotkey = table.get("hotkey")
    if hotkey is not None and hotkey not in HOTKEYS:
        problems.append(
            Problem(
                f"hotkey {hotkey!r} is not allowed "
                "(use alt+a, s, d, g, h, j, k, l, z or x, or f11, f12)",
                "hotkey",
                fatal=False,
            )
        )
        hotkey = None

    actions: list[ActionSpec] = []
    raw_actions = table.get("actions", [])
    if not isinstance(raw_actions, list):
        problems.append(Problem("actions must be a list of tables", "actions"))
    else:
        for action in raw_actions:
            spec, messages = check_action(action)
            needle = None
            if isinstance(action, Mapping) and isinstance(action.get("kind"), str):
                needle = str(action["kind"])
            problems.extend(Problem(message, "actions", needle) for message in messages)
            if spec is not None:
                actions.append(spec)

    problems.extend(check_controls(table))

    # The isinstance tests only narrow types for the checker: whenever one fails,
    # a fatal problem was recorded above.
    if (
        any(problem.fatal for problem in problems)
        or not isinstance(reply_id, str)
        or not isinstance(title, str)
        or not isinstance(scenario, str)
        or not isinstance(audience, str)
        or not (hotkey is None or isinstance(hotkey, str))
    ):
        return None, problems
    checked = CheckedReply(
        id=reply_id,
        title=title.strip(),
        body=body,
        keywords=tuple(keywords),
        scenario=scenario,
        audience=audience,
        hotkey=hotkey,
        actions=tuple(actions),
    )
    return checked, problems


def check_controls(table: Mapping[str, object]) -> list[Problem]:
    """Refuse control characters in the text of a reply table.

    A reply's title is drawn in the palette and its body goes into the composer, the
    draft and the customer's chat: an ESC or C1 sequence there (OSC 52 writes the
    clipboard, OSC 2 the window title) would be obeyed by the agent's terminal. C0
    controls other than newline and tab, DEL, C1 controls and bidi overrides are
    therefore fatal, each named with the reply and the field it is in.

    Args:
        table: the parsed ``[[reply]]`` table (or an imported row).
    """
    reply_id = table.get("id")
    who = f"reply {reply_id!r}" if isinstance(reply_id, str) else "reply"
    texts: list[tuple[str, str, object]] = [
        ("title", "title", table.get("title")),
        # A body written on Windows (or in a spreadsheet) ends its lines with CRLF.
        ("body", "body", _crlf_to_lf(table.get("body"))),
    ]
    keywords = table.get("keywords")
    if isinstance(keywords, list):
        texts.extend(("keywords", "a keyword", keyword) for keyword in keywords)
    actions = table.get("actions")
    if isinstance(actions, list):
        for action in actions:
            if isinstance(action, Mapping):
                kind = action.get("kind")
                texts.extend(
                    ("actions", f"action {kind!r} {name}", value)
                    for name, value in action.items()
                    if name != "kind"
                )
    problems: list[Problem] = []
    for key, label, value in texts:
        found = find_control(value) if isinstance(value, str) else None
        if found is not None:
            problems.append(
                Problem(
                    f"{who}: {label} contains {found}, which a terminal would act on; remove it",
                    key,
                )
            )
    return problems


def _crlf_to_lf(value: object) -> object:
    return value.replace("\r\n", "\n") if isinstance(value, str) else value


def _key(table: Mapping[str, object], key: str) -> str | None:
    # A missing key has no line of its own: report the [[reply]] header instead.
    return key if key in table else None


def _missing_or_type(key: str, value: object, expected: str) -> str:
    if value is None:
        return f"missing {key!r} ({expected})"
    return f"{key} must be {expected}, not {value!r}"
