"""A bell rung after every committed write, that long-polls wait on.

Writes happen in the thread pool (and in the mail threads); the waiting requests are
coroutines on the server's event loop. Ringing hands each waiter's future back to its
own loop, so a waiter wakes within a loop turn of the commit, and nothing polls.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class FeedBell:
    """Counts writes; :meth:`wait` returns once the count passes the one a waiter saw."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = set()
        self._closed = False

    @property
    def count(self) -> int:
        """How many times the bell has rung."""
        return self._count

    @property
    def closed(self) -> bool:
        """The server is stopping: long-polls answer now instead of holding on."""
        return self._closed

    def close(self) -> None:
        """Wake every waiter and hold no one from now on: a server stopping does not
        wait out the long-polls it holds (up to 25 s each)."""
        self._closed = True
        self.ring()

    def reopen(self) -> None:
        """Hold long-polls again (a server started again over the same state)."""
        self._closed = False

    def ring(self) -> None:
        """A write was committed (callable from any thread)."""
        with self._lock:
            self._count += 1
            waiters, self._waiters = self._waiters, set()
        for loop, future in waiters:
            # A closed loop has no one waiting any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_wake, future)

    async def wait(self, seen: int, timeout: float) -> int:
        """Wait until the bell rings past ``seen`` or ``timeout`` seconds pass; returns
        the count then (equal to ``seen`` on a timeout)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        entry = (loop, future)
        with self._lock:
            if self._count != seen or self._closed:
                return self._count
            self._waiters.add(entry)
        try:
            await asyncio.wait_for(future, timeout)
        except TimeoutError:
            pass
        finally:
            with self._lock:
                self._waiters.discard(entry)
        return self._count
