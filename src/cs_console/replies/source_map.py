"""Where in a library file a problem sits.

TOML parsers drop positions, so :class:`SourceMap` finds the lines of ``[[reply]]``
tables and their keys by scanning the text, and :func:`toml_error_position` reads the
line out of a parse error's message. A :class:`Problem` is what the checks in
:mod:`cs_console.replies.lint` report before it is tied to a line here.
"""

from __future__ import annotations

import re
from typing import NamedTuple

_REPLY_HEADER_RE = re.compile(r"^[ \t]*\[\[[ \t]*reply[ \t]*\]\]")
_TOML_POSITION_RE = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")


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
