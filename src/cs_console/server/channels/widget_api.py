"""The web chat widget's public endpoint (being written)."""

from __future__ import annotations

from starlette.routing import BaseRoute

from cs_console.server.settings import ServerSettings
from cs_console.server.state import ServerState


def widget_routes(state: ServerState, settings: ServerSettings) -> list[BaseRoute]:
    """The widget's routes."""
    return []
