"""The agent's own setup: ``config path|show|init|validate`` and ``keys``."""

from __future__ import annotations

import argparse

from cs_console.cli.common import CANNOT, Grammar, settings_for
from cs_console.cli.output import say


def cmd_config(args: argparse.Namespace) -> int:
    """Where the config lives, what it says, a commented template, or a check."""
    from cs_console import config_commands

    if args.config_command == "path":
        say(config_commands.config_path(args.home))
    elif args.config_command == "show":
        say(config_commands.show(args.home).rstrip("\n"))
    elif args.config_command == "init":
        try:
            path = config_commands.init(args.home, force=args.force)
        except FileExistsError as exc:
            say(f"cs-console: {exc}", err=True)
            return CANNOT
        say(f"wrote {path}")
    else:
        problems = config_commands.validate(args.home)
        for problem in problems:
            say(problem)
        if problems:
            return 1
        say(f"{config_commands.config_path(args.home)}: ok")
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    """Print the effective key bindings (after the config's [keymap])."""
    from cs_console.ui.keys import check_keymap, effective_keys

    keymap = settings_for(args).keymap
    for area, binding_id, keys, description in effective_keys(keymap):
        marker = " *" if binding_id in keymap else ""
        say(f"{area:<20}{binding_id:<28}{keys:<18}{description}{marker}")
    problems = check_keymap(keymap)
    for problem in problems:
        say(f"problem: {problem}", err=True)
    return 1 if problems else 0


def register(grammar: Grammar) -> None:
    """Add ``config`` and ``keys``."""
    home_only = [grammar.home_only]
    config = grammar.add("config", cmd_config, "the config file: path, show, init, validate")
    actions = config.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    actions.add_parser("path", help="where config.toml is read from", parents=home_only)
    actions.add_parser("show", help="the effective config (secrets masked)", parents=home_only)
    init = actions.add_parser("init", help="write a commented config.toml", parents=home_only)
    init.add_argument(
        "--force", action="store_true", help="replace an existing file (kept as .bak)"
    )
    actions.add_parser(
        "validate", help="check the config; non-zero exit on problems", parents=home_only
    )
    grammar.add("keys", cmd_keys, "print the effective key bindings (* = remapped in [keymap])")
