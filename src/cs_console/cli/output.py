"""The one way the command line writes: sanitised lines and rows for people, JSON and
file formats (CSV, JSON exports) for programs.

Whatever came from a customer or a backend is shown, never obeyed: no value reaches the
terminal as an escape sequence, whichever form it is printed in. Every command prints
through these functions and nothing else.
"""

from __future__ import annotations

import json
import sys

__all__ = ["print_document", "print_json", "print_json_text", "row", "say", "terminal_safe_json"]


def say(text: object = "", *, err: bool = False) -> None:
    """Print text for a person; control characters are made visible, never sent raw.

    Args:
        text: What to print; its lines are kept.
        err: Print on stderr (a problem, or a note beside the output) instead of stdout.
    """
    from cs_console.sanitize import sanitize

    print(sanitize(str(text)), file=sys.stderr if err else sys.stdout)


def row(*fields: object) -> None:
    """Print one tab-separated row; each field folded onto one line and sanitised, so
    no value can break the columns or reach the terminal as an escape sequence."""
    from cs_console.sanitize import sanitize_line

    print("\t".join(sanitize_line(str(field)) for field in fields))


def print_json(value: object) -> None:
    """Print ``value`` as indented JSON (dates and other objects as their ``str``)."""
    print_json_text(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def print_json_text(text: str) -> None:
    """Print JSON another module serialised, made safe for the terminal."""
    print(terminal_safe_json(text))


def print_document(text: str) -> None:
    """Write a file format (a CSV or JSON export) exactly as its maker wrote it.

    Only for makers that keep control characters out of what they write themselves
    (the exporters do, cell by cell): the bytes are a file's, and sanitising here would
    change a file a spreadsheet or a script reads.
    """
    sys.stdout.write(text)


def terminal_safe_json(text: str) -> str:
    """JSON with every character the sanitiser would change written as a ``\\u`` escape:
    the same JSON to a program, and nothing a terminal acts on (json.dumps escapes C0
    controls by itself, but not C1 controls or bidi overrides)."""
    from cs_console.sanitize import sanitize

    if sanitize(text) == text:
        return text
    out: list[str] = []
    for char in text:
        code = ord(char)
        if char in "\n\t" or sanitize(char) == char:
            out.append(char)
        elif code > 0xFFFF:  # JSON spells these as a UTF-16 surrogate pair
            code -= 0x10000
            out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
        else:
            out.append(f"\\u{code:04x}")
    return "".join(out)
