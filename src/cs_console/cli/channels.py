"""``cs-console widget ...``: the web chat widget's keys and the shop's signed identities
(being written)."""

from __future__ import annotations

from cs_console.cli.common import Grammar


def register(grammar: Grammar) -> None:
    """Add ``widget``."""
