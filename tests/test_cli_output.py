"""The command line as a package: money written by the currency's own rules wherever
the CLI or a report prints it, and ``--help`` answering without the heavy stack."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cs_console import protocol as p
from cs_console.domain import OrderStatus
from cs_console.render import reports as report_text
from cs_console.services.reports import ReportCase, compute
from cs_console.timeutil import utcnow
from tests.harness import LiveServer


def cli(
    home: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "CS_CONSOLE_HOME": str(home), **(env or {})}
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=60,
        check=False,
    )


def test_orders_prints_each_currency_with_its_own_decimals(
    tmp_path: Path, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    now = utcnow()
    # Yen has no minor unit: 5000 is ¥5,000, never "50.00".
    live_server.state.load_records(
        {
            "order": [
                p.OrderRecord(
                    id="ord-jp",
                    number="JP-0001",
                    customer_id="cus-1",
                    status=OrderStatus.DELIVERED,
                    total_minor=5000,
                    currency="JPY",
                    placed_at=now - timedelta(days=1),
                    updated_at=now,
                )
            ]
        }
    )
    home = tmp_path / "client"
    env = {"CS_CONSOLE_BACKEND_URL": live_server.url, "CS_CONSOLE_TOKEN": tokens["Lan"]}
    synced = cli(home, "-m", "cs_console", "sync", "--once", env=env)
    assert synced.returncode == 0, synced.stderr
    listed = cli(home, "-m", "cs_console", "orders", "cus-1")
    assert listed.returncode == 0, listed.stderr
    totals = {
        fields[0]: fields[2]
        for fields in (line.split("\t") for line in listed.stdout.splitlines())
        if len(fields) == 5
    }
    assert totals == {"20261115-0001": "¥78.00", "JP-0001": "JPY 5,000"}


def test_report_money_follows_the_currency() -> None:
    start = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
    when = start + timedelta(hours=2)

    def case(case_id: str, currency: str, refund: int) -> ReportCase:
        return ReportCase(
            case_id, "goods.quality", None, "open", refund, 0, 0, currency, "Lan", when, when
        )

    figures = compute(
        [], [case("k1", "JPY", 5000), case("k2", "KWD", 1250)], start, start + timedelta(days=1)
    )
    table = report_text.render(figures, "table", title="Day report", tz=UTC)
    refunds = {
        currency: table.split(f"Money on cases opened ({currency})")[1].splitlines()[1].split()
        for currency in ("JPY", "KWD")
    }
    assert refunds == {
        "JPY": ["Refunds", "JPY", "5,000"],
        "KWD": ["Refunds", "KWD", "1.250"],
    }
    # CSV and JSON keep the stored minor units, for programs.
    assert "cases.money.JPY.refund_minor,5000" in report_text.render(figures, "csv")


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version_load_no_heavy_module(tmp_path: Path, flag: str) -> None:
    result = cli(tmp_path, "-X", "importtime", "-m", "cs_console", flag)
    assert result.returncode == 0, result.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()}
    heavy = {
        name
        for name in imported
        if name.split(".")[0] in {"sqlalchemy", "sqlmodel", "textual", "httpx", "rich"}
    }
    assert heavy == set()
    # The import-time listing did reach the command line, so the check above means something.
    assert "cs_console.cli.parser" in imported
