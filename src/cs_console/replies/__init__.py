"""Quick replies, headless: the library, its linter, placeholders, search and suggestions.

Nothing here imports Textual, the database or the network. The library format is
``quick_replies/README.md``.

Search, suggestions and CSV/JSON transfer live in :mod:`.search`, :mod:`.suggest` and
:mod:`.transfer`; they are not re-exported here because search loads pypinyin's
dictionaries (a noticeable fraction of a second), which ``cs-console replies lint``
does not need.
"""

from cs_console.replies.library import (
    Library,
    QuickReply,
    ReplyAction,
    lint_dirs,
    load_library,
    shipped_library_dir,
)
from cs_console.replies.lint import LintIssue
from cs_console.replies.placeholders import (
    PLACEHOLDERS,
    FilledReply,
    ReplyContext,
    fill,
    placeholders_in,
)

__all__ = [
    "PLACEHOLDERS",
    "FilledReply",
    "Library",
    "LintIssue",
    "QuickReply",
    "ReplyAction",
    "ReplyContext",
    "fill",
    "lint_dirs",
    "load_library",
    "placeholders_in",
    "shipped_library_dir",
]
