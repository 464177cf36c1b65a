"""``cs-console serve``: the reference server under uvicorn."""

from __future__ import annotations

import logging
from pathlib import Path

from cs_console.settings import load_settings


def database_url(db: str | None, home: Path | None) -> str:
    """The given SQLAlchemy URL, or a SQLite file in the home folder."""
    if db:
        return db
    settings = load_settings(home=home)
    settings.home.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{settings.home / 'server.db'}"


def serve(
    *,
    host: str,
    port: int,
    db_url: str | None,
    demo: bool,
    tokens_file: Path | None,
    rate: float,
    home: Path | None,
) -> int:
    """Run until interrupted."""
    import uvicorn

    from cs_console.server.app import create_app
    from cs_console.server.state import ServerState

    state = ServerState(database_url(db_url, home))
    simulator = None
    if demo:
        from cs_console.server.demo import Simulator, load_demo, write_tokens

        tokens = load_demo(state)
        path = tokens_file or load_settings(home=home).home / "demo-tokens.json"
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
