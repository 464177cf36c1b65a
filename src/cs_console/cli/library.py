"""The quick-reply library: ``replies list|lint|export|import|publish``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from cs_console.cli.common import CANNOT, Grammar, settings_for
from cs_console.cli.output import print_document, row, say

if TYPE_CHECKING:
    from cs_console.settings import Settings


def cmd_replies(args: argparse.Namespace) -> int:
    """List, lint, export, import or publish quick replies."""
    from cs_console.services import replies

    if args.replies_command == "publish":
        return _publish(args)
    settings = settings_for(args)
    if args.replies_command == "lint":
        from cs_console.replies.library import lint_dirs

        targets = [Path(p) for p in args.paths] or replies.library_dirs(settings)
        issues = lint_dirs([t for t in targets if t.exists() or args.paths])
        for issue in issues:
            say(issue)
        checked = ", ".join(str(t) for t in targets)
        say(f"{len(issues)} problem(s) in {checked}", err=True)
        return 1 if issues else 0
    if args.replies_command == "import":
        return _import_replies(args, settings)
    library, issues = replies.load(settings)
    for issue in issues:
        say(f"skipped: {issue}", err=True)
    chosen = [
        r
        for r in library
        if (args.lang is None or r.language == args.lang)
        and (args.group is None or r.group == args.group)
    ]
    if args.replies_command == "list":
        for r in chosen:
            hotkey = f" [{r.hotkey}]" if r.hotkey else ""
            row(r.id, r.audience, f"{r.title}{hotkey}")
        return 0
    from cs_console.replies.transfer import export_replies

    try:
        exported = export_replies(chosen, args.format)
    except ValueError as exc:
        say(f"not exported: {exc}", err=True)
        return CANNOT
    # A file format, which the exporter keeps free of controls itself.
    print_document(exported)
    return 0


def _publish(args: argparse.Namespace) -> int:
    """Make a folder of replies the shop's library on a reference server."""
    from cs_console.cli.server_admin import open_server_state
    from cs_console.server.run import database_url, publish_replies_dir

    state = open_server_state(database_url(args.server_db, args.home))
    if state is None:
        return CANNOT
    try:
        report = publish_replies_dir(state, Path(args.directory))
    except ValueError as exc:
        say(exc, err=True)
        return CANNOT
    finally:
        state.close()
    say(f"published {args.directory}: {report.summary()}")
    return 0


def _import_replies(args: argparse.Namespace, settings: Settings) -> int:
    """Write an export's replies into the agent's own library, never over the shop's."""
    from cs_console.replies.transfer import import_replies
    from cs_console.services import replies

    source = Path(args.file)
    text = _read_text_file(source)
    if text is None:
        return CANNOT
    try:
        files = import_replies(text, args.format)
    except ValueError as exc:
        say(f"not imported: {source}: {exc}", err=True)
        return CANNOT
    target = replies.user_library_dir(settings)
    for (language, group), toml_text in files.items():
        path = target / language / f"{group}.toml"
        if path.exists() and not args.force:
            say(f"not imported: {path} exists (use --force to replace it)", err=True)
            return CANNOT
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(toml_text, encoding="utf-8")
        say(f"wrote {path}")
    return 0


def _read_text_file(path: Path) -> str | None:
    """A UTF-8 text file's contents, or None after saying on stderr, in one line, why
    it cannot be read (missing, a folder, not UTF-8, no permission)."""
    try:
        raw = path.read_bytes()
    except IsADirectoryError:
        say(f"cs-console: {path} is a folder; give the file itself", err=True)
        return None
    except OSError as exc:
        say(f"cs-console: cannot read {path}: {exc.strerror}", err=True)
        return None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        say(
            f"cs-console: {path} is not UTF-8 text (byte {exc.start + 1} is not); "
            "save it as UTF-8 and try again",
            err=True,
        )
        return None


def register(grammar: Grammar) -> None:
    """Add ``replies`` and its actions."""
    home_only = [grammar.home_only]
    replies = grammar.add(
        "replies", cmd_replies, "the quick-reply library: list, lint, export, import, publish"
    )
    actions = replies.add_subparsers(dest="replies_command", required=True, metavar="ACTION")
    for name, text in (("list", "list replies"), ("export", "export replies as CSV or JSON")):
        chosen = actions.add_parser(name, help=text, parents=home_only)
        chosen.add_argument("--lang", default=None, help="zh-CN, en, vi, es")
        chosen.add_argument("--group", default=None)
        if name == "export":
            chosen.add_argument("--format", choices=["csv", "json"], default="csv")
    lint = actions.add_parser(
        "lint", help="check library files; non-zero exit on problems", parents=home_only
    )
    lint.add_argument("paths", nargs="*", help="folders or files (default: the shop's and yours)")
    imported = actions.add_parser(
        "import", help="import a CSV/JSON export into your own library", parents=home_only
    )
    imported.add_argument("file")
    imported.add_argument("--format", choices=["csv", "json"], default="csv")
    imported.add_argument("--force", action="store_true", help="replace existing files")
    publish = actions.add_parser(
        "publish",
        help="make a folder of replies the shop's library on a reference server; "
        "agents get it at their next sync (replies missing from it are withdrawn)",
        parents=home_only,
    )
    publish.add_argument("directory", help="library folder holding <lang>/<group>.toml")
    publish.add_argument(
        "--server-db", default=None, help="SQLAlchemy URL (default: sqlite file in --home)"
    )
    for action in actions.choices.values():
        action.set_defaults(lang=None, group=None)
