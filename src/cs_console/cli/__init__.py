"""``cs-console``: the TUI by default, and every headless action as a subcommand.

One module per group of commands (:mod:`.console`, :mod:`.shop`, :mod:`.register`,
:mod:`.library`, :mod:`.configure`, :mod:`.server_admin`), each with a ``register``
function that :mod:`.parser` calls; every command prints through :mod:`.output`.
Imports are deferred into each command so that ``cs-console`` paints its first frame
(and ``--help`` answers) before SQLAlchemy, httpx or the server stack are loaded.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from cs_console.cli.common import CANNOT
from cs_console.cli.output import say
from cs_console.cli.parser import build_parser

__all__ = ["build_parser", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``cs-console`` script.

    Args:
        argv: The arguments after the program name (default: ``sys.argv[1:]``).

    Returns:
        The exit code: 0, 1 when what was asked for is not there or a check failed,
        2 when the command could not run, 130 on Ctrl+C.
    """
    args = build_parser().parse_args(argv)
    if not hasattr(args, "web_port"):
        args.web_port = 8000
    if not hasattr(args, "demo"):
        args.demo = False
    from cs_console.settings import SettingsError

    try:
        result: int = args.func(args)
    except SettingsError as exc:
        say(f"cs-console: {exc}", err=True)
        return CANNOT
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `cs-console keys | head`: the reader left; that is not an error.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        # A folder that cannot be made, a file that cannot be written: one line, no trace.
        where = f" ({exc.filename})" if exc.filename else ""
        say(f"cs-console: {exc.strerror or exc}{where}", err=True)
        return CANNOT
    except UnicodeDecodeError as exc:
        say(
            f"cs-console: a file it had to read is not UTF-8 text ({exc.reason} at byte "
            f"{exc.start + 1}); save it as UTF-8 and try again",
            err=True,
        )
        return CANNOT
    except Exception as exc:
        from cs_console.store.db import StoreError

        if isinstance(exc, StoreError):
            say(f"cs-console: {exc}", err=True)
            return CANNOT
        raise
    return result
