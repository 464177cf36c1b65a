"""Real Vendure and Medusa, started once per test session (see each *_server.py).

When Node.js or PostgreSQL is missing the real-backend tests are skipped with the
reason, except under ``CS_REAL_BACKENDS=required`` (what CI sets): then they fail and say
which step broke.
"""

from tests.realbackends.conftest_medusa import medusa_shop_fixture
from tests.realbackends.conftest_vendure import vendure_shop

__all__ = ["medusa_shop_fixture", "vendure_shop"]
