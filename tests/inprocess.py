"""The reference server in the test's own process: the same ASGI app and state as
``LiveServer``, reached through an httpx transport instead of a socket.

UI tests that are not about HTTP use it: no uvicorn thread, no port, no wait for the
server to come up, and a stopped server is a refused connection at once. The client
side is the real ``ReferenceBackend`` (only its transport differs), so requests,
JSON, auth and error mapping are the same code paths as against ``cs-console serve``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from datetime import datetime

import anyio.from_thread
import httpx

from cs_console.backends.base import Backend
from cs_console.backends.reference import ReferenceBackend
from cs_console.server.app import create_app
from cs_console.server.settings import ServerSettings
from cs_console.server.state import ServerState
from cs_console.services.backends import DEFAULT_BACKENDS, BackendRegistry
from cs_console.services.session import Session
from cs_console.settings import Settings
from cs_console.timeutil import utcnow


class _ServerDown(httpx.ConnectError):
    pass


class InProcessTransport(httpx.BaseTransport):
    """Runs each request through an ASGI app on a private event loop thread."""

    def __init__(self, server: InProcessServer) -> None:
        self._server = server

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not self._server.running:
            raise _ServerDown("the in-process server is stopped", request=request)
        return self._server.call(request)


class InProcessServer:
    """A reference server without a socket; ``stop()`` and ``start()`` like LiveServer."""

    url = "http://127.0.0.1:9"  # never dialled: the transport answers

    def __init__(self, state: ServerState, settings: ServerSettings | None = None) -> None:
        self.state = state
        self.running = False
        self._asgi = httpx.ASGITransport(app=create_app(state, settings))
        self._portal_cm: contextlib.AbstractContextManager[anyio.from_thread.BlockingPortal]
        self._portal: anyio.from_thread.BlockingPortal | None = None
        self._lock = threading.Lock()

    def start(self) -> InProcessServer:
        """Accept requests (again)."""
        self.state.bell.reopen()
        with self._lock:
            if self._portal is None:
                self._portal_cm = anyio.from_thread.start_blocking_portal()
                self._portal = self._portal_cm.__enter__()
            self.running = True
        return self

    def stop(self) -> None:
        """Refuse requests, as a server that went away does."""
        self.running = False

    def close(self) -> None:
        """Stop, and end the event loop thread (long-polls in flight answer first)."""
        self.state.bell.close()
        with self._lock:
            self.running = False
            if self._portal is not None:
                self._portal_cm.__exit__(None, None, None)
                self._portal = None

    def call(self, request: httpx.Request) -> httpx.Response:
        """Answer ``request`` through the app (from any thread)."""
        portal = self._portal
        if portal is None:
            raise _ServerDown("the in-process server is closed", request=request)

        async def answer() -> httpx.Response:
            response = await self._asgi.handle_async_request(request)
            body = await response.aread()
            return httpx.Response(
                response.status_code, headers=response.headers, content=body, request=request
            )

        return portal.call(answer)

    def backend(self, settings: Settings) -> Backend:
        """The real client, on this server's transport."""
        assert settings.token is not None, "no token in the settings"
        return ReferenceBackend(
            settings.backend.url or self.url, settings.token, transport=InProcessTransport(self)
        )

    @property
    def backends(self) -> BackendRegistry:
        """The shipped registry with the reference backend reaching this server."""
        return DEFAULT_BACKENDS.with_conversations("reference", self.backend)

    def session(self, settings: Settings, *, clock: Callable[[], datetime] = utcnow) -> Session:
        """A session whose backend is this server."""
        return Session(settings, backends=self.backends, clock=clock)


@contextlib.contextmanager
def in_process(state: ServerState) -> Iterator[InProcessServer]:
    """An in-process server for the ``with`` block."""
    server = InProcessServer(state).start()
    try:
        yield server
    finally:
        server.close()
