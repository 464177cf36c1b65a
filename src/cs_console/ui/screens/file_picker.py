"""Pick a file to send: type or paste a path; Tab completes it, and what the folder
holds that matches is listed below. Enter on a file picks it, Escape cancels.

(An input rather than Textual's DirectoryTree: the tree keeps a loader worker running
for as long as it is shown, and reads folders in the background.)"""

from __future__ import annotations

from pathlib import Path

from textual import events, on
from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from cs_console.i18n import N_, _
from cs_console.ui.keys import translate_active_bindings
from cs_console.ui.widgets.key_footer import KeyFooter

#: How many of the folder's entries the list shows.
SHOWN = 12


def restarted(typed: str) -> str:
    """The path meant: the box starts on a folder, so an absolute path or ``~/`` typed
    after it starts over there ("/home/lan//tmp/a.png" is "/tmp/a.png"), as in a
    desktop file dialog."""
    if "//" in typed:
        typed = "/" + typed.rsplit("//", 1)[1]
    if "/~/" in typed:
        typed = "~/" + typed.rsplit("/~/", 1)[1]
    return typed


def matches(typed: str) -> list[str]:
    """Names in the typed path's folder that start with its last part (folders with a
    trailing "/"), sorted; hidden ones only when asked for with a leading dot."""
    typed = restarted(typed)
    path = Path(typed).expanduser() if typed else Path.home()
    folder, stem = (
        (path, "") if not typed or typed.endswith(("/", "\\")) else (path.parent, path.name)
    )
    try:
        return sorted(
            entry.name + ("/" if entry.is_dir() else "")
            for entry in folder.iterdir()
            if entry.name.startswith(stem)
            and (stem.startswith(".") or not entry.name.startswith("."))
        )
    except OSError:
        return []


def complete_path(typed: str) -> str:
    """``typed`` completed as far as the names in its folder agree ("~/Pic" ->
    "~/Pictures/"); unchanged when nothing or nothing more matches."""
    if not typed:
        return typed
    typed = restarted(typed)
    names = matches(typed)
    if not names:
        return typed
    stem = "" if typed.endswith(("/", "\\")) else Path(typed).name
    common = names[0]
    for name in names[1:]:
        while not name.startswith(common):
            common = common[:-1]
    if len(common) <= len(stem):
        return typed
    return typed + common[len(stem) :]


class FilePickerScreen(ModalScreen[Path | None]):
    """Answers the chosen file's path, or None when the agent cancels."""

    CSS_PATH = "file_picker.tcss"
    BINDINGS = [
        Binding("escape", "cancel", N_("Cancel"), id="file_picker.cancel"),
    ]

    def __init__(self, start: Path) -> None:
        super().__init__()
        self.start = start

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        """The bindings the footer shows, in the interface language."""
        return translate_active_bindings(super().active_bindings)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Content.styled(_("Send a photo or file"), "bold"), id="title")
            start = str(self.start)
            yield Input(
                value=start if start.endswith("/") else start + "/",
                placeholder=_("Path of the file"),
                id="path",
            )
            yield Static(id="entries")
            yield Static(
                Content.styled(
                    _("Enter: send this file   Tab: complete   Esc: cancel"), "$text-muted"
                ),
                id="hint",
            )
            yield Static(id="problem")
        yield KeyFooter()

    def on_mount(self) -> None:
        path_input = self.query_one("#path", Input)
        path_input.focus()
        path_input.cursor_position = len(path_input.value)
        self._list(path_input.value)

    @on(Input.Changed, "#path")
    def _changed(self, event: Input.Changed) -> None:
        self._list(event.value)

    def _list(self, typed: str) -> None:
        names = matches(typed)
        shown = "\n".join(names[:SHOWN])
        if len(names) > SHOWN:
            shown += "\n" + _("… and {count} more").format(count=len(names) - SHOWN)
        # Content, not markup: file names are anyone's.
        self.query_one("#entries", Static).update(Content(shown))

    def on_key(self, event: events.Key) -> None:
        # Tab in the path box completes rather than moving on.
        path_input = self.query_one("#path", Input)
        if self.focused is not path_input:
            return
        if event.key == "tab":
            event.stop()
            event.prevent_default()
            completed = complete_path(path_input.value)
            if completed != path_input.value:
                path_input.value = completed
                path_input.cursor_position = len(completed)

    @on(Input.Submitted, "#path")
    def _typed(self, event: Input.Submitted) -> None:
        path = Path(restarted(event.value.strip())).expanduser()
        if path.is_file():
            self.dismiss(path)
            return
        if path.is_dir():
            self._say(_("That is a folder: pick a file in it."))
            return
        self._say(_("No such file."))

    def _say(self, text: str) -> None:
        # Content, not markup: the text may hold a path the agent typed.
        self.query_one("#problem", Static).update(Content.styled(text, "$warning"))

    def action_cancel(self) -> None:
        self.dismiss(None)
