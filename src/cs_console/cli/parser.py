"""The command-line grammar: the top-level options, then each command module's
commands, in the order ``cs-console --help`` lists them.

A new command goes in the module of its group (or a new module with a
``register(grammar)`` function, added to :data:`COMMAND_MODULES`).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from cs_console import __version__
from cs_console.cli import (
    channels,
    configure,
    console,
    library,
    presence,
    register,
    search,
    server_admin,
    shop,
)
from cs_console.cli.common import HOME_HELP, Grammar, web_options

__all__ = ["COMMAND_MODULES", "build_parser"]

#: Each group's ``register``, in the order the help lists them: the console and its
#: setup first, then the daily work, the register, the library, the agent's own
#: configuration, and the server's administration last.
COMMAND_MODULES: tuple[Callable[[Grammar], None], ...] = (
    console.register,
    shop.register,
    search.register,
    presence.register,
    register.register,
    library.register,
    configure.register,
    server_admin.register,
    channels.register,
)


def build_parser() -> argparse.ArgumentParser:
    """The command-line grammar."""
    parser = argparse.ArgumentParser(
        prog="cs-console",
        description="A keyboard-driven console for e-commerce customer service.",
        epilog=(
            "--home may also come after the command (cs-console conversations --home DIR). "
            "Commands that read or queue in the store take --demo for the store of "
            "`cs-console demo`, and work while a console runs on the same store."
        ),
    )
    parser.add_argument("--version", action="version", version=f"cs-console {__version__}")
    parser.add_argument("--home", type=Path, default=None, help=HOME_HELP)
    web_options(parser)
    parser.set_defaults(func=console.cmd_tui)
    grammar = Grammar.under(parser)
    for add_commands in COMMAND_MODULES:
        add_commands(grammar)
    return parser
