"""``cs-console widget ...``: the web chat widget's keys and the shop's signed identities.

* ``widget rotate-secret``: a new session signing key; the previous one still checks
  tokens, so no visitor loses their conversation. A running server takes it up within
  seconds.
* ``widget sign-identity``: a ``data-identity`` value signed with the shop's identity
  secret, as the shop's own server would make it (for its developers and tests).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from cs_console.cli.common import CANNOT, Grammar
from cs_console.cli.output import say

if TYPE_CHECKING:
    from cs_console.server.settings import ServerSettings


def _settings(args: argparse.Namespace) -> ServerSettings | None:
    """The server's settings (``--config``, else ``server.toml`` in the home folder),
    or None after saying why they cannot be read."""
    from cs_console.paths import Paths
    from cs_console.server.settings import ServerSettingsError, load_server_settings

    config: Path | None = getattr(args, "config", None)
    path = config if config is not None else Paths.discover(args.home).home / "server.toml"
    try:
        return load_server_settings(path, required=config is not None)
    except ServerSettingsError as exc:
        say(f"cs-console: {exc}", err=True)
        return None


def cmd_rotate_secret(args: argparse.Namespace) -> int:
    """Rotate the widget's session signing keys."""
    from cs_console.server.channels.widget_tokens import WidgetKeyError, rotate

    settings = _settings(args)
    if settings is None:
        return CANNOT
    path = settings.widget_secret_path()
    if path is None:
        say("cs-console: the server settings name no widget key file", err=True)
        return CANNOT
    try:
        keys = rotate(path, keep=args.keep)
    except WidgetKeyError as exc:
        say(f"cs-console: {exc}", err=True)
        return CANNOT
    kept = len(keys.keys) - 1
    say(f"{path}: new signing key {keys.current.id}; {kept} older key(s) still accepted")
    return 0


def cmd_sign_identity(args: argparse.Namespace) -> int:
    """Print a signed identity for ``data-identity``."""
    import time

    from cs_console.server.channels.widget_tokens import (
        IdentityError,
        read_identity_secret,
        sign_identity,
    )

    settings = _settings(args)
    if settings is None:
        return CANNOT
    path = settings.identity_secret_path()
    if path is None:
        say(
            "cs-console: no identity secret: set [channels.widget] identity_secret_file "
            "in server.toml (a file holding a long random secret shared with the shop)",
            err=True,
        )
        return CANNOT
    try:
        secret = read_identity_secret(path)
    except IdentityError as exc:
        say(f"cs-console: {exc}", err=True)
        return CANNOT
    if args.minutes < 1:
        say("cs-console: --minutes must be at least 1", err=True)
        return CANNOT
    fields: dict[str, object] = {
        "email": args.email,
        "phone": args.phone,
        "name": args.name,
        "orders": list(args.order or []),
        "exp": int(time.time()) + args.minutes * 60,
    }
    say(sign_identity(secret, fields))
    return 0


def cmd_widget(args: argparse.Namespace) -> int:
    """Run the ``widget`` action."""
    if args.widget_command == "rotate-secret":
        return cmd_rotate_secret(args)
    return cmd_sign_identity(args)


def register(grammar: Grammar) -> None:
    """Add ``widget``."""
    widget = grammar.add(
        "widget", cmd_widget, "the web chat widget: rotate its keys, sign a shop identity"
    )
    actions = widget.add_subparsers(dest="widget_command", required=True, metavar="ACTION")
    home_only = [grammar.home_only]
    config_help = "the server's settings file (default: server.toml in the home folder)"
    rotate = actions.add_parser(
        "rotate-secret",
        help="a new session signing key; sessions signed with the previous one go on",
        parents=home_only,
    )
    rotate.add_argument("--config", type=Path, default=None, metavar="FILE", help=config_help)
    rotate.add_argument(
        "--keep", type=int, default=2, help="keys kept, the new one included (default 2)"
    )
    sign = actions.add_parser(
        "sign-identity",
        help="print a data-identity value signed with the shop's identity secret",
        parents=home_only,
    )
    sign.add_argument("--config", type=Path, default=None, metavar="FILE", help=config_help)
    sign.add_argument("--email", required=True)
    sign.add_argument("--phone", default=None)
    sign.add_argument("--name", default=None)
    sign.add_argument(
        "--order", action="extend", nargs="+", default=None, metavar="NUM", help="order numbers"
    )
    sign.add_argument("--minutes", type=int, default=60, help="how long it is valid")
