"""A quick reply, as the library holds it: immutable, hashable values.

:class:`QuickReply` is one checked reply with the :class:`ReplyAction` list it runs
when sent; :class:`PublishedLayer` is the shop's replies as sync stored them, a layer
of the library that is not a folder. :mod:`cs_console.replies.library` reads and
layers them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass


class _FrozenParams(Mapping[str, str | int]):
    """A read-only, hashable mapping, so replies can live in sets and as dict keys."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, str | int]) -> None:
        self._items = dict(items)

    def __getitem__(self, key: str) -> str | int:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._items.items(), key=lambda item: item[0])))

    def __repr__(self) -> str:
        return repr(self._items)


@dataclass(frozen=True, slots=True)
class ReplyAction:
    """Something applied when the reply is sent: ``set_status``, ``add_remark``,
    ``open_case`` or ``transfer``, with the README's parameters."""

    kind: str
    params: Mapping[str, str | int]

    def __post_init__(self) -> None:
        if not isinstance(self.params, _FrozenParams):
            object.__setattr__(self, "params", _FrozenParams(self.params))


@dataclass(frozen=True, slots=True)
class QuickReply:
    """One canned reply. ``hotkey`` is the binding in effect after layering.

    ``source`` and ``line`` say where it was read from (the ``[[reply]]`` header).
    """

    id: str
    language: str
    group: str
    title: str
    body: str
    keywords: tuple[str, ...]
    scenario: str
    audience: str
    hotkey: str | None
    actions: tuple[ReplyAction, ...]
    source: str
    line: int


@dataclass(frozen=True, slots=True)
class PublishedReply:
    """One reply the shop published, as the ``[[reply]]`` table of ``language/group``."""

    language: str
    group: str
    table: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class PublishedLayer:
    """A library layer that is not a folder: the shop's replies as sync stored them.

    ``source`` names it in issues and in each reply's ``source`` (its line is 0).
    """

    source: str
    replies: tuple[PublishedReply, ...]
