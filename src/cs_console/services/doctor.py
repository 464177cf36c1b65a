"""``cs-console doctor``: is this machine ready for a shift, and if not, what to do.

Every check answers in plain words with the fix, so an agent (or whoever set the
console up) can act on it without reading a traceback. Checks never change anything:
the store is opened read-only, and the backends are asked who we are and for the page
of changes this console would pull next (read, never applied).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from cs_console.backends.base import ABILITIES, Backend, BackendError
from cs_console.settings import Settings, SettingsError, load_settings


class Verdict(StrEnum):
    """How a check came out."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the doctor's report."""

    name: str
    verdict: Verdict
    detail: str
    fix: str = ""


def run_checks(
    home: Path | None,
    env: Mapping[str, str] | None = None,
    *,
    server_config: Path | None = None,
) -> Iterator[Check]:
    """Each check in turn (a generator, so the CLI prints each as it is done).

    The reference server's settings (``server_config``, else ``server.toml`` in the
    home when there is one) add the checks of its customer channels: the mailbox's
    IMAP and SMTP connections.
    """
    env = os.environ if env is None else env
    try:
        settings = load_settings(home=home, env=env)
    except SettingsError as exc:
        yield Check(
            "config",
            Verdict.FAIL,
            str(exc),
            "fix the file or variable named above; `cs-console config validate` re-checks",
        )
        yield from _server_channels(home, server_config)
        return
    config_file = settings.paths.config_file
    if config_file.exists():
        yield Check("config", Verdict.OK, f"{config_file} is valid")
    else:
        yield Check(
            "config",
            Verdict.OK,
            f"no {config_file}: defaults and the environment",
            "`cs-console config init` writes a commented one",
        )
    yield _python()
    yield _sqlite()
    yield from _store(settings)
    yield from _backends(settings)
    yield _terminal(env)
    yield from _server_channels(home, server_config)


def _server_channels(home: Path | None, server_config: Path | None) -> Iterator[Check]:
    from cs_console.paths import Paths
    from cs_console.server.settings import ServerSettingsError, load_server_settings

    path = server_config or Paths.discover(home).home / "server.toml"
    if server_config is None and not path.exists():
        return  # no reference server on this machine (or not configured): nothing to check
    try:
        settings = load_server_settings(path, required=True)
    except ServerSettingsError as exc:
        yield Check("server.toml", Verdict.FAIL, str(exc), "fix the value named above")
        return
    yield Check("server.toml", Verdict.OK, f"{path} is valid")
    if not settings.channels.email.enabled:
        return
    from cs_console.server.channels.email_channel import check_email

    for name, ok, detail in check_email(settings):
        yield Check(
            name,
            Verdict.OK if ok else Verdict.FAIL,
            detail,
            "" if ok else "check [channels.email] in " + str(path),
        )


def _python() -> Check:
    # The package needs 3.11 to install at all; say which one runs, for bug reports.
    version = ".".join(str(part) for part in sys.version_info[:3])
    return Check("python", Verdict.OK, f"Python {version} at {sys.executable}")


def _sqlite() -> Check:
    version = sqlite3.sqlite_version
    detail = f"SQLite {version}"
    if tuple(int(x) for x in version.split(".")[:3]) < (3, 51, 3):
        # The WAL-reset bug: harmless here because one process writes (the lock file).
        detail += " (older than 3.51.3: one console writes the store at a time)"
    return Check("sqlite", Verdict.OK, detail)


def _store(settings: Settings) -> Iterator[Check]:
    from cs_console.services.context import StoreError, open_context
    from cs_console.store import outbox
    from cs_console.store.migrations import LATEST_VERSION

    path = settings.paths.store
    if not path.exists():
        yield Check(
            "store",
            Verdict.WARN,
            f"no store yet at {path}",
            "it is made at the first start; run `cs-console` or `cs-console sync --once`",
        )
        return
    try:
        ctx = open_context(settings, writer=False)
    except StoreError as exc:
        yield Check("store", Verdict.FAIL, str(exc), "see docs/RELIABILITY.md, 'A damaged store'")
        return
    try:
        version = ctx.db.schema_version
        size_mb = path.stat().st_size / 1e6
        detail = f"{path} ({size_mb:.1f} MB, schema v{version}, quick_check ok)"
        if version < LATEST_VERSION:
            yield Check(
                "store",
                Verdict.WARN,
                detail,
                "start the console once to upgrade it (a second console holds the lock?)",
            )
        else:
            yield Check("store", Verdict.OK, detail)
        states = [row.state for row in outbox.entries(ctx.db)]
        failed = states.count("failed")
        waiting = len(states) - failed
        if failed:
            yield Check(
                "outbox",
                Verdict.WARN,
                f"{failed} operation(s) refused by the backend, {waiting} not yet delivered",
                "`cs-console outbox` shows them with the backend's reason",
            )
        else:
            yield Check("outbox", Verdict.OK, f"{waiting} waiting to be sent")
    finally:
        ctx.close()


def _backends(settings: Settings) -> Iterator[Check]:
    from cs_console.services import sync

    if not settings.backend.url:
        yield Check(
            "backend",
            Verdict.WARN,
            "no backend configured: the console works offline on its store",
            "set CS_CONSOLE_BACKEND_URL and a token, or try `cs-console demo`",
        )
        return
    try:
        backend = sync.backend_for(settings)
    except SettingsError as exc:
        yield Check("backend", Verdict.FAIL, str(exc), "see `cs-console config init` for keys")
        return
    try:
        answered = True
        server_id = ""
        for name, source in _sources(backend):
            started = time.perf_counter()
            try:
                me = source.me()
            except BackendError as exc:
                answered = False
                yield Check(name, Verdict.FAIL, f"{source.name}: {exc}", _fix_for(exc))
                continue
            server_id = server_id or me.server_id
            elapsed = (time.perf_counter() - started) * 1000
            yield Check(
                name,
                Verdict.OK,
                f"{source.name} answers in {elapsed:.0f} ms; you are {me.agent.name} "
                f"({me.agent.role.value}) on {me.server_id}",
            )
        if answered:
            # Who we are is no proof that sync works: one row the backend cannot serve
            # stops every console's pull while /me still answers.
            yield _change_feed(backend, settings, server_id)
        missing = [
            backend.capabilities.reason(ability, backend.name) or ability
            for ability in ABILITIES
            if not getattr(backend.capabilities, ability)
        ]
        if missing:
            yield Check(
                "capabilities",
                Verdict.WARN,
                "; ".join(missing),
                "the console greys these out and says why",
            )
        else:
            yield Check("capabilities", Verdict.OK, "everything the console offers")
    finally:
        backend.close()


def _change_feed(backend: Backend, settings: Settings, server_id: str) -> Check:
    """Pull the page this console would pull next (from the start without a store)."""
    from cs_console import protocol as p

    cursor = _stored_cursor(settings, server_id)
    where = "from where this console stands" if cursor else "from the start"
    started = time.perf_counter()
    try:
        page = backend.pull(cursor, p.DEFAULT_PAGE)
    except BackendError as exc:
        return Check(
            "changes",
            Verdict.FAIL,
            f"the change feed fails {where}: {exc}",
            "sync is stuck until the backend serves this page: tell whoever runs it (its "
            "log names the row); replies stay queued in the outbox meanwhile",
        )
    elapsed = (time.perf_counter() - started) * 1000
    more = ", more to come" if page.has_more else ""
    return Check(
        "changes",
        Verdict.OK,
        f"the next page {where}: {page.count()} record(s) in {elapsed:.0f} ms{more}",
    )


def _stored_cursor(settings: Settings, server_id: str) -> str:
    """The store's sync cursor, if the store belongs to this backend; else ""."""
    from cs_console.services.context import StoreError, open_context
    from cs_console.store import kv
    from cs_console.sync.engine import CURSOR, SERVER_ID

    if not settings.paths.store.exists():
        return ""
    try:
        ctx = open_context(settings, writer=False)
    except StoreError:
        return ""  # the store check above says what is wrong with it
    try:
        if kv.get_state(ctx.db, SERVER_ID) not in (None, server_id):
            return ""
        return kv.get_state(ctx.db, CURSOR) or ""
    finally:
        ctx.close()


def _sources(backend: Backend) -> list[tuple[str, Backend]]:
    conversations = getattr(backend, "conversations", None)
    orders = getattr(backend, "orders", None)
    if conversations is None:
        return [("backend", backend)]
    found: list[tuple[str, Backend]] = [("conversations", conversations)]
    if orders is not None:
        found.append(("orders", orders))
    return found


def _fix_for(exc: BackendError) -> str:
    from cs_console.backends.base import AuthFailed, Refused

    if isinstance(exc, AuthFailed):
        return "the token or API key was refused: ask for a new one and set it again"
    if isinstance(exc, Refused):
        return "the backend refuses this account; check its role and the URL"
    return "check the URL, that the backend is running, and the network (proxy, VPN)"


def _terminal(env: Mapping[str, str]) -> Check:
    term = env.get("TERM", "")
    columns, lines = shutil.get_terminal_size((0, 0))
    parts = [f"TERM={term or '(unset)'}"]
    if env.get("COLORTERM"):
        parts.append(f"COLORTERM={env['COLORTERM']}")
    if env.get("NO_COLOR"):
        parts.append("NO_COLOR set: no colours")
    if env.get("TMUX"):
        parts.append("in tmux")
    elif term.startswith("screen"):
        parts.append("in screen")
    if columns:
        parts.append(f"{columns}x{lines}")
    encoding = (sys.stdout.encoding or "").lower()
    if encoding and encoding.replace("-", "") != "utf8":
        return Check(
            "terminal",
            Verdict.WARN,
            ", ".join(parts) + f", output encoding {encoding}",
            "use a UTF-8 locale (e.g. LANG=C.UTF-8) or Chinese and symbols will not show",
        )
    if columns and (columns < 80 or lines < 24):
        return Check(
            "terminal",
            Verdict.WARN,
            ", ".join(parts),
            "80x24 is the smallest size the console is laid out for",
        )
    if term in ("", "dumb"):
        return Check("terminal", Verdict.WARN, ", ".join(parts), "set TERM=xterm-256color")
    return Check("terminal", Verdict.OK, ", ".join(parts))
