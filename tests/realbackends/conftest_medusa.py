"""The session's real Medusa, for tests marked ``real_backend``.

Import ``medusa_shop_fixture`` (it provides the fixture ``medusa_shop``) into a
conftest or a test module to use it. When Medusa cannot be set up, tests using it fail
with the step and its output if ``CS_REAL_BACKENDS=required``, and are skipped with
that reason otherwise.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import pytest

from tests.realbackends.medusa_server import MedusaShop, SetupFailed, running_medusa


@pytest.fixture(scope="session", name="medusa_shop")
def medusa_shop_fixture() -> Iterator[MedusaShop]:
    """A running, seeded Medusa with a secret key (stopped at the end of the session)."""
    with contextlib.ExitStack() as stack:
        failure: SetupFailed | None = None
        try:
            shop = stack.enter_context(running_medusa())
        except SetupFailed as exc:
            failure = exc
        # Outside the except block, so the report is the reason alone, not a chain.
        if failure is not None:
            if os.environ.get("CS_REAL_BACKENDS") == "required":
                pytest.fail(str(failure), pytrace=False)
            pytest.skip(str(failure))
        yield shop
