"""The after-sales register and the figures: ``cases`` and ``report``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from cs_console.cli.common import CANNOT, Grammar, open_store
from cs_console.cli.output import print_document, print_json_text, row, say

if TYPE_CHECKING:
    from datetime import date


def cmd_cases(args: argparse.Namespace) -> int:
    """List or export the after-sales register."""
    from cs_console.services import cases

    since = getattr(args, "since", None)
    ctx = open_store(args)
    try:
        if args.cases_command == "export":
            print_document(cases.export(ctx, since=since, fmt=args.format))
            return 0
        for c in cases.register(ctx, since=since):
            row(c.case_id, c.status, c.category, c.customer_name or "-", c.order_number or "-")
    finally:
        ctx.close()
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Figures for a shift, a day or a week, or the weekly case summary."""
    from cs_console.render import reports

    ctx = open_store(args)
    try:
        if args.kind == "cases":
            say(reports.run_summary(ctx))
        else:
            text = reports.run_report(
                ctx, args.kind, args.agent, args.format, target_s=args.target_minutes * 60
            )
            # Agent names come from the backend; JSON keeps them exact, as escapes.
            if args.format == "json":
                print_json_text(text)
            else:
                say(text)
    except ValueError as exc:
        say(f"cs-console: {exc}", err=True)
        return CANNOT
    finally:
        ctx.close()
    return 0


def _iso_date(value: str) -> date:
    """``--since``: a YYYY-MM-DD date, or argparse's usage error (no traceback)."""
    from datetime import date

    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {value!r}") from None


def register(grammar: Grammar) -> None:
    """Add ``cases`` and ``report``."""
    cases = grammar.add("cases", cmd_cases, "the after-sales register", on_store=True)
    actions = cases.add_subparsers(dest="cases_command", required=True, metavar="ACTION")
    listed = actions.add_parser(
        "list", help="list cases, newest change first", parents=[grammar.store]
    )
    listed.add_argument("--since", type=_iso_date, default=None, help="YYYY-MM-DD")
    exported = actions.add_parser(
        "export",
        help="every field, for a spreadsheet (CSV has a UTF-8 BOM)",
        parents=[grammar.store],
    )
    exported.add_argument("--since", type=_iso_date, default=None, help="YYYY-MM-DD")
    exported.add_argument("--format", choices=["csv", "json"], default="csv")

    report = grammar.add(
        "report",
        cmd_report,
        "figures for a shift, a day, a week, or the weekly case summary",
        on_store=True,
    )
    report.add_argument("kind", choices=["shift", "day", "week", "cases"])
    report.add_argument("--agent", default=None, help="one agent (default: everyone)")
    report.add_argument("--format", choices=["table", "csv", "json", "md"], default="table")
    report.add_argument("--target-minutes", type=float, default=3.0, help="answered-in-time target")
