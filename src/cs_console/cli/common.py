"""What every command module shares: exit codes, the grammar helper each module
registers its commands with, and the settings and store a command works on.

Imports that cost time (settings, the store, SQLAlchemy) stay inside the functions, so
``cs-console --help`` loads none of them.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cs_console.services.context import AgentContext, SessionKind
    from cs_console.settings import Settings

__all__ = [
    "CANNOT",
    "HOME_HELP",
    "NOT_FOUND",
    "Command",
    "Grammar",
    "open_store",
    "settings_for",
    "web_options",
]

#: What a command module exposes: it takes the parsed arguments, returns the exit code.
Command = Callable[[argparse.Namespace], int]

#: Exit codes: 1 when what was asked for is not there (or a check failed), 2 when the
#: command could not run (bad input, unreadable file, a store or backend problem).
NOT_FOUND = 1
CANNOT = 2

HOME_HELP = (
    "folder for config and data (default: $CS_CONSOLE_HOME, else the platform's config "
    "and data folders); before or after the command"
)


class Grammar:
    """Where a command module adds its commands, with the options they share.

    A plain class, not a dataclass: ``dataclasses`` would pull ``inspect`` and ``ast``
    into every ``cs-console --help``.

    Attributes:
        commands: The top-level sub-command list.
        home_only: Parent parser giving ``--home`` after the command too.
        store: Parent parser adding ``--demo`` to ``--home``, for commands that read or
            queue in the local store.
    """

    __slots__ = ("commands", "home_only", "store")

    def __init__(
        self,
        commands: argparse._SubParsersAction[argparse.ArgumentParser],
        home_only: argparse.ArgumentParser,
        store: argparse.ArgumentParser,
    ) -> None:
        self.commands = commands
        self.home_only = home_only
        self.store = store

    @classmethod
    def under(cls, parser: argparse.ArgumentParser) -> Grammar:
        """The grammar of ``parser``'s commands."""
        commands = parser.add_subparsers(title="commands", metavar="COMMAND")
        # Repeated on every command, so that --home may come after it too. SUPPRESS: not
        # given there, it leaves the value given before the command alone.
        home_only = argparse.ArgumentParser(add_help=False)
        home_only.add_argument("--home", type=Path, default=argparse.SUPPRESS, help=HOME_HELP)
        store = argparse.ArgumentParser(add_help=False, parents=[home_only])
        store.add_argument(
            "--demo",
            action="store_true",
            default=argparse.SUPPRESS,
            help="use the store of `cs-console demo` (<home>/demo/client), with your config",
        )
        return cls(commands, home_only, store)

    def add(
        self,
        name: str,
        func: Command,
        help_text: str,
        *,
        on_store: bool = False,
        description: str | None = None,
    ) -> argparse.ArgumentParser:
        """Add the command ``name``, run by ``func``; ``on_store`` gives it ``--demo``."""
        command = self.commands.add_parser(
            name,
            help=help_text,
            description=description or help_text,
            parents=[self.store if on_store else self.home_only],
        )
        command.set_defaults(func=func)
        return command


def web_options(parser: argparse.ArgumentParser) -> None:
    """``--web`` and ``--web-port``: the console in a browser instead of the terminal."""
    parser.add_argument(
        "--web",
        action="store_true",
        default=argparse.SUPPRESS,
        help="serve the console to a browser on 127.0.0.1 instead (needs cs-console[web])",
    )
    parser.add_argument(
        "--web-port",
        type=int,
        default=argparse.SUPPRESS,
        help="the port for --web (default 8000)",
    )


def settings_for(args: argparse.Namespace) -> Settings:
    """The settings a command runs with: the config's, or with ``--demo`` the demo's
    store and backend under the config's language, theme and keys."""
    if getattr(args, "demo", False):
        from cs_console.ui.launch import demo_agent, demo_home, demo_settings

        demo = demo_home(args.home)
        return demo_settings(args.home, demo.last_agent() or demo_agent(args.home, None))
    from cs_console.settings import load_settings

    return load_settings(home=args.home)


def open_store(
    args: argparse.Namespace, *, writer: bool = False, session: SessionKind | None = None
) -> AgentContext:
    """The store for a command. The command line holds no session unless asked, so it
    reads and queues beside a running console."""
    from cs_console.services.context import open_context

    return open_context(settings_for(args), writer=writer, session=session)
