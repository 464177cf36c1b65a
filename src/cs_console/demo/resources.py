"""Reading the demo's data files, which ship inside the package (and so in the wheel).

Nothing is read at import time: the public tables are :class:`LazyMapping` views that
load their file on first use and keep it for the life of the process.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Callable, Iterator, Mapping
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class DemoDataError(ValueError):
    """A demo data file is missing, is not TOML, or does not say what it must."""


def _package() -> Traversable:
    return files("cs_console.demo")


def read_toml(name: str) -> tuple[str, dict[str, Any]]:
    """Parse the package file ``name`` (e.g. ``"shop.toml"``); return its name and content.

    Raises:
        DemoDataError: the file is missing or is not valid TOML.
    """
    return _parse(name, _package().joinpath(name))


def read_toml_folder(folder: str) -> list[tuple[str, dict[str, Any]]]:
    """Parse every ``*.toml`` file in the package folder ``folder``, by file name.

    Raises:
        DemoDataError: a file is not valid TOML.
    """
    entries = [e for e in _package().joinpath(folder).iterdir() if e.name.endswith(".toml")]
    return [_parse(f"{folder}/{e.name}", e) for e in sorted(entries, key=lambda e: e.name)]


def _parse(label: str, entry: Traversable) -> tuple[str, dict[str, Any]]:
    try:
        return label, tomllib.loads(entry.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise DemoDataError(f"{label}: {error}") from error


class LazyMapping(Mapping[K, V]):
    """A read-only mapping filled by ``load`` the first time it is looked at."""

    def __init__(self, load: Callable[[], Mapping[K, V]]) -> None:
        self._load = functools.cache(load)

    def __getitem__(self, key: K) -> V:
        return self._load()[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())

    def __repr__(self) -> str:
        return f"LazyMapping({dict(self._load())!r})"


class Fields:
    """The keys of one TOML table, read with their types checked.

    Every read key is remembered so :meth:`done` can refuse a misspelt one, which
    would otherwise be silently ignored and leave a story quietly different.
    """

    def __init__(self, where: str, table: object) -> None:
        if not isinstance(table, dict):
            raise DemoDataError(f"{where}: expected a table, found {type(table).__name__}")
        self.where = where
        self._table: dict[str, Any] = table
        self._read: set[str] = set()

    def fail(self, message: str) -> DemoDataError:
        """An error naming this table."""
        return DemoDataError(f"{self.where}: {message}")

    def _get(self, key: str, kind: type | tuple[type, ...], name: str) -> Any:
        self._read.add(key)
        value = self._table.get(key)
        # bool is an int in Python; TOML keeps them apart, and so do we.
        if value is not None and (
            not isinstance(value, kind) or (isinstance(value, bool) and kind is int)
        ):
            raise self.fail(f"{key} must be {name}, found {value!r}")
        return value

    def text(self, key: str) -> str:
        """A required string."""
        value = self.maybe_text(key)
        if value is None:
            raise self.fail(f"{key} is missing")
        return value

    def maybe_text(self, key: str) -> str | None:
        """An optional string."""
        value: str | None = self._get(key, str, "a string")
        return value

    def number(self, key: str) -> int:
        """A required integer."""
        value: int | None = self._get(key, int, "an integer")
        if value is None:
            raise self.fail(f"{key} is missing")
        return value

    def flag(self, key: str) -> bool:
        """An optional boolean, false when absent."""
        value: bool | None = self._get(key, bool, "true or false")
        return bool(value)

    def items(self, key: str) -> list[Any]:
        """An optional array, empty when absent."""
        value: list[Any] | None = self._get(key, list, "an array")
        return [] if value is None else value

    def table(self, key: str) -> dict[str, Any]:
        """An optional table, empty when absent."""
        value: dict[str, Any] | None = self._get(key, dict, "a table")
        return {} if value is None else value

    def done(self) -> None:
        """Refuse keys that were never read: a typo, or a field the format lacks."""
        unknown = sorted(set(self._table) - self._read)
        if unknown:
            raise self.fail(f"unknown key {', '.join(unknown)}")
