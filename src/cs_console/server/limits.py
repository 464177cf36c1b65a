"""The protocol's size limits, applied to whatever enters or leaves the server.

Operations are checked by the protocol models on the way in (an over-long one is a
422). Text that reaches the server another way (a customer writing, records loaded
in bulk, a published reply library) and rows already stored are made to fit instead:
an over-long customer message is split into numbered parts, anything else is cut with
a visible mark. One over-long row must never stop the change feed for every agent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import ValidationError

from cs_console import protocol as p

R = TypeVar("R", bound=p.Record)

#: Ends any text the server had to shorten, so a reader knows something is missing.
CUT_MARK = " …[cut]"

# A message split in parts: "(2/3) " in front of each, so the thread reads in order.
_PART = "({index}/{count}) "

# Where a split may fall back to find a line or word break, as a share of a part.
_BREAK_WINDOW = 0.1

# Rows keep these record fields as JSON text in another column.
_JSON_COLUMNS = {
    p.OrderRecord: {"items": "items_json"},
    p.CaseRecord: {"evidence": "evidence_json"},
    p.ReplyRecord: {"keywords": "keywords_json", "actions": "actions_json"},
    p.CustomerRecord: {"tags": "tags_json"},
    p.ConversationRecord: {"tags": "tags_json"},
}
_ROW_ONLY_COLUMNS = {"delivery", "seq", "snippet", "queue_rank"}


def cut(text: str, limit: int) -> str:
    """``text`` if it fits in ``limit`` characters, else its start and :data:`CUT_MARK`."""
    if len(text) <= limit:
        return text
    if limit <= len(CUT_MARK):
        return text[:limit]
    return text[: limit - len(CUT_MARK)] + CUT_MARK


def split_text(text: str, limit: int = p.MAX_BODY_CHARS) -> list[str]:
    """``text`` as parts of at most ``limit`` characters each, numbered "(1/3) ..." when
    there is more than one; breaks fall on a line end or a space near the limit."""
    if len(text) <= limit:
        return [text]
    count = 2
    while True:
        width = limit - len(_PART.format(index=count, count=count))
        pieces = _pieces(text, width)
        if len(pieces) <= count:
            return [_PART.format(index=i, count=len(pieces)) + s for i, s in enumerate(pieces, 1)]
        count = len(pieces)


def _pieces(text: str, width: int) -> list[str]:
    pieces: list[str] = []
    start = 0
    while len(text) - start > width:
        end = start + width
        floor = end - max(int(width * _BREAK_WINDOW), 1)
        newline = text.rfind("\n", floor, end)
        space = text.rfind(" ", floor, end)
        if newline > start:
            end = newline + 1
        elif space > start:
            end = space + 1
        pieces.append(text[start:end])
        start = end
    pieces.append(text[start:])
    return pieces


def fit(model: type[R], data: Mapping[str, Any]) -> R:
    """Validate ``data`` as ``model``, cutting over-long text (with a mark) and lists
    until it fits the protocol's limits.

    Raises:
        ValueError: the data breaks a rule other than a length (a bad id, an
            unknown status): cutting cannot mend that.
    """
    fixed: Any = json.loads(json.dumps(dict(data), default=_plain))
    for _ in range(100):
        try:
            return model.model_validate(fixed, strict=False)
        except ValidationError as exc:
            errors = exc.errors()
        # A value under a union fails once per branch ("not an int", "too long"): it
        # can be mended when one of its errors is a length.
        by_place: dict[tuple[Any, ...], list[Any]] = {}
        for error in errors:
            by_place.setdefault(_place(fixed, error["loc"]), []).append(error)
        for place, found in by_place.items():
            lengths = [e for e in found if e["type"] in ("string_too_long", "too_long")]
            if not lengths:
                where = ".".join(str(part) for part in found[0]["loc"])
                raise ValueError(f"{model.__name__}: {where}: {found[0]['msg']}")
            _shorten(fixed, place, int(lengths[0]["ctx"]["max_length"]))
    raise ValueError(f"{model.__name__}: still too long after cutting")  # pragma: no cover


def _plain(value: object) -> object:
    # Times and dates as the protocol's JSON has them; validation reads them back.
    isoformat = getattr(value, "isoformat", None)
    if callable(isoformat):
        return isoformat()
    raise TypeError(f"cannot carry {type(value).__name__}")


_KEY = "[key]"


def _place(data: Any, loc: tuple[int | str, ...]) -> tuple[Any, ...]:
    """The path in ``data`` an error's location points at: the parts that are real
    keys or indexes (pydantic adds union branch names), plus ``[key]`` for a dict key."""
    path: list[Any] = []
    current = data
    for part in loc:
        if part == _KEY:
            path.append(_KEY)
            break
        in_dict = isinstance(current, dict) and part in current
        in_list = isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)
        if not (in_dict or in_list):
            continue
        current = current[part]
        path.append(part)
    return tuple(path)


def _shorten(data: Any, place: tuple[Any, ...], limit: int) -> None:
    if place and place[-1] == _KEY:
        parent = data
        for part in place[:-2]:
            parent = parent[part]
        key = place[-2]
        parent[cut(key, limit)] = parent.pop(key)
        return
    parent = data
    for part in place[:-1]:
        parent = parent[part]
    value = parent[place[-1]]
    if isinstance(value, str):
        parent[place[-1]] = cut(value, limit)
    elif isinstance(value, list):
        del value[limit:]
    elif isinstance(value, dict):
        for key in list(value)[limit:]:
            del value[key]


def record_from_row(model: type[R], row: Mapping[str, Any]) -> R:
    """A stored row as ``model``, cut to fit (see :func:`fit`): the change feed's
    fallback for a row that was written before the limits held, or around them."""
    data = {k: v for k, v in row.items() if k not in _ROW_ONLY_COLUMNS}
    for field, column in _JSON_COLUMNS.get(model, {}).items():
        data[field] = json.loads(data.pop(column, None) or "[]")
    return fit(model, data)
