"""Starting the console: against the configured backend, or against a demo shop that
runs in a background process for as long as the console does."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from cs_console.secret import Secret
from cs_console.settings import Settings, SettingsError, default_home, load_settings

DEMO_START_TIMEOUT_S = 60.0


def run_console(settings: Settings) -> int:
    """Run the TUI until the agent quits."""
    from cs_console.i18n import set_language

    set_language(settings.ui_language)
    from cs_console.ui.app import ConsoleApp

    ConsoleApp(settings).run()
    return 0


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


def prepare_demo_home(home: Path | None, *, keep: bool) -> Path:
    """The demo's folder (beside, never inside, a real store); wiped unless ``keep``."""
    env_home = os.environ.get("CS_CONSOLE_HOME")
    base = home or (Path(env_home) if env_home else None) or default_home()
    demo_home = base / "demo"
    if not keep and demo_home.exists():
        shutil.rmtree(demo_home)
    demo_home.mkdir(parents=True, exist_ok=True)
    return demo_home


def run_demo(home: Path | None, *, keep: bool, rate: float, agent: str) -> int:
    """Start the demo shop, run the console against it as ``agent``, stop the shop."""
    demo_home = prepare_demo_home(home, keep=keep)
    server = DemoServer(demo_home, rate=rate)
    from dataclasses import replace

    from cs_console.demo.stories import RETURN_ADDRESS, SHOP_NAME

    settings = replace(
        load_settings(home=demo_home / "client"),
        shop_name=SHOP_NAME,
        shop_return_address=RETURN_ADDRESS,
    )
    try:
        from cs_console.i18n import set_language

        set_language(settings.ui_language)
        from cs_console.ui.app import ConsoleApp

        def connect() -> Settings:
            return settings.with_backend(server.url, server.wait_token(agent))

        _stop_with_the_terminal(server)
        ConsoleApp(settings, connect=connect, demo=True).run()
    finally:
        server.stop()
    return 0


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
