"""One sync cycle (push the outbox in order, then pull every page) and the loop that
repeats it with backoff.

Guarantees, and where they come from:

* nothing lost: an operation exists only as an outbox row written with its local
  effect; it leaves the outbox only when the backend has answered for its key;
* nothing doubled: the key is fixed before the first attempt and every retry, after a
  timeout or a crash, carries it; the backend answers a repeated key with the first
  result;
* order kept: a transient failure stops the cycle, so nothing overtakes the entry;
* resumable: the cursor is stored right after its page is applied; a crash between
  the two only means the page is pulled again, which upserts make harmless.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cs_console import protocol as p
from cs_console.backends.base import (
    AuthFailed,
    Backend,
    BackendError,
    Refused,
    attachment_backend,
    live_feed,
)
from cs_console.store import attachments, ingest, kv, outbox
from cs_console.store.db import Database
from cs_console.sync.watch import FeedWatcher
from cs_console.timeutil import format_stored, parse_stored, utcnow
from cs_console.views import SyncStatus

log = logging.getLogger(__name__)

CURSOR = "cursor"
SERVER_ID = "server_id"
AGENT_NAME = "agent_name"
AGENT_ROLE = "agent_role"
LAST_SYNC = "last_sync_at"
LAST_ERROR = "last_error"
MAX_PAGES_PER_CYCLE = 10_000


class SyncStopped(Exception):
    """Sync cannot go on without the agent (wrong server, refused token)."""


@dataclass(slots=True)
class SyncReport:
    """What one cycle moved."""

    pushed: int = 0
    refused: int = 0
    pulled: int = 0
    pages: int = 0
    errors: list[str] = field(default_factory=list)


class SyncEngine:
    """Runs sync cycles between one store and one backend."""

    def __init__(self, db: Database, backend: Backend) -> None:
        self.db = db
        self.backend = backend
        self.online = False

    def status(self) -> SyncStatus:
        """The state the status bar shows."""
        last = kv.get_state(self.db, LAST_SYNC)
        return SyncStatus(
            online=self.online,
            last_sync_at=parse_stored(last) if last else None,
            outbox_depth=outbox.depth(self.db),
            last_error=kv.get_state(self.db, LAST_ERROR),
            agent_name=kv.get_state(self.db, AGENT_NAME),
        )

    def identify(self) -> None:
        """Learn who we are on which server; refuse a store that belongs to another server."""
        me = self.backend.me()
        known = kv.get_state(self.db, SERVER_ID)
        if known is not None and known != me.server_id:
            raise SyncStopped(
                "this store was synced with a different server; use another --home for it"
            )
        kv.set_state(
            self.db,
            {SERVER_ID: me.server_id, AGENT_NAME: me.agent.name, AGENT_ROLE: me.agent.role.value},
        )

    def cursor(self) -> str:
        """Where the last pull stopped in the backend's feed ("" before the first)."""
        return kv.get_state(self.db, CURSOR) or ""

    def run_once(self) -> SyncReport:
        """Push what is ready, then pull until the backend has nothing more.

        Raises :class:`BackendError` (after recording it) when the cycle could not finish.
        """
        report = SyncReport()
        try:
            if kv.get_state(self.db, SERVER_ID) is None:
                self.identify()
            self._push(report)
            self._pull(report)
        except AuthFailed as exc:
            self.record_error(str(exc))
            raise
        except BackendError as exc:
            self.record_error(str(exc))
            raise
        self.online = True
        # A backend of two systems may have got the chats but not the orders: say so.
        degraded = getattr(self.backend, "degraded", None)
        kv.set_state(
            self.db,
            {
                LAST_SYNC: format_stored(utcnow()),
                LAST_ERROR: degraded if isinstance(degraded, str) else None,
            },
        )
        return report

    def record_error(self, message: str) -> None:
        """Note that the link is down and why (shown in the status bar)."""
        self.online = False
        kv.set_state(self.db, {LAST_ERROR: message})

    def _push(self, report: SyncReport) -> None:
        while True:
            batch = outbox.ready(self.db)
            if not batch:
                return
            for entry in batch:
                if not outbox.begin_attempt(self.db, entry.key):
                    continue  # undone meanwhile
                try:
                    self._upload_files(entry)
                    result = self.backend.push(entry.key, entry.operation)
                except Refused as exc:
                    outbox.fail(self.db, entry, str(exc), permanent=True)
                    report.refused += 1
                    report.errors.append(str(exc))
                    continue
                except BackendError as exc:
                    outbox.fail(self.db, entry, str(exc), permanent=False)
                    raise
                remote_id = result.result.get("message_id")
                outbox.complete(
                    self.db, entry, remote_id=remote_id if isinstance(remote_id, str) else None
                )
                report.pushed += 1

    def _upload_files(self, entry: outbox.ReadyEntry) -> None:
        """The files a message sends go up before it, every attempt: an upload is safe
        to repeat (the backend keeps one file per id), so a crash between the two only
        means the same bytes go up again under the same id.

        Raises:
            Refused: the backend takes no files, or the copy the outbox owned is gone.
        """
        op = entry.operation
        if not isinstance(op, p.SendMessage) or not op.attachments:
            return
        files = attachment_backend(self.backend)
        if files is None:
            raise Refused(f"{self.backend.name} cannot take photos or files", status=422)
        for ref in op.attachments:
            where = attachments.find(self.db, ref.id)
            path = where.local_path if where is not None else None
            try:
                if path is None:
                    raise OSError("no local copy")
                data = Path(path).read_bytes()
            except OSError:
                raise Refused(f"the copy of {ref.file_name} to send is gone", status=404) from None
            files.upload(entry.key, ref, data)

    def _pull(self, report: SyncReport) -> None:
        cursor = kv.get_state(self.db, CURSOR) or ""
        for _ in range(MAX_PAGES_PER_CYCLE):
            page = self.backend.pull(cursor)
            known = kv.get_state(self.db, SERVER_ID)
            if known is not None and page.server_id != known:
                raise SyncStopped("the server changed identity; this store belongs to another one")
            ingest.apply_page(self.db, page)
            report.pulled += page.count()
            report.pages += 1
            if page.cursor != cursor:
                cursor = page.cursor
                kv.set_state(self.db, {CURSOR: cursor})
            if not page.has_more:
                return


class SyncLoop:
    """Repeats sync cycles in a thread: every ``interval`` seconds, at once when kicked,
    backing off with jitter while the backend is unreachable."""

    def __init__(
        self,
        engine: SyncEngine,
        *,
        interval: float = 3.0,
        max_backoff: float = 60.0,
        on_change: Callable[[SyncStatus, SyncReport | None], None] | None = None,
        live: bool = False,
    ) -> None:
        self.engine = engine
        feed = live_feed(engine.backend) if live else None
        #: Long-polls the feed beside the loop, kicking it at each change (see watch.py).
        self.watcher = FeedWatcher(feed, engine.cursor, self.kick) if feed is not None else None
        self.interval = interval
        self.max_backoff = max_backoff
        self.on_change = on_change
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._failures = 0
        self.paused_reason: str | None = None

    def kick(self) -> None:
        """Run a cycle now (after the agent queued something)."""
        self._wake.set()

    def stop(self) -> None:
        """Finish the current cycle and stop."""
        self._stop.set()
        self._wake.set()
        if self.watcher is not None:
            self.watcher.stop()

    def next_delay(self, retry_after: float | None) -> float:
        """Seconds until the next cycle: the interval, or exponential backoff with full
        jitter after failures, never less than the server's Retry-After."""
        if self._failures == 0:
            delay = self.interval
        else:
            ceiling = min(self.max_backoff, self.interval * 2 ** min(self._failures, 10))
            delay = random.uniform(self.interval / 2, ceiling)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return delay

    def run(self) -> None:
        """The loop; returns when stopped or when sync cannot go on by itself."""
        if self.watcher is not None and not self._stop.is_set():
            self.watcher.start()
        try:
            self._loop()
        finally:
            if self.watcher is not None:
                self.watcher.stop()

    def _loop(self) -> None:
        while not self._stop.is_set():
            retry_after: float | None = None
            report: SyncReport | None = None
            try:
                report = self.engine.run_once()
                self._failures = 0
            except SyncStopped as exc:
                self.paused_reason = str(exc)
                self.engine.record_error(str(exc))
                self._notify(None)
                return
            except AuthFailed:
                # A refused token will not heal by retrying fast: wait the longest.
                self._failures = 10
            except BackendError as exc:
                self._failures += 1
                retry_after = exc.retry_after
            except Exception as exc:  # a bug must not kill sync silently
                log.exception("sync cycle failed")
                self._failures += 1
                self.engine.record_error(f"internal error: {type(exc).__name__}")
            self._notify(report)
            self._wake.wait(self.next_delay(retry_after))
            self._wake.clear()

    def _notify(self, report: SyncReport | None) -> None:
        if self.on_change is not None:
            try:
                self.on_change(self.engine.status(), report)
            except Exception:
                log.exception("sync status listener failed")
