"""Starting the console: against the configured backend, or against a demo shop that
runs in a background process for as long as the console does."""

from __future__ import annotations

import contextlib
import gc
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cs_console.paths import Paths, default_home, resolve_home
from cs_console.secret import Secret
from cs_console.settings import Settings, SettingsError

DEMO_START_TIMEOUT_S = 60.0


def run_console(settings: Settings) -> int:
    """Run the TUI until the agent quits; refuse at once if a console has the store."""
    from cs_console.i18n import set_language
    from cs_console.services.holder import store_session

    holder = store_session(settings)
    if holder is not None and holder.kind == "console":
        _refuse_second_console(settings.paths.store, holder.pid)
        return 2
    set_language(settings.ui_language)
    from cs_console.services.session import Session
    from cs_console.ui.app import make_app

    app = make_app(Session(settings))
    with collector_held_off():
        app.run()
    return app.return_code or 0  # 1 after an unexpected error (the log says where)


@contextmanager
def collector_held_off() -> Iterator[None]:
    """Run the console with Python's cyclic garbage collector off until the app turns
    it back on (``ConsoleApp.open_store``, once the store is open and what start-up
    built is frozen out of its view).

    Its passes over the tens of thousands of objects start-up allocates cost about
    150 ms before the first frame (bench/RESULTS.md). Nothing is lost meanwhile:
    reference counting still frees everything that is not in a cycle. Back on however
    the app ends.
    """
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _refuse_second_console(store: Path, pid: str) -> None:
    print(
        f"cs-console: another console (pid {pid}) has the store {store} open; switch to it, "
        "or give this one its own --home. Commands such as `cs-console reply` and "
        "`cs-console conversations` work beside it.",
        file=sys.stderr,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class DemoServer:
    """``cs-console serve --demo`` in a child process on a free loopback port."""

    def __init__(self, home: Path, *, rate: float) -> None:
        self.home = home
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.tokens_file = home / "demo-tokens.json"
        self.log_path = home / "demo-server.log"
        self.tokens_file.unlink(missing_ok=True)
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [
                sys.executable,
                "-m",
                "cs_console",
                "--home",
                str(home / "server"),
                "serve",
                "--demo",
                "--port",
                str(self.port),
                "--rate",
                str(rate),
                "--tokens-file",
                str(self.tokens_file),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl+C in the TUI must not reach the server first
        )
        log.close()

    def wait_token(self, agent: str) -> Secret:
        """Block until the server answers and has written the tokens; the agent's token."""
        deadline = time.monotonic() + DEMO_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SettingsError(f"the demo server stopped; see {self.log_path}")
            if self.tokens_file.exists():
                try:
                    with urllib.request.urlopen(self.url + "/health", timeout=1) as response:  # noqa: S310
                        if response.status == 200:
                            break
                except OSError:
                    pass
            time.sleep(0.05)
        else:
            raise SettingsError(f"the demo server did not start in time; see {self.log_path}")
        tokens = json.loads(self.tokens_file.read_text(encoding="utf-8"))
        for entry in tokens:
            if entry["name"].lower() == agent.lower():
                return Secret(entry["token"])
        names = ", ".join(e["name"] for e in tokens)
        raise SettingsError(f"no demo agent named {agent}; choose one of {names}")

    def stop(self) -> None:
        """Stop the server process."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()


@dataclass(frozen=True, slots=True)
class DemoHome:
    """Where ``cs-console demo`` keeps its shop (server) and the console's store (client)."""

    root: Path

    @property
    def client(self) -> Path:
        """The console's home: its store, drafts."""
        return self.root / "client"

    @property
    def server(self) -> Path:
        """The demo shop server's home: its database."""
        return self.root / "server"

    @property
    def agent_file(self) -> Path:
        """Names the demo agent whose store ``client`` is."""
        return self.root / "agent"

    def holds_data(self) -> tuple[bool, bool]:
        """Whether a client store and a server database are there."""
        return Paths(self.client).store.exists(), Paths(self.server).server_database.exists()

    def last_agent(self) -> str | None:
        """The demo agent the kept client store belongs to, if known."""
        try:
            return self.agent_file.read_text(encoding="utf-8").strip() or None
        except (OSError, UnicodeDecodeError):
            return None


def demo_home(home: Path | None) -> DemoHome:
    """The demo's folder: ``demo`` in the home (beside, never inside, a real store)."""
    return DemoHome((resolve_home(home) or default_home()) / "demo")


def demo_agents() -> tuple[str, ...]:
    """The agents of the demo shop."""
    from cs_console.demo.stories import HAO, JUN, LAN, MEI, SOFIA

    return (LAN, JUN, MEI, HAO, SOFIA)


def demo_agent(home: Path | None, asked: str | None) -> str:
    """Who to be in the demo: ``asked``, else the config's ``[agent] name`` when it is
    a demo agent, else Lan. The spelling of the demo's own list wins.

    Raises:
        SettingsError: ``asked`` is not a demo agent, or the config has a bad value.
    """
    agents = demo_agents()
    by_name = {name.lower(): name for name in agents}
    if asked:
        found = by_name.get(asked.strip().lower())
        if found is None:
            raise SettingsError(f"no demo agent named {asked}; choose one of {', '.join(agents)}")
        return found
    configured = _own_config(home).agent.name
    return by_name.get((configured or "").strip().lower(), agents[0])


def _own_config(home: Path | None) -> Settings:
    """The agent's own config file and environment, read without touching any token
    (the demo needs none, and a keyring may ask for a password)."""
    from cs_console.config_reader import read_config

    paths = Paths.discover(home)
    loaded = read_config(paths.config_file, os.environ, paths.ui_state_file)
    return loaded.settings(paths)


def demo_settings(home: Path | None, agent: str) -> Settings:
    """The console's settings in the demo: the agent's own config (language, theme,
    keymap, timers; user themes and quick replies from its folder), with the demo's
    store, and the demo shop in place of the backend, order system and shop.

    Raises:
        SettingsError: the config file or the environment has a bad value.
    """
    from cs_console.demo.stories import CURRENCY, RETURN_ADDRESS, SHOP_NAME

    own = _own_config(home)
    defaults = Settings(paths=own.paths)
    # The agent keeps their own sections (agent language, timers, ui, keymap); the
    # backend, order system and shop are the demo's, and its store its own. The backend's
    # address and token arrive when the demo server is up.
    return own.model_copy(
        update={
            "paths": Paths(demo_home(home).client, own.paths.config_dir),
            "agent": defaults.agent.model_copy(
                update={
                    "name": agent,
                    "language": own.agent.language,
                    "timezone": own.agent.timezone,
                }
            ),
            "backend": defaults.backend,
            "orders": defaults.orders,
            "token": None,
            "orders_token": None,
            "shop": defaults.shop.model_copy(
                update={"name": SHOP_NAME, "return_address": RETURN_ADDRESS, "currency": CURRENCY}
            ),
            "flags": defaults.flags,
            # The demo's agent starts online, so the demo shop's server hands her work.
            "shift": own.shift.model_copy(update={"online_at_start": True}),
        }
    )


def prepare_demo_home(home: Path | None, *, fresh: bool, agent: str) -> tuple[DemoHome, list[str]]:
    """Keep the last demo's shop and store, or wipe both; what was done, in words.

    The client store and the server database are kept or wiped together: a store synced
    from another server would be refused by sync. A store kept for another demo agent
    is replaced (its outbox would otherwise go out under the new agent's name).

    Raises:
        SettingsError: a console is running on the demo's store.
    """
    demo = demo_home(home)
    from cs_console.services.holder import store_session

    holder = store_session(Settings(paths=Paths(demo.client)))
    if holder is not None:
        raise SettingsError(
            f"the demo is already running (pid {holder.pid}); switch to it, or quit it first"
        )
    has_client, has_server = demo.holds_data()
    notes: list[str] = []
    if not (has_client or has_server):
        notes.append(f"a new demo shop in {demo.root}")
    elif fresh:
        _wipe(demo.root)
        notes.append(f"wiped the last demo in {demo.root} (--fresh); a new demo shop starts")
    elif not has_server:
        _wipe(demo.root)
        notes.append(f"the demo in {demo.root} had no shop data left; a new demo shop starts")
    else:
        notes.append(f"the demo shop kept in {demo.root} goes on (--fresh starts over)")
        last = demo.last_agent()
        if has_client and last is not None and last != agent:
            shutil.rmtree(demo.client)
            notes.append(
                f"{agent}'s console starts from the shop's data ({last}'s store was wiped: "
                f"what it had queued must not go out under {agent}'s name)"
            )
    demo.root.mkdir(parents=True, exist_ok=True)
    demo.agent_file.write_text(agent + "\n", encoding="utf-8")
    return demo, notes


def _wipe(root: Path) -> None:
    if root.exists():
        shutil.rmtree(root)


def run_demo(
    home: Path | None, *, fresh: bool = False, rate: float, agent: str | None = None
) -> int:
    """Start the demo shop, run the console against it as ``agent``, stop the shop."""
    who = demo_agent(home, agent)
    settings = demo_settings(home, who)
    demo, notes = prepare_demo_home(home, fresh=fresh, agent=who)
    for note in notes:
        print(f"cs-console demo: {note}", file=sys.stderr)
    hint = "" if home is None else f" --home {shlex.quote(str(home))}"
    print(
        f"cs-console demo: its store is {settings.paths.store}; the command line reaches it "
        f"with --demo, e.g. `cs-console conversations --demo{hint}`",
        file=sys.stderr,
    )
    server = DemoServer(demo.root, rate=rate)
    page = f"{server.url}/widget/demo"
    print(
        f"cs-console demo: the shop's page with its chat widget is {page}: write there as a "
        "customer and answer in the console",
        file=sys.stderr,
    )
    _open_in_a_browser(page)
    try:
        from cs_console.i18n import set_language

        set_language(settings.ui_language)
        from cs_console.services.session import Session
        from cs_console.ui.app import make_app

        def connect() -> Settings:
            return settings.with_backend(server.url, server.wait_token(who))

        _stop_with_the_terminal(server)
        app = make_app(Session(settings, connect=connect), demo=True)
        with collector_held_off():
            app.run()
    finally:
        server.stop()
    return app.return_code or 0


def _open_in_a_browser(url: str) -> None:
    """Open ``url`` in the desktop's browser if this machine has a desktop, once the
    server answers. The opener's output goes nowhere: the console is drawing in this
    terminal by then. No desktop (an SSH session, CI): the printed address is enough.
    """
    if os.environ.get("CS_CONSOLE_NO_BROWSER"):
        return
    if sys.platform == "darwin":
        opener = ["open", url]
    elif sys.platform.startswith("linux") and (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        opener = ["xdg-open", url]
    else:
        return
    if shutil.which(opener[0]) is None:
        return
    threading.Thread(target=_open_when_up, args=(opener,), daemon=True).start()


def _open_when_up(opener: list[str]) -> None:
    deadline = time.monotonic() + DEMO_START_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(opener[-1], timeout=1):  # noqa: S310 - our own page
                break
        except OSError:
            time.sleep(0.2)
    with contextlib.suppress(OSError):
        subprocess.Popen(  # noqa: S603 - the platform's opener, our own loopback address
            opener,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )


def _stop_with_the_terminal(server: DemoServer) -> None:
    """A closed terminal window (SIGHUP) or a kill (SIGTERM) ends the console without
    running its ``finally``: stop the demo shop first, or it outlives us (it runs in its
    own session so that Ctrl+C reaches the console only). Then die of the same signal."""

    def stop_then_die(signum: int, _frame: object) -> None:
        server.stop()
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    for name in ("SIGHUP", "SIGTERM"):
        number = getattr(signal, name, None)  # no SIGHUP on Windows
        if number is not None:
            signal.signal(number, stop_then_die)
