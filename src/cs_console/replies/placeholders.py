"""Placeholders in quick-reply bodies: ``{name}`` filled from the open conversation.

``{{`` and ``}}`` are literal braces. ``{cursor}`` is not a value but the spot where
the composer's cursor lands. A placeholder without a value is never sent blank: it
is rendered as ``‹name›`` and reported as a hole the composer can Tab through.
``{fill:label}`` is a blank only the agent can fill (a new address, a date): it is
always a hole, shown as ``‹label›``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import Literal

from cs_console.sanitize import sanitize

#: Every placeholder a body may use (the library README's table).
PLACEHOLDERS: frozenset[str] = frozenset(
    {
        "customer_name",
        "order_number",
        "order_status",
        "carrier",
        "tracking_number",
        "ship_by",
        "days_since_delivery",
        "refund_amount",
        "agent_name",
        "shop_name",
        "return_address",
        "today",
        "cursor",
    }
)

#: ``{fill:new address}``: a blank the agent must fill, whatever the conversation knows.
FILL_PREFIX = "fill:"
#: A fill-in label is a short hint, not a sentence.
MAX_FILL_LABEL = 40

#: The marks around an unfilled placeholder; single guillemets are rare in real
#: replies, so an agent (and a test) can spot a hole that slipped through.
HOLE_OPEN = "\u2039"
HOLE_CLOSE = "\u203a"

#: Any hole in composer text: ``‹order_number›`` or ``‹new address›``. The composer
#: uses it to Tab between holes and to refuse a send that still has one.
HOLE_RE = re.compile(
    f"{HOLE_OPEN}[^{HOLE_OPEN}{HOLE_CLOSE}{{}}\\n]{{1,{MAX_FILL_LABEL}}}{HOLE_CLOSE}"
)

TokenKind = Literal["text", "field", "open", "close"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplyContext:
    """The values placeholders are filled from; ``None`` means "not known here"."""

    customer_name: str | None = None
    order_number: str | None = None
    order_status: str | None = None
    carrier: str | None = None
    tracking_number: str | None = None
    ship_by: str | None = None
    days_since_delivery: str | None = None
    refund_amount: str | None = None
    agent_name: str | None = None
    shop_name: str | None = None
    return_address: str | None = None
    today: str | None = None

    def values(self) -> dict[str, str | None]:
        """Return the values keyed by placeholder name."""
        return {field.name: getattr(self, field.name) for field in fields(self)}


@dataclass(frozen=True, slots=True)
class FilledReply:
    """A body with its placeholders filled.

    Attributes:
        text: the text to put in the composer.
        holes: ``(start, end, name)`` for each unfilled ``‹name›`` in ``text``, in order;
            for a ``{fill:label}`` blank the name is the label.
        cursor: the offset in ``text`` where ``{cursor}`` was, or ``None``.
    """

    text: str
    holes: tuple[tuple[int, int, str], ...]
    cursor: int | None

    def landing(self) -> int:
        """Where the cursor should go: the first hole, else ``{cursor}``, else the end."""
        if self.holes:
            return self.holes[0][0]
        if self.cursor is not None:
            return self.cursor
        return len(self.text)


def iter_tokens(body: str) -> Iterator[tuple[TokenKind, str, int]]:
    """Split a body into ``(kind, value, offset)`` tokens.

    Kinds: ``"text"`` (literal text, braces already unescaped), ``"field"`` (the raw
    name between braces, known or not), ``"open"`` / ``"close"`` (a ``{`` or ``}``
    with no partner; the value is the brace itself). Offsets point into ``body``.

    Args:
        body: the reply body as written in the library.
    """
    literal: list[str] = []
    literal_start = 0
    index = 0
    length = len(body)
    while index < length:
        char = body[index]
        if char not in "{}":
            if not literal:
                literal_start = index
            literal.append(char)
            index += 1
            continue
        if body.startswith(char * 2, index):
            if not literal:
                literal_start = index
            literal.append(char)
            index += 2
            continue
        if literal:
            yield "text", "".join(literal), literal_start
            literal = []
        if char == "}":
            yield "close", char, index
            index += 1
            continue
        end = body.find("}", index + 1)
        nested = body.find("{", index + 1)
        if end == -1 or (nested != -1 and nested < end):
            # A "{" that is never closed before the next "{": report it, keep going
            # so one slip does not hide the rest of the body.
            yield "open", char, index
            index += 1
            continue
        yield "field", body[index + 1 : end], index
        index = end + 1
    if literal:
        yield "text", "".join(literal), literal_start


def fill_label(name: str) -> str | None:
    """Return the label of a ``fill:`` placeholder name (stripped), else ``None``.

    Args:
        name: the raw text between the braces.
    """
    if not name.startswith(FILL_PREFIX):
        return None
    return name[len(FILL_PREFIX) :].strip()


def has_holes(text: str) -> bool:
    """Whether composer text still holds a ``‹hole›`` (so it must not be sent).

    Args:
        text: the composer's text.
    """
    return HOLE_RE.search(text) is not None


def placeholders_in(body: str) -> list[str]:
    """Return the placeholder names a body uses, known or not, once each, in order.

    Args:
        body: the reply body as written in the library.
    """
    seen: dict[str, None] = {}
    for kind, value, _offset in iter_tokens(body):
        if kind == "field":
            seen.setdefault(value, None)
    return list(seen)


def fill(body: str, ctx: ReplyContext) -> FilledReply:
    """Fill a body's placeholders from ``ctx``.

    Values go in literally: a value that contains ``{x}`` or markup such as
    ``[bold]`` stays exactly as it is (no second expansion). The text is terminal-safe:
    the body (a file anyone could have edited) and every value (customer and order
    data) go through :func:`~cs_console.sanitize.sanitize` piece by piece, so no escape
    sequence reaches the composer and the hole offsets match the text returned. A
    placeholder without a
    value (``None`` or blank) becomes ``‹name›`` and is listed in ``holes``; so does
    every ``{fill:label}``, as ``‹label›``. An
    unknown placeholder or an unpaired brace (which the linter rejects) is kept as
    written rather than dropped, so nothing silently disappears from a reply.

    Args:
        body: the reply body as written in the library.
        ctx: the values of the open conversation.

    Returns:
        The text, the holes and the ``{cursor}`` offset.
    """
    values = ctx.values()
    parts: list[str] = []
    holes: list[tuple[int, int, str]] = []
    cursor: int | None = None
    position = 0
    for kind, value, _offset in iter_tokens(body):
        hole: str | None = None
        if kind == "field":
            if value == "cursor":
                # Only the first {cursor} counts; the linter flags any others.
                if cursor is None:
                    cursor = position
                continue
            label = fill_label(value)
            if label:
                hole = sanitize(label)
                piece = HOLE_OPEN + hole + HOLE_CLOSE
            elif value not in values:
                piece = sanitize("{" + value + "}")
            else:
                filled = values[value]
                if filled is None or not filled.strip():
                    hole = value
                    piece = HOLE_OPEN + hole + HOLE_CLOSE
                else:
                    piece = sanitize(filled)
        else:
            piece = sanitize(value)
        if hole is not None:
            holes.append((position, position + len(piece), hole))
        parts.append(piece)
        position += len(piece)
    return FilledReply(text="".join(parts), holes=tuple(holes), cursor=cursor)
