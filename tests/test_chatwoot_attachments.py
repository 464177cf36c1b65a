"""Attachments through the Chatwoot adapter, against the contract fake: a customer's
photo arrives as an attachment and opens; a photo the agent sends goes up once, as a
multipart message with ``attachments[]``, and the thread shows it once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cs_console.backends.chatwoot import ChatwootBackend
from cs_console.domain import DeliveryState
from cs_console.paths import Paths
from cs_console.secret import Secret
from cs_console.services import attachments, conversations
from cs_console.services.context import AgentContext
from cs_console.settings import Settings
from cs_console.store.db import Database
from cs_console.sync.engine import SyncEngine
from tests.chatwoot_fake import FakeChatwoot, FakeChatwootServer
from tests.test_attachments import png


@pytest.fixture
def fake() -> FakeChatwoot:
    fake = FakeChatwoot()
    now = int(time.time())
    fake.add_contact(101, "Emily Carter", email="emily@example.com")
    fake.add_conversation(1, 101, last_activity_at=now - 60, unread=1)
    fake.add_message(1, "The kettle arrived cracked", created_at=now - 120)
    fake.add_message(1, None, created_at=now - 60, files=[("crack 1.png", png(3, 3))])
    return fake


@pytest.fixture
def server(fake: FakeChatwoot) -> Iterator[FakeChatwootServer]:
    running = FakeChatwootServer(fake).start()
    yield running
    running.stop()
    assert fake.violations == [], "the adapter sent requests the spec does not allow"


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[AgentContext]:
    settings = Settings(
        paths=Paths(tmp_path / "client"), shift={"undo_seconds": 0.0, "sync_interval_s": 0.2}
    )
    context = AgentContext(settings=settings, db=Database(settings.paths.store))
    yield context
    context.close()


@pytest.fixture
def engine(server: FakeChatwootServer, ctx: AgentContext) -> Iterator[SyncEngine]:
    backend = ChatwootBackend(server.url, Secret(server.fake.token), server.fake.account_id)
    yield SyncEngine(ctx.db, backend)
    backend.close()


def test_a_customer_photo_arrives_and_opens(ctx: AgentContext, engine: SyncEngine) -> None:
    engine.run_once()
    thread = conversations.messages(ctx, "cw:v1")
    (photo,) = thread[-1].attachments
    assert (photo.kind, photo.file_name, photo.content_type) == (
        "image",
        "crack 1.png",
        "image/png",
    )
    assert photo.size == len(png(3, 3))
    opened = attachments.open_attachment(ctx, engine.backend, photo)
    assert opened.path is not None
    assert Path(opened.path).read_bytes() == png(3, 3)
    assert opened.url is not None


def test_an_agent_photo_is_sent_once(
    tmp_path: Path, ctx: AgentContext, engine: SyncEngine, fake: FakeChatwoot
) -> None:
    engine.run_once()
    photo = tmp_path / "new kettle.png"
    photo.write_bytes(png(6, 2))
    queued = attachments.attach(ctx, "cw:v1", photo)
    engine.run_once()
    engine.run_once()  # nothing goes twice
    sent = [m for m in fake.messages[1] if m["message_type"] == 1]
    assert len(sent) == 1
    (number,) = sent[0]["attachments"]
    assert fake.files[number]["data"] == png(6, 2)
    assert fake.files[number]["name"] == "new kettle.png"
    thread = conversations.messages(ctx, "cw:v1")
    mine = [m for m in thread if m.author != "Emily Carter"]
    assert len(mine) == 1
    assert mine[0].delivery is DeliveryState.SENT
    assert mine[0].message_id != queued.message_id  # it took Chatwoot's id
    assert [a.file_name for a in mine[0].attachments] == ["new kettle.png"]
