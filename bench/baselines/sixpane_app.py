"""The start-up baseline: a bare Textual app laid out like the console's workspace.

The same six panes (filter line, queue, thread, composer, customer and orders, status
line) plus the footer, built from Textual's own widgets, all empty: what any Textual
app of this shape costs to start, before it reads a single row.

Run it as a script: ``python bench/baselines/sixpane_app.py``.
"""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, OptionList, RichLog, Static, TextArea


class SixPaneApp(App[None]):
    """Six empty panes in the console's proportions."""

    CSS = """
    #panes { height: 1fr; }
    #queue-pane { width: 32%; }
    #filters { height: 2; background: $boost; }
    #queue { height: 1fr; border: round $primary 50%; }
    #middle { width: 1fr; }
    #thread { height: 1fr; border: round $primary 50%; }
    #composer { height: 7; border: round $secondary 50%; }
    #orders { width: 28%; border: round $primary 50%; }
    #status { height: 1; background: $panel; }
    """

    def compose(self) -> ComposeResult:
        with Horizontal(id="panes"):
            with Vertical(id="queue-pane"):
                yield Static(
                    "1 open  2 pending  3 snoozed  4 resolved\na all  m mine", id="filters"
                )
                yield OptionList(id="queue")
            with Vertical(id="middle"):
                yield RichLog(id="thread")
                yield TextArea(id="composer")
            yield Static("No conversation open.", id="orders")
        yield Static(" me │ shift 0s │ ○ offline", id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.theme = "textual-dark"
        self.query_one("#queue", OptionList).border_title = "Queue"
        self.query_one("#thread", RichLog).border_title = "Conversation"
        self.query_one("#composer", TextArea).border_title = "Reply"
        self.query_one("#orders", Static).border_title = "Customer & orders"


if __name__ == "__main__":
    SixPaneApp().run()
