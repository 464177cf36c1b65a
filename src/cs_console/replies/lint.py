"""Checks for quick-reply library files, reported with file and line.

The rules are the library README's. This module validates one ``[[reply]]`` table at
a time and finds the lines problems sit on; :mod:`cs_console.replies.library` runs
it over whole directories (duplicate ids and hotkey clashes need the whole layer),
and ``library.lint_dirs`` is the entry point for ``cs-console replies lint``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

from cs_console.domain import CaseCategory, FlagColour, Group
from cs_console.replies.placeholders import (
    FILL_PREFIX,
    HOLE_CLOSE,
    HOLE_OPEN,
    MAX_FILL_LABEL,
    PLACEHOLDERS,
    fill_label,
    iter_tokens,
)
from cs_console.sanitize import find_control, sanitize

SCENARIOS: frozenset[str] = frozenset(
    {
        # Standard phrases.
        "greeting",
        "price-fixed",
        "invoice",
        "return-how",
        "return-tracking",
        "extra-postage",
        "closing-rating",
        "offline-reply",
        "payment-reminder",
        "address-confirm",
        "cod-confirm",
        "shipping-48h",
        "courier-intercept",
        "damage-photos",
        "reissue-apology",
        "product-question",
        "stock",
        "size-advice",
        "discount",
        "carrier-choice",
        "shipping-time",
        "hold-on",
        "thanks",
        # After-sales cases.
        "refund-before-group",
        "refund-before-shipping",
        "refund-shipped",
        "refund-signed",
        "damaged-late",
        "missing-item",
        "wrong-item",
        "quality",
        "courier-door",
        "wrong-address",
        "outside-area",
        "no-tracking-update",
        "misrouted",
        "damaged-transit",
        "usage-help",
        "counterfeit",
        "invoice-missing",
        "attitude-complaint",
        "negative-review",
        "suggestion",
        "feedback",
        # Imported from another system (Chatwoot's canned responses): no case known.
        "imported",
    }
)
AUDIENCES: tuple[str, ...] = ("pre-sale", "after-sale", "both")
#: Chords that survive common terminals and tmux (README "Hotkeys").
HOTKEYS: tuple[str, ...] = (
    # The home row (f skipped: terminals send Esc+f as "word right") then z and x.
    # Not Alt+digit: Textual reports Esc+1 as "¡", the macOS Option character, which a
    # Spanish keyboard also types for real.
    *(f"alt+{letter}" for letter in "asdghjklzx"),
    "f11",  # F1-F10 are the workspace's own
    "f12",
)
ACTION_KINDS: tuple[str, ...] = ("set_status", "add_remark", "open_case", "transfer")
REPLY_KEYS: tuple[str, ...] = (
    "id",
    "title",
    "body",
    "keywords",
    "scenario",
    "audience",
    "hotkey",
    "actions",
)
#: A week: longer snoozes hide a conversation for good, which is what "resolved" is for.
MAX_SNOOZE_MINUTES = 7 * 24 * 60

#: Folder names are language tags (``en``, ``zh-CN``); this also keeps an imported
#: language from walking out of the library directory (``..``).
LANGUAGE_RE = re.compile(r"[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")
GROUP_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
SLUG_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*")

_REPLY_HEADER_RE = re.compile(r"^[ \t]*\[\[[ \t]*reply[ \t]*\]\]")
_TOML_POSITION_RE = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")


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


class Problem(NamedTuple):
    """A problem in one reply table, before it is tied to a line.

    ``key`` names the offending key (its line is reported), ``needle`` a piece of text
    to look for below that key (a bad placeholder in the body). ``fatal`` problems
    keep the reply out of the library; the others only drop what is wrong (a hotkey).
    """

    message: str
    key: str | None = None
    needle: str | None = None
    fatal: bool = True


ActionSpec = tuple[str, tuple[tuple[str, str | int], ...]]


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


def check_action(action: object) -> tuple[ActionSpec | None, list[str]]:
    """Check one entry of ``actions`` against the README's table.

    Args:
        action: the parsed TOML value.

    Returns:
        ``(kind, params)`` if valid, and the messages of what is wrong.
    """
    if not isinstance(action, Mapping):
        return None, ["each action must be a table like { kind = ..., ... }"]
    kind = action.get("kind")
    if not isinstance(kind, str):
        return None, ["action without a 'kind' (one of " + ", ".join(ACTION_KINDS) + ")"]
    if kind not in ACTION_KINDS:
        return None, [f"unknown action kind {kind!r} (one of " + ", ".join(ACTION_KINDS) + ")"]
    params = {key: value for key, value in action.items() if key != "kind"}
    messages: list[str] = []
    allowed = _ACTION_PARAMS[kind]
    for key in params:
        if key not in allowed:
            messages.append(
                f"unknown parameter {key!r} for action {kind!r} (allowed: "
                + ", ".join(allowed)
                + ")"
            )
    if not messages:
        messages.extend(_check_action_params(kind, params))
    if messages:
        return None, messages
    clean = tuple((key, _as_param(value)) for key, value in params.items())
    return (kind, clean), []


_ACTION_PARAMS: dict[str, tuple[str, ...]] = {
    "set_status": ("status", "snooze_minutes"),
    "add_remark": ("flag", "text"),
    "open_case": ("category",),
    "transfer": ("group",),
}


def _as_param(value: object) -> str | int:
    # Only called after _check_action_params accepted the value.
    if isinstance(value, str | int):
        return value
    raise TypeError(f"unexpected action parameter {value!r}")


def _check_action_params(kind: str, params: Mapping[str, object]) -> list[str]:
    if kind == "set_status":
        if ("status" in params) == ("snooze_minutes" in params):
            return ["set_status needs exactly one of 'status' or 'snooze_minutes'"]
        if "status" in params and params["status"] not in ("pending", "resolved"):
            return [f"set_status status must be 'pending' or 'resolved', not {params['status']!r}"]
        if "snooze_minutes" in params:
            minutes = params["snooze_minutes"]
            # bool is an int in Python; `snooze_minutes = true` is a mistake, not 1.
            if (
                not isinstance(minutes, int)
                or isinstance(minutes, bool)
                or not 1 <= minutes <= MAX_SNOOZE_MINUTES
            ):
                return [
                    f"set_status snooze_minutes must be a whole number from 1 to "
                    f"{MAX_SNOOZE_MINUTES}, not {minutes!r}"
                ]
        return []
    if kind == "add_remark":
        messages = []
        flags = [flag.value for flag in FlagColour]
        if params.get("flag") not in flags:
            messages.append(
                f"add_remark flag must be one of {', '.join(flags)}, not {params.get('flag')!r}"
            )
        if not _is_text(params.get("text")):
            messages.append("add_remark needs a non-empty 'text'")
        return messages
    if kind == "open_case":
        categories = [category.value for category in CaseCategory]
        if params.get("category") not in categories:
            return [
                f"open_case category must be one of the case register's categories "
                f"({', '.join(categories)}), not {params.get('category')!r}"
            ]
        return []
    groups = [group.value for group in Group]
    if params.get("group") not in groups:
        return [f"transfer group must be one of {', '.join(groups)}, not {params.get('group')!r}"]
    return []


def _is_text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _is_line(value: object) -> bool:
    return _is_text(value) and "\n" not in str(value)


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


def toml_error_position(message: str) -> tuple[int, str]:
    """Split a :class:`tomllib.TOMLDecodeError` message into its line and its text.

    Python 3.11's error has no line attribute, only "(at line L, column C)" at the
    end of the message (or "(at end of document)").

    Args:
        message: ``str(error)``.

    Returns:
        The 1-based line (0 if the error names none) and the message with the column.
    """
    match = _TOML_POSITION_RE.search(message)
    if match is None:
        return 0, message
    text = message[: match.start()]
    return int(match.group(1)), f"{text} (column {match.group(2)})"


class SourceMap:
    """Finds the lines of ``[[reply]]`` tables and their keys in a file's text.

    TOML parsers drop positions, so lines come from scanning the text: the n-th
    ``[[reply]]`` header is the n-th reply table. A file that writes replies another
    way (an inline array) falls back to line 1 rather than to a wrong line.
    """

    def __init__(self, text: str, reply_count: int) -> None:
        self._lines = text.splitlines()
        headers = [
            number + 1 for number, line in enumerate(self._lines) if _REPLY_HEADER_RE.match(line)
        ]
        self._headers = headers if len(headers) == reply_count else []

    def reply_line(self, index: int) -> int:
        """Return the line of the ``index``-th reply's header (1 if unknown)."""
        return self._headers[index] if index < len(self._headers) else 1

    def top_key_line(self, key: str) -> int:
        """Return the line of a top-level key (before the first table), else 1."""
        pattern = re.compile(rf"^[ \t]*{re.escape(key)}[ \t]*=")
        for number, line in enumerate(self._lines, start=1):
            if line.lstrip().startswith("["):
                break
            if pattern.match(line):
                return number
        return 1

    def problem_line(self, index: int, problem: Problem) -> int:
        """Return the line a problem in the ``index``-th reply should point at."""
        start = self.reply_line(index)
        if not self._headers or problem.key is None:
            return start
        end = self._headers[index + 1] if index + 1 < len(self._headers) else len(self._lines) + 1
        key_pattern = re.compile(rf"^[ \t]*{re.escape(problem.key)}[ \t]*=")
        key_line = next(
            (
                number
                for number in range(start + 1, end)
                if key_pattern.match(self._lines[number - 1])
            ),
            start,
        )
        if problem.needle is None:
            return key_line
        return next(
            (
                number
                for number in range(key_line, end)
                if problem.needle in self._lines[number - 1]
            ),
            key_line,
        )
