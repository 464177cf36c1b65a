"""What import-linter cannot see: what importing a module actually loads.

The contracts in pyproject.toml count every import, deferred ones included, so the
command line, which starts the console through a deferred import of the UI, cannot be
held to "never imports Textual" there. These tests import in a fresh interpreter and
look at ``sys.modules``: the command line and every headless module load no Textual,
and every module split out of a larger one imports on its own (no import circle).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: Everything the UI is not: loading any of these must not load Textual.
HEADLESS = (
    "cs_console.cli",
    "cs_console.store.db",
    "cs_console.services.session",
    "cs_console.sync.engine",
    "cs_console.backends.chatwoot",
    "cs_console.backends.medusa",
    "cs_console.backends.vendure",
    "cs_console.server.app",
    "cs_console.replies",
    "cs_console.replies.search",
    "cs_console.render.reports",
    "cs_console.config",
    "cs_console.config_reader",
    "cs_console.settings",
    "cs_console.crash",
)

#: Modules split out of larger ones, each imported first in its own interpreter so that
#: a circle back to the module it came from would show.
SPLIT_OUT = (
    "cs_console.config_reader",
    "cs_console.backends.chatwoot_cursor",
    "cs_console.backends.chatwoot_wire",
    "cs_console.backends.medusa_cursor",
    "cs_console.backends.medusa_remarks",
    "cs_console.backends.medusa_returns",
    "cs_console.backends.medusa_wire",
    "cs_console.replies.action_rules",
    "cs_console.replies.matching",
    "cs_console.replies.quick_reply",
    "cs_console.replies.source_map",
    "cs_console.replies.vocabulary",
    "cs_console.store.errors",
    "cs_console.store.locks",
    "cs_console.store.touched_tables",
)


def loaded_after_import(*modules: str) -> set[str]:
    """The names in ``sys.modules`` after a fresh interpreter imports ``modules``."""
    script = (
        "import importlib, json, sys\n"
        f"for name in {list(modules)!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout))


def test_headless_modules_and_the_command_line_load_no_textual() -> None:
    loaded = loaded_after_import(*HEADLESS)
    textual = sorted(name for name in loaded if name == "textual" or name.startswith("textual."))
    assert textual == []
    assert "cs_console.ui" not in loaded


@pytest.mark.parametrize("module", SPLIT_OUT)
def test_a_split_out_module_imports_on_its_own(module: str) -> None:
    assert module in loaded_after_import(module)


def test_the_console_starts_without_sqlalchemy_before_its_first_frame() -> None:
    # What `cs-console run` imports before the app draws: the command line, the
    # settings, the second-console check and the app itself. SQLAlchemy (100+ ms) is
    # loaded by the worker that opens the store, after the first frame.
    loaded = loaded_after_import(
        "cs_console.cli", "cs_console.settings", "cs_console.services.holder", "cs_console.ui.app"
    )
    assert "sqlalchemy" not in loaded
    assert "sqlmodel" not in loaded
