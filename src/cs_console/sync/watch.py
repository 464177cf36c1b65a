"""The change feed's long-poll, beside the sync loop: a customer's message reaches the
console within a second instead of at the next poll.

The watcher only listens; the loop still does every push and pull (one writer to the
store). It asks the backend to hold a request until something changes after the
store's cursor, then kicks the loop, and waits for the loop's pull to move the cursor
before it asks again (else it would hear the same change twice). A backend without a
long-poll (:func:`~cs_console.backends.base.live_feed` is None) gets no watcher: the
loop's interval stays the fallback, as it is for every error here.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable

from cs_console.backends.base import BackendError, LiveFeed

log = logging.getLogger(__name__)

#: How long each request is held open (the server allows 25 s).
WAIT_S = 20.0
#: How long to wait for the loop's pull to move the cursor after a change was heard.
SETTLE_S = 5.0
#: The pause after an empty answer that came at once (the server did not hold it).
QUICK_EMPTY_PAUSE_S = 3.0


class FeedWatcher:
    """Long-polls ``feed`` after ``cursor()`` and calls ``wake`` when something changed."""

    def __init__(
        self,
        feed: LiveFeed,
        cursor: Callable[[], str],
        wake: Callable[[], None],
        *,
        wait_s: float = WAIT_S,
    ) -> None:
        self.feed = feed
        self.cursor = cursor
        self.wake = wake
        self.wait_s = wait_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="feed-watcher", daemon=True)

    def start(self) -> None:
        """Begin listening in a background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop after the request in flight (a daemon thread: it never holds up exit)."""
        self._stop.set()

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            before = self.cursor()
            asked = time.monotonic()
            try:
                changed = self.feed.wait_for_change(before, self.wait_s)
                failures = 0
            except BackendError as exc:
                # The loop reports and backs off on its own; here only wait, longer
                # each time, so a server that is down is not asked in a tight loop.
                failures += 1
                log.debug("feed watcher: %s", exc)
                self._stop.wait(random.uniform(1.0, min(60.0, 2.0**failures)))
                continue
            except Exception:  # a bug must not kill the thread silently
                log.exception("feed watcher failed")
                failures += 1
                self._stop.wait(min(60.0, 2.0**failures))
                continue
            if not changed:
                # Nothing, and at once: a server that does not hold requests (an older
                # one, or one stopping). Wait as a poll would rather than ask in a loop.
                if time.monotonic() - asked < self.wait_s / 2:
                    self._stop.wait(QUICK_EMPTY_PAUSE_S)
                continue
            if self._stop.is_set():
                continue
            self.wake()
            waited = 0.0
            while self.cursor() == before and waited < SETTLE_S and not self._stop.is_set():
                self._stop.wait(0.05)
                waited += 0.05
