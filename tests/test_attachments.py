"""Attachments on the reference server and through sync: upload and download need an
agent's token, limits and types hold, names are sanitised, a retried send stores one
file and one message, and a customer's photo reaches the client's thread."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from cs_console import protocol as p
from cs_console.backends.base import AttachmentBackend
from cs_console.domain import DeliveryState, MessageKind
from cs_console.server.attachments import content_disposition
from cs_console.server.errors import OperationError
from cs_console.server.state import ServerState
from cs_console.services import attachments, conversations, sync
from cs_console.services.context import AgentContext
from cs_console.services.conversations import ActionError
from cs_console.store import outbox
from cs_console.store.models import ATTACHMENT
from cs_console.sync.engine import SyncEngine
from tests.harness import client_context
from tests.inprocess import InProcessServer, InProcessTransport


def png(
    width: int = 2,
    height: int = 2,
    colours: Sequence[tuple[int, int, int]] = ((255, 0, 0),),
) -> bytes:
    """A small valid PNG, made here: no binary files in the repository. Red pixels, or
    bands ten rows high of each of ``colours`` in turn (a picture a screenshot shows)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(
        b"\x00" + bytes(colours[(y // 10) % len(colours)]) * width for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def http(inproc_server: InProcessServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        transport=InProcessTransport(inproc_server), base_url=inproc_server.url + "/api/v1"
    ) as client:
        yield client


def stored(state: ServerState) -> int:
    """How many attachments the server keeps."""
    with state.read() as conn:
        return int(conn.execute(select(func.count()).select_from(ATTACHMENT)).scalar_one())


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def upload(
    client: httpx.Client, token: str, attachment_id: str, data: bytes, name: str
) -> httpx.Response:
    return client.put(
        f"/attachments/{attachment_id}", params={"name": name}, content=data, headers=auth(token)
    )


@pytest.fixture
def ctx(
    tmp_path: Path, inproc_server: InProcessServer, tokens: dict[str, str]
) -> Iterator[AgentContext]:
    context = client_context(tmp_path / "client", inproc_server, tokens["Lan"])
    yield context
    context.close()


def engine_for(ctx: AgentContext, server: InProcessServer) -> SyncEngine:
    return sync.make_engine(ctx, server.backend(ctx.settings))


# --- the server ------------------------------------------------------------------------


def test_upload_and_download_need_a_token(http: httpx.Client, tokens: dict[str, str]) -> None:
    assert http.put("/attachments/a1", content=png()).status_code == 401
    assert upload(http, "nope", "a1", png(), "x.png").status_code == 401
    answer = upload(http, tokens["Lan"], "a1", png(), "x.png")
    assert answer.status_code == 200, answer.text
    record = p.AttachmentRecord.model_validate_json(answer.content)
    assert (record.kind, record.content_type, record.size) == ("image", "image/png", len(png()))
    assert http.get("/attachments/a1").status_code == 401
    # Not yet sent: only its uploader sees it; to everyone else it does not exist.
    assert http.get("/attachments/a1", headers=auth(tokens["Mei"])).status_code == 404
    got = http.get("/attachments/a1", headers=auth(tokens["Lan"]))
    assert got.status_code == 200
    assert got.content == png()
    assert got.headers["content-type"] == "image/png"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-disposition"].startswith("attachment;")
    assert http.get("/attachments/nothing", headers=auth(tokens["Lan"])).status_code == 404


def test_limits_and_types(
    http: httpx.Client, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    token = tokens["Lan"]
    refused = upload(http, token, "b1", b"MZ\x90\x00\x03\x00\x00\x00\x04", "setup.exe")
    assert refused.status_code == 415
    assert "not accepted" in refused.json()["error"]
    # The name says PNG; the bytes say otherwise: the bytes win.
    assert upload(http, token, "b2", b"\x00\x01binary", "photo.png").status_code == 415
    assert upload(http, token, "b3", b"", "empty.txt").status_code == 422
    monkeypatch.setattr(p, "MAX_ATTACHMENT_BYTES", 64)
    assert upload(http, token, "b4", b"a" * 65, "big.txt").status_code == 413
    assert upload(http, token, "b5", b"plain words", "notes.txt").status_code == 200


def test_names_are_sanitised(http: httpx.Client, tokens: dict[str, str]) -> None:
    answer = upload(http, tokens["Lan"], "c1", png(), "../../etc/\x1b[31mevil\u202e.png")
    record = p.AttachmentRecord.model_validate_json(answer.content)
    assert "/" not in record.file_name
    assert "\x1b" not in record.file_name
    assert not record.file_name.startswith(".")
    assert "\u202e" not in record.file_name
    header = content_disposition('a"b;c\r\nd.png')
    assert "\r" not in header
    assert "\n" not in header
    assert 'filename="a_b_c' in header
    assert "filename*=UTF-8''" in header


def test_same_id_with_other_bytes_is_refused(http: httpx.Client, tokens: dict[str, str]) -> None:
    assert upload(http, tokens["Lan"], "d1", png(), "a.png").status_code == 200
    assert upload(http, tokens["Lan"], "d1", png(), "a.png").status_code == 200  # a repeat
    assert upload(http, tokens["Lan"], "d1", png(3, 3), "a.png").status_code == 409
    assert upload(http, tokens["Mei"], "d1", png(), "a.png").status_code == 409


def test_a_send_naming_a_file_never_uploaded_is_refused(
    server_state: ServerState, tokens: dict[str, str]
) -> None:
    caller = server_state.authenticate(tokens["Lan"])
    assert caller is not None
    op = p.SendMessage(
        id="m-x",
        conversation_id="conv-1",
        kind=MessageKind.AGENT,
        attachments=[p.AttachmentRef(id="zz", file_name="a.png", content_type="image/png", size=3)],
    )
    before = server_state.count("message")
    with pytest.raises(OperationError, match="not uploaded"):
        server_state.apply(caller, "k-x", op)
    assert server_state.count("message") == before  # nothing half done


# --- through sync ------------------------------------------------------------------------


def test_agent_photo_reaches_the_server_once_under_retry(
    tmp_path: Path, ctx: AgentContext, inproc_server: InProcessServer
) -> None:
    engine = engine_for(ctx, inproc_server)
    engine.run_once()
    photo = tmp_path / "kettle.png"
    photo.write_bytes(png())
    queued = attachments.attach(ctx, "conv-1", photo)
    photo.unlink()  # the outbox owns its own copy
    entry = outbox.ready(ctx.db)[0]
    backend = engine.backend
    ref = queued_ref(entry.operation)
    # A first attempt whose answer was lost: the upload and the operation both went.
    assert isinstance(backend, AttachmentBackend)
    backend.upload(entry.key, ref, png())
    backend.push(entry.key, entry.operation)
    engine.run_once()
    engine.run_once()
    state = inproc_server.state
    page = state.changes(0, 1000)
    sent = [m for m in page.messages if m.id == queued.message_id]
    assert len(sent) == 1
    assert [a.id for a in sent[0].attachments] == [ref.id]
    assert stored(state) == 1
    thread = conversations.messages(ctx, "conv-1")
    assert thread[-1].delivery is DeliveryState.SENT
    assert [a.file_name for a in thread[-1].attachments] == ["kettle.png"]
    engine.backend.close()


def queued_ref(op: p.Operation) -> p.AttachmentRef:
    assert isinstance(op, p.SendMessage)
    return op.attachments[0]


def test_server_keeps_the_same_bytes(
    tmp_path: Path, ctx: AgentContext, inproc_server: InProcessServer, tokens: dict[str, str]
) -> None:
    engine = engine_for(ctx, inproc_server)
    engine.run_once()
    photo = tmp_path / "p.png"
    photo.write_bytes(png(4, 4))
    attachments.attach(ctx, "conv-2", photo)
    engine.run_once()
    caller = inproc_server.state.authenticate(tokens["Mei"])
    assert caller is not None
    ids = [a.id for m in inproc_server.state.changes(0, 1000).messages for a in m.attachments]
    found = inproc_server.state.attachment_file(caller, ids[0])
    assert found is not None
    assert found[1].read_bytes() == png(4, 4)
    # Stored beside the database, in its own folder.
    assert found[1].parent == tmp_path / "server.db-attachments"
    engine.backend.close()


def test_customer_photo_is_received_and_opened(
    ctx: AgentContext, inproc_server: InProcessServer
) -> None:
    engine = engine_for(ctx, inproc_server)
    inproc_server.state.add_customer_attachment("conv-1", "../破损.png", png(), body="看图")
    engine.run_once()
    thread = conversations.messages(ctx, "conv-1")
    photo = thread[-1].attachments[0]
    assert thread[-1].body == "看图"
    assert (photo.kind, photo.file_name) == ("image", "_破损.png")
    assert (
        attachments.describe(photo)
        == "📎 _破损.png · " + attachments.format_size(len(png())) + " · image"
    )
    opened = attachments.open_attachment(ctx, engine.backend, photo)
    assert opened.path is not None
    assert Path(opened.path).read_bytes() == png()
    assert Path(opened.path).is_relative_to(ctx.settings.paths.attachments_dir)
    assert opened.url is not None
    assert opened.url.endswith(f"/api/v1/attachments/{photo.attachment_id}")
    # The second time, from the copy on this machine.
    again = conversations.messages(ctx, "conv-1")[-1].attachments[0]
    assert again.local_path == opened.path
    engine.backend.close()


def test_attach_refuses_what_it_must(tmp_path: Path, ctx: AgentContext) -> None:
    exe = tmp_path / "run.png"
    exe.write_bytes(b"\x7fELF\x02\x01\x01\x00")
    with pytest.raises(ActionError, match="cannot be sent"):
        attachments.attach(ctx, "conv-1", exe)
    with pytest.raises(ActionError, match="not a file"):
        attachments.attach(ctx, "conv-1", tmp_path)
    empty = tmp_path / "e.txt"
    empty.write_bytes(b"")
    with pytest.raises(ActionError, match="empty"):
        attachments.attach(ctx, "conv-1", empty)
    assert not outbox.entries(ctx.db)


def test_undo_takes_the_photo_back(
    tmp_path: Path, ctx: AgentContext, inproc_server: InProcessServer
) -> None:
    engine = engine_for(ctx, inproc_server)
    engine.run_once()
    photo = tmp_path / "p.png"
    photo.write_bytes(png())
    queued = attachments.attach(ctx, "conv-1", photo, undo_seconds=30)
    copies = list((ctx.settings.paths.attachments_dir).iterdir())
    assert len(copies) == 1
    assert conversations.undo(ctx, queued)
    assert not list(ctx.settings.paths.attachments_dir.iterdir())
    assert all(not m.attachments for m in conversations.messages(ctx, "conv-1"))
    engine.run_once()
    assert stored(inproc_server.state) == 0
    engine.backend.close()
