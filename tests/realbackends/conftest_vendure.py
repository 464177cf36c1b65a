"""The session-wide real Vendure; import ``vendure_shop`` into ``conftest.py``.

Set-up failures skip the Vendure tests, or fail them when ``CS_REAL_BACKENDS=required``
(CI), with the failed step and the tail of its output."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.realbackends import vendure_server as vs


@pytest.fixture(scope="session")
def vendure_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[vs.VendureShop]:
    """A running Vendure 3.7 with sample products, an API key and seeded orders."""
    workdir = tmp_path_factory.mktemp("vendure")
    running = vs.running_vendure(workdir)
    try:
        shop = running.__enter__()
    except vs.SetupFailed as exc:
        if os.environ.get("CS_REAL_BACKENDS") == "required":
            pytest.fail(str(exc), pytrace=False)
        pytest.skip(str(exc))
    try:
        yield shop
    finally:
        running.__exit__(None, None, None)
