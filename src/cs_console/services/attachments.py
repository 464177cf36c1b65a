"""Photos and files: sending one from a path (through the outbox like a reply), and
opening one from a thread (fetched through the backend to this machine, then the
system viewer, or its path and address on a remote session)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cs_console import protocol as p
from cs_console.backends.base import Backend, BackendError, attachment_backend
from cs_console.domain import MessageKind
from cs_console.paths import write_whole
from cs_console.sanitize import sanitize_line
from cs_console.services.context import AgentContext
from cs_console.services.conversations import ActionError, Queued, check_can_reply
from cs_console.services.events import ReplyQueued
from cs_console.store import attachments, outbox
from cs_console.views import AttachmentRow

#: The types an agent may send, for the agent to read.
ACCEPTED = "JPEG, PNG, GIF or WebP images, PDF or plain text"


@dataclass(frozen=True, slots=True)
class Opened:
    """Where an attachment can be opened: a file on this machine, an address, or both."""

    path: str | None = None
    url: str | None = None


def describe(attachment: AttachmentRow) -> str:
    """One line for the thread: "📎 name · 1.2 MB · image" (sanitised: the name and type
    are the sender's)."""
    if attachment.kind == p.AttachmentKind.PRODUCT_CARD.value:
        parts = [sanitize_line(attachment.title or attachment.file_name)]
        parts += [sanitize_line(v) for v in (attachment.price, attachment.sku) if v]
        return "🛍 " + " · ".join(parts)
    kind = "image" if attachment.kind == p.AttachmentKind.IMAGE.value else "file"
    name = p.safe_file_name(attachment.file_name)
    return f"📎 {name} · {format_size(attachment.size)} · {kind}"


def format_size(size: int) -> str:
    """A file size as people read it: 812 B, 4.1 KB, 1.2 MB."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def check_file(path: Path) -> tuple[bytes, str]:
    """The file's bytes and its type, found from its first bytes (not its name).

    Raises:
        ActionError: not a readable file, empty, too large, or a type not taken.
    """
    try:
        if not path.is_file():
            raise ActionError(f"not a file: {sanitize_line(str(path))}")
        size = path.stat().st_size
        if size > p.MAX_ATTACHMENT_BYTES:
            raise ActionError(
                f"too large: {format_size(size)}, the limit is "
                f"{format_size(p.MAX_ATTACHMENT_BYTES)}"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise ActionError(f"cannot read the file: {exc.strerror or exc}") from None
    if not data:
        raise ActionError("the file is empty")
    if len(data) > p.MAX_ATTACHMENT_BYTES:  # it grew since the check
        raise ActionError(f"too large: the limit is {format_size(p.MAX_ATTACHMENT_BYTES)}")
    content_type = p.sniff_type(data)
    if content_type is None:
        raise ActionError(f"this type of file cannot be sent: {ACCEPTED} only")
    return data, content_type


def attach(
    ctx: AgentContext,
    conversation_id: str,
    path: Path | str,
    *,
    caption: str = "",
    note: bool = False,
    undo_seconds: float | None = None,
) -> Queued:
    """Send the file at ``path`` to the conversation (a reply, or a note), through the
    outbox like any message: its copy in the store's attachments folder belongs to the
    outbox from the moment it is queued, so the original may move or go.

    Raises:
        ActionError: the file cannot be sent (see :func:`check_file`), no such
            conversation, or a reply could not reach the customer (no email address).
    """
    source = Path(path).expanduser()
    data, content_type = check_file(source)
    check_can_reply(ctx, conversation_id, note=note)
    attachment_id = uuid.uuid4().hex
    message_id = uuid.uuid4().hex
    ref = p.AttachmentRef(
        id=attachment_id,
        file_name=p.safe_file_name(source.name),
        content_type=content_type,
        size=len(data),
    )
    op = p.SendMessage(
        id=message_id,
        conversation_id=conversation_id,
        kind=MessageKind.NOTE if note else MessageKind.AGENT,
        body=caption.strip("\n"),
        attachments=[ref],
    )
    copy = _write_private(ctx.settings.paths.attachments_dir / attachment_id, data)
    window = ctx.settings.shift.undo_seconds if undo_seconds is None else undo_seconds
    try:
        entry = outbox.record(
            ctx.db,
            op,
            author=ctx.agent_name,
            undo_seconds=0.0 if note else window,
            files={attachment_id: str(copy)},
        )
    except BaseException:
        copy.unlink(missing_ok=True)
        raise
    ctx.tell(ReplyQueued(conversation_id, message_id))
    return Queued(entry=entry, message_id=message_id, body=op.body, note=note)


def open_attachment(
    ctx: AgentContext, backend: Backend | None, attachment: AttachmentRow
) -> Opened:
    """Where to open ``attachment``: its copy on this machine (fetched through
    ``backend`` into the store's attachments folder the first time), and its address
    when the backend has one.

    Raises:
        ActionError: it could not be fetched and has no address to give instead.
    """
    url: str | None = None
    record = attachments.record_of(ctx.db, attachment.attachment_id)
    backend = attachment_backend(backend)
    if backend is not None and record is not None:
        url = backend.attachment_url(record)
    elif attachment.url and attachment.url.startswith(("https://", "http://")):
        url = attachment.url
    url = sanitize_line(url) if url else None
    if attachment.local_path and Path(attachment.local_path).is_file():
        return Opened(path=attachment.local_path, url=url)
    if attachment.kind == p.AttachmentKind.PRODUCT_CARD.value or record is None:
        if url is None:
            raise ActionError("this attachment has nothing to open")
        return Opened(url=url)
    if backend is None:
        if url is None:
            raise ActionError("the backend cannot give files")
        return Opened(url=url)
    try:
        data = backend.fetch_attachment(record)
    except BackendError as exc:
        if url is None:
            raise ActionError(f"not fetched: {exc}") from None
        return Opened(url=url)
    target = _cache_path(ctx, attachment)
    _write_private(target, data)
    attachments.set_cached(ctx.db, attachment.attachment_id, str(target))
    return Opened(path=str(target), url=url)


def _cache_path(ctx: AgentContext, attachment: AttachmentRow) -> Path:
    # The folder is a hash of the id and the name is sanitised: nothing a backend sent
    # can reach outside the attachments folder (no separator, no "..").
    folder = hashlib.sha256(attachment.attachment_id.encode()).hexdigest()[:24]
    name = p.safe_file_name(attachment.file_name)
    return ctx.settings.paths.attachments_dir / "fetched" / folder / name


def _write_private(target: Path, data: bytes) -> Path:
    """Write ``data`` whole (owner-only), synced before the outbox can name it."""
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_whole(target, data)
    return target


def is_remote_session(env: Mapping[str, str] | None = None) -> bool:
    """Whether no viewer can be shown here: an SSH session, or no display on a Unix
    desktop (macOS and Windows always have one)."""
    env = os.environ if env is None else env
    if env.get("SSH_CONNECTION") or env.get("SSH_TTY"):
        return True
    if sys.platform in ("darwin", "win32"):
        return False
    return not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


def system_open(target: str) -> bool:
    """Open a file or address in the system's viewer, without waiting for it; False
    when there is no viewer to run (or the target could pass for an option)."""
    if target.startswith("-"):
        return False
    try:
        if sys.platform == "win32":
            os.startfile(target)  # noqa: S606 - a file we wrote, or the backend's address
            return True
        command = "open" if sys.platform == "darwin" else "xdg-open"
        # A list, never a shell: the path holds a name a sender chose (sanitised).
        subprocess.Popen(  # noqa: S603 - a fixed program, one argument
            [command, target],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError:
        return False
    return True
