"""``cs-console serve``: the reference server under uvicorn."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from cs_console.paths import Paths

if TYPE_CHECKING:
    from types import FrameType

    from cs_console.server.settings import ServerSettings
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


def demo_server_settings(settings: ServerSettings, home: Path) -> ServerSettings:
    """What ``serve --demo`` changes: the demo shop's page, its name, its logged-in buyers
    vouched for by its own secret, and agents there around the clock (the chat is what a
    newcomer came to see; a server.toml with other hours keeps them)."""
    from cs_console.demo.stories import SHOP_NAME
    from cs_console.server.demo import demo_identity_secret
    from cs_console.server.settings import ServiceSection, WidgetSection

    widget = settings.channels.widget
    update: dict[str, object] = {
        "demo_page": True,
        "identity_secret_file": widget.identity_secret_file or demo_identity_secret(home),
    }
    if widget.shop_name == WidgetSection().shop_name:
        update["shop_name"] = str(SHOP_NAME)
    service = settings.service
    if service == ServiceSection():
        service = service.model_copy(update={"hours": "00:00-24:00"})
    return settings.model_copy(
        update={
            "service": service,
            "channels": settings.channels.model_copy(
                update={"widget": widget.model_copy(update=update)}
            ),
        }
    )


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
    config: Path | None = None,
) -> int:
    """Run until interrupted; ``replies_dir`` is published as the shop's library first.
    ``config`` is the server's settings file (default ``server.toml`` in the home)."""
    import uvicorn

    from cs_console.server.app import create_app
    from cs_console.server.settings import ServerSettingsError, load_server_settings
    from cs_console.server.state import ServerState

    paths = Paths.discover(home)
    try:
        settings = load_server_settings(
            config or paths.home / "server.toml", required=config is not None
        )
    except ServerSettingsError as exc:
        print(f"cs-console serve: {exc}", file=sys.stderr, flush=True)
        return 2
    if demo:
        settings = demo_server_settings(settings, paths.home)
    address = settings.channels.email.address
    state = ServerState(
        database_url(db_url, home),
        mail_domain=(address.rpartition("@")[2] or "cs-console.localhost")
        if settings.channels.email.enabled
        else None,
    )
    if replies_dir is not None:
        try:
            published = publish_replies_dir(state, replies_dir)
        except ValueError as exc:
            state.close()
            print(exc, file=sys.stderr, flush=True)
            return 2
        print(f"quick replies from {replies_dir}: {published.summary()}", flush=True)
    email = None
    if settings.channels.email.enabled:
        from cs_console.server.channels.email_channel import EmailChannel

        email = EmailChannel(state, settings)
        email.start()
        print(f"reading mail for {address or settings.channels.email.username}", flush=True)
    simulator = None
    client = None
    if demo:
        import httpx

        from cs_console.server.channels.widget_tokens import read_identity_secret
        from cs_console.server.demo import Simulator, demo_buyers, load_demo, write_tokens

        tokens = load_demo(state)
        path = tokens_file or paths.home / "demo-tokens.json"
        write_tokens(path, tokens, state)
        print(f"demo shop loaded; agent tokens in {path}", flush=True)
        secret_path = settings.identity_secret_path()
        assert secret_path is not None  # set just above
        buyers = demo_buyers(state, read_identity_secret(secret_path))
        # The simulated customers write through the widget's public endpoint, as anyone.
        near = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104
        client = httpx.Client(base_url=f"http://{near}:{port}", timeout=10.0)
        simulator = Simulator(client, buyers, every=rate)
        simulator.start()
    print(f"serving on http://{host}:{port}", flush=True)
    if settings.channels.widget.demo_page:
        print(f"the demo shop's page, with the chat widget: http://{host}:{port}/widget/demo")
    logging.getLogger("uvicorn.access").disabled = True

    class Server(uvicorn.Server):
        # Ctrl+C (or SIGTERM): long-polls answer at once, so uvicorn, which waits for
        # the requests in flight, stops now rather than after the longest hold (25 s).
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            state.bell.close()
            super().handle_exit(sig, frame)

    try:
        Server(
            uvicorn.Config(create_app(state, settings), host=host, port=port, log_level="warning")
        ).run()
    finally:
        if simulator is not None:
            simulator.stop()
        if client is not None:
            client.close()
        if email is not None:
            email.stop()
        state.close()
    return 0
