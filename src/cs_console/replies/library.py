"""The quick-reply library: TOML files loaded into immutable replies.

Libraries are layered: the library shipped with cs-console first, then the replies
the shop published through its backend (a :class:`PublishedLayer`), then the agent's
own ``<config dir>/quick_replies``. A later reply with the same id replaces the
earlier one in place; other ids add. Bad content never raises: it comes back as
:class:`~cs_console.replies.lint.LintIssue` and the broken part is skipped. The
replies themselves are the values of :mod:`cs_console.replies.quick_reply`.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Iterable, Iterator, Sequence
from importlib import resources
from pathlib import Path

from cs_console.replies.lint import CheckedReply, LintIssue, check_reply
from cs_console.replies.quick_reply import PublishedLayer, PublishedReply, QuickReply, ReplyAction
from cs_console.replies.source_map import SourceMap, toml_error_position
from cs_console.replies.vocabulary import GROUP_RE, LANGUAGE_RE

# The reply values live beside this module; importers of this one keep finding them here.
__all__ = [
    "Library",
    "PublishedLayer",
    "PublishedReply",
    "QuickReply",
    "ReplyAction",
    "lint_dirs",
    "load_library",
    "scan_library",
    "shipped_library_dir",
]

_TOP_LEVEL_KEYS = ("group", "reply")


class Library:
    """An ordered, read-only set of replies with lookups by id, language and hotkey."""

    def __init__(self, replies: Iterable[QuickReply] = ()) -> None:
        """Build the lookups; on a repeated id or hotkey the first reply wins.

        Args:
            replies: the replies in library order.
        """
        self.replies: tuple[QuickReply, ...] = tuple(replies)
        self._by_id: dict[str, QuickReply] = {}
        self._by_language: dict[str, list[QuickReply]] = {}
        self._hotkeys: dict[str, dict[str, QuickReply]] = {}
        for reply in self.replies:
            self._by_id.setdefault(reply.id, reply)
            self._by_language.setdefault(reply.language, []).append(reply)
            if reply.hotkey is not None:
                self._hotkeys.setdefault(reply.language, {}).setdefault(reply.hotkey, reply)

    def __len__(self) -> int:
        return len(self.replies)

    def __iter__(self) -> Iterator[QuickReply]:
        return iter(self.replies)

    def get(self, reply_id: str) -> QuickReply | None:
        """Return the reply with this id, or ``None``."""
        return self._by_id.get(reply_id)

    def for_language(self, language: str) -> list[QuickReply]:
        """Return the replies of one language, in library order."""
        return list(self._by_language.get(language, ()))

    def hotkeys(self, language: str) -> dict[str, QuickReply]:
        """Return ``{hotkey: reply}`` for one language."""
        return dict(self._hotkeys.get(language, {}))

    def languages(self) -> list[str]:
        """Return the languages that have replies, sorted."""
        return sorted(self._by_language)


def shipped_library_dir() -> Path:
    """Return the folder of the shop library that ships with cs-console.

    A wheel carries it as package data (``cs_console/_data/quick_replies``, put there
    by hatch ``force-include``); an editable install reads the repository's
    top-level ``quick_replies/``.

    Raises:
        FileNotFoundError: if neither exists (a broken install).
    """
    packaged = resources.files("cs_console") / "_data" / "quick_replies"
    if packaged.is_dir():
        return Path(str(packaged))
    checkout = Path(__file__).resolve().parents[3] / "quick_replies"
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(
        "the shipped quick-reply library is missing: looked in "
        f"{packaged} (installed package) and {checkout} (source checkout); "
        "reinstall cs-console"
    )


def load_library(dirs: Sequence[Path | PublishedLayer]) -> tuple[Library, list[LintIssue]]:
    """Load layered library directories into one :class:`Library`.

    Directories come in order, the shop library first. A later reply with an id
    already loaded replaces it (keeping its place in the order); a later reply that
    takes a hotkey already bound in its language takes the hotkey over. Missing
    directories are skipped quietly (an agent need not have personal replies).

    Args:
        dirs: library roots holding ``<lang>/<group>.toml`` (or single files), or
            published layers, in layer order.

    Returns:
        The library and the issues found; broken files and replies are skipped.
    """
    replies, issues = scan_library(dirs, report_missing=False)
    return Library(replies), issues


def scan_library(
    dirs: Sequence[Path | PublishedLayer], *, report_missing: bool
) -> tuple[list[QuickReply], list[LintIssue]]:
    """Read, check and layer library directories (shared by loading and linting).

    Args:
        dirs: library roots, single files or published layers, in layer order.
        report_missing: whether a path that does not exist is an issue.

    Returns:
        The merged replies in library order and the issues sorted by file and line.
    """
    issues: list[LintIssue] = []
    merged: dict[str, QuickReply] = {}
    for root in dirs:
        layer: list[QuickReply] = []
        if isinstance(root, PublishedLayer):
            layer.extend(_read_published(root, issues))
        else:
            for path, language in _library_files(root, issues, report_missing=report_missing):
                layer.extend(_read_file(path, language, issues))
        for reply in _check_layer(layer, issues):
            if reply.hotkey is not None:
                # The later layer is the agent's own: their binding wins.
                for other_id, other in merged.items():
                    if (
                        other_id != reply.id
                        and other.language == reply.language
                        and other.hotkey == reply.hotkey
                    ):
                        merged[other_id] = dataclasses.replace(other, hotkey=None)
            merged[reply.id] = reply
    issues.sort(key=lambda issue: (issue.path, issue.line, issue.message))
    return list(merged.values()), issues


def _library_files(
    root: Path, issues: list[LintIssue], *, report_missing: bool
) -> Iterator[tuple[Path, str]]:
    """Yield ``(file, language)`` for the ``<lang>/*.toml`` files of a root."""
    if root.is_file():
        if root.suffix == ".toml":
            yield root, root.parent.name
        else:
            issues.append(LintIssue(str(root), 0, "not a .toml file"))
        return
    if not root.is_dir():
        if report_missing:
            issues.append(LintIssue(str(root), 0, "no such file or directory"))
        return
    try:
        entries = sorted(root.iterdir())
    except OSError as error:
        issues.append(LintIssue(str(root), 0, f"cannot read folder: {error.strerror}"))
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_file() and entry.suffix == ".toml":
            issues.append(
                LintIssue(
                    str(entry), 0, "reply files belong in a language folder, e.g. en/<group>.toml"
                )
            )
        elif entry.is_dir():
            if not LANGUAGE_RE.fullmatch(entry.name):
                issues.append(
                    LintIssue(
                        str(entry), 0, "folder name is not a language tag (e.g. en, zh-CN, vi)"
                    )
                )
                continue
            for path in sorted(entry.glob("*.toml")):
                if path.is_file():
                    yield path, entry.name


def _read_file(path: Path, language: str, issues: list[LintIssue]) -> list[QuickReply]:
    """Parse and check one file; return its valid replies."""
    source = str(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        issues.append(LintIssue(source, 0, f"cannot read file: {error.strerror}"))
        return []
    try:
        # utf-8-sig: editors on Windows like to start files with a BOM.
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        issues.append(LintIssue(source, line, "not UTF-8 text"))
        return []
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        line, message = toml_error_position(str(error))
        issues.append(LintIssue(source, line, f"invalid TOML: {message}"))
        return []

    tables = document.get("reply", [])
    source_map = SourceMap(text, len(tables) if isinstance(tables, list) else 0)
    group = document.get("group")
    if not LANGUAGE_RE.fullmatch(language):
        issues.append(LintIssue(source, 1, f"{language!r} is not a language tag folder"))
        return []
    if group is None:
        issues.append(LintIssue(source, 1, f"missing top-level group = {path.stem!r}"))
        return []
    if group != path.stem:
        issues.append(
            LintIssue(
                source,
                source_map.top_key_line("group"),
                f"group {group!r} does not match the file name (expected {path.stem!r})",
            )
        )
        return []
    if not GROUP_RE.fullmatch(path.stem):
        issues.append(LintIssue(source, 1, "group (file name) must be lowercase a-z, 0-9 and '-'"))
        return []
    for key in document:
        if key not in _TOP_LEVEL_KEYS:
            issues.append(
                LintIssue(
                    source,
                    source_map.top_key_line(key),
                    f"unknown top-level key {key!r} (known: group, [[reply]])",
                )
            )
    if not isinstance(tables, list):
        issues.append(LintIssue(source, 1, "'reply' must be an array of tables: write [[reply]]"))
        return []

    replies: list[QuickReply] = []
    for index, table in enumerate(tables):
        line = source_map.reply_line(index)
        if not isinstance(table, dict):
            issues.append(LintIssue(source, line, "each reply must be a [[reply]] table"))
            continue
        checked, problems = check_reply(table, language=language, group=group)
        issues.extend(
            LintIssue(source, source_map.problem_line(index, problem), problem.message)
            for problem in problems
        )
        if checked is None:
            continue
        replies.append(_quick_reply(checked, language, group, source, line))
    return replies


def _read_published(layer: PublishedLayer, issues: list[LintIssue]) -> list[QuickReply]:
    """Check the shop's published replies with the rules of a library file."""
    replies: list[QuickReply] = []
    for published in layer.replies:
        where = f"{layer.source} {published.language}/{published.group}"
        if not LANGUAGE_RE.fullmatch(published.language) or not GROUP_RE.fullmatch(published.group):
            issues.append(LintIssue(where, 0, "not a language tag and group"))
            continue
        checked, problems = check_reply(
            published.table, language=published.language, group=published.group
        )
        reply_id = published.table.get("id")
        label = f"{where} {reply_id}" if isinstance(reply_id, str) else where
        issues.extend(LintIssue(label, 0, problem.message) for problem in problems)
        if checked is not None:
            replies.append(
                _quick_reply(checked, published.language, published.group, layer.source, 0)
            )
    return replies


def _quick_reply(
    checked: CheckedReply, language: str, group: str, source: str, line: int
) -> QuickReply:
    return QuickReply(
        id=checked.id,
        language=language,
        group=group,
        title=checked.title,
        body=checked.body,
        keywords=checked.keywords,
        scenario=checked.scenario,
        audience=checked.audience,
        hotkey=checked.hotkey,
        actions=tuple(ReplyAction(kind, dict(params)) for kind, params in checked.actions),
        source=source,
        line=line,
    )


def _check_layer(layer: list[QuickReply], issues: list[LintIssue]) -> list[QuickReply]:
    """Drop duplicate ids and clashing hotkeys within one directory, reporting both."""
    first_by_id: dict[str, QuickReply] = {}
    kept: list[QuickReply] = []
    for reply in layer:
        first = first_by_id.get(reply.id)
        if first is None:
            first_by_id[reply.id] = reply
            kept.append(reply)
            continue
        issues.append(
            LintIssue(
                reply.source,
                reply.line,
                f"duplicate id {reply.id!r} (first at {first.source}:{first.line}; skipped)",
            )
        )
        issues.append(
            LintIssue(
                first.source,
                first.line,
                f"duplicate id {reply.id!r} (again at {reply.source}:{reply.line})",
            )
        )

    owners: dict[tuple[str, str], QuickReply] = {}
    result: list[QuickReply] = []
    for reply in kept:
        if reply.hotkey is None:
            result.append(reply)
            continue
        owner = owners.get((reply.language, reply.hotkey))
        if owner is None:
            owners[(reply.language, reply.hotkey)] = reply
            result.append(reply)
            continue
        issues.append(
            LintIssue(
                reply.source,
                _hotkey_line(reply),
                f"hotkey {reply.hotkey} is already bound to {owner.id!r} "
                f"({owner.source}:{owner.line}) in {reply.language}; dropped here",
            )
        )
        result.append(dataclasses.replace(reply, hotkey=None))
    return result


def _hotkey_line(reply: QuickReply) -> int:
    """Find the ``hotkey =`` line inside a reply's table (the header if not found)."""
    try:
        lines = Path(reply.source).read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError):
        return reply.line
    for number in range(reply.line + 1, len(lines) + 1):
        stripped = lines[number - 1].strip()
        if stripped.startswith("[["):
            break
        if stripped.startswith("hotkey") and stripped[6:].lstrip().startswith("="):
            return number
    return reply.line


def lint_dirs(dirs: Sequence[Path]) -> list[LintIssue]:
    """Check library directories (or single ``.toml`` files) as one layered library.

    Reports bad TOML, a group that does not match the file name, missing or invalid
    fields, bad ids, duplicate ids within a directory (at both places), hotkey clashes
    within a language and directory, hotkeys outside the allowed set, unknown
    placeholders, fill-in blanks without a label, unbalanced braces and unknown
    actions. A reply in a later directory that reuses an earlier id or hotkey
    overrides it, as the app does, and is not an issue. A path that does not exist
    is an issue here (the app skips it quietly).

    Args:
        dirs: library roots (holding ``<lang>/<group>.toml``) or files, in layer order.

    Returns:
        The issues, sorted by file and line.
    """
    _replies, issues = scan_library(dirs, report_missing=True)
    return issues
