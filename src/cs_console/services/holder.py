"""Who holds a store's session, asked without opening it.

Kept apart from :mod:`cs_console.services.context` because the console asks this
before its first frame (a second console is refused at once), and opening a store
imports SQLAlchemy, which that frame must not wait for.
"""

from __future__ import annotations

from cs_console.settings import Settings
from cs_console.store.errors import SessionHolder
from cs_console.store.locks import session_holder

__all__ = ["SessionHolder", "store_session"]


def store_session(settings: Settings) -> SessionHolder | None:
    """Who holds the session of ``settings``' store now (a console or a sync), or None."""
    return session_holder(settings.paths.store)
