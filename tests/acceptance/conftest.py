"""Fixtures of the acceptance suite: the demo shop, and the interface language put back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cs_console.i18n import set_language
from tests.acceptance.shop import DemoShop, demo_shop


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[DemoShop]:
    """The demo shop on a free loopback port, Mei's handover from the previous shift in it."""
    with demo_shop(tmp_path) as running:
        yield running


@pytest.fixture(autouse=True)
def english_afterwards() -> Iterator[None]:
    """Chinese walks switch the process's interface language: switch it back for the
    tests that run after them."""
    yield
    set_language("en")
