"""``cs-console serve``: the reference server under uvicorn."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from cs_console.paths import Paths

if TYPE_CHECKING:
    from cs_console.server.state import PublishReport, ServerState


def database_url(db: str | None, home: Path | None) -> str:
    """The given SQLAlchemy URL, or a SQLite file in the home folder."""
    if db:
        return db
    paths = Paths.discover(home)
    paths.home.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{paths.server_database}"


def publish_replies_dir(state: ServerState, directory: Path) -> PublishReport:
    """Publish a folder of library TOML files as the shop's whole quick-reply library.

    The folder is linted first and nothing is published if it has a problem: a
    half-read library would delete every reply of a broken file from the agents.

    Raises:
        ValueError: listing the problems (file and line), or replies the protocol
            cannot carry.
    """
    from cs_console.replies.library import scan_library
    from cs_console.replies.transfer import to_records
    from cs_console.timeutil import utcnow

    replies, issues = scan_library([directory], report_missing=True)
    if issues:
        raise ValueError(
            f"not published: {len(issues)} problem(s) in {directory}:\n"
            + "\n".join(str(issue) for issue in issues)
        )
    return state.publish_replies(to_records(replies, utcnow()))


def serve(
    *,
    host: str,
    port: int,
    db_url: str | None,
    demo: bool,
    tokens_file: Path | None,
    rate: float,
    home: Path | None,
    replies_dir: Path | None = None,
) -> int:
    """Run until interrupted; ``replies_dir`` is published as the shop's library first."""
    import uvicorn

    from cs_console.server.app import create_app
    from cs_console.server.state import ServerState

    state = ServerState(database_url(db_url, home))
    if replies_dir is not None:
        try:
            published = publish_replies_dir(state, replies_dir)
        except ValueError as exc:
            state.close()
            print(exc, file=sys.stderr, flush=True)
            return 2
        print(f"quick replies from {replies_dir}: {published.summary()}", flush=True)
    simulator = None
    if demo:
        from cs_console.server.demo import Simulator, load_demo, write_tokens

        tokens = load_demo(state)
        path = tokens_file or Paths.discover(home).home / "demo-tokens.json"
        write_tokens(path, tokens, state)
        print(f"demo shop loaded; agent tokens in {path}", flush=True)
        simulator = Simulator(state, every=rate)
        simulator.start()
    print(f"serving on http://{host}:{port}", flush=True)
    logging.getLogger("uvicorn.access").disabled = True
    try:
        uvicorn.run(create_app(state), host=host, port=port, log_level="warning")
    finally:
        if simulator is not None:
            simulator.stop()
        state.close()
    return 0
