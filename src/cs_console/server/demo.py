"""Filling the reference server with the demo shop, and the simulator that keeps its
queue moving."""

from __future__ import annotations

import json
import os
import random
import threading
from collections.abc import Sequence
from pathlib import Path

from cs_console.demo.photos import DEMO_PHOTOS
from cs_console.demo.stories import SIMULATOR_LINES, build_demo_shop
from cs_console.domain import Role
from cs_console.protocol import MessageRecord
from cs_console.server.state import ServerState
from cs_console.timeutil import utcnow


def load_demo(state: ServerState, *, seed: int = 7) -> dict[str, str]:
    """Load the demo shop if the server is empty; return {agent name: token} for the
    demo agents (fresh tokens every start)."""
    shop = build_demo_shop(utcnow(), seed=seed)
    if state.count("conversation") == 0:
        state.load_records(
            {
                "agent": list(shop.agents),
                "customer": list(shop.customers),
                "conversation": list(shop.conversations),
                "message": list(shop.messages),
                "order": list(shop.orders),
                "order_event": list(shop.order_events),
                "remark": list(shop.remarks),
                "handover": list(shop.handovers),
            }
        )
        _add_photos(state, shop.messages)
    known = {rec.name for rec, _ in state.list_agents()}
    return {
        agent.name: (
            state.rotate_token(agent.name, by="demo")
            if agent.name in known
            else state.add_agent(agent.name, Role(agent.role), agent.group, by="demo")
        )
        for agent in shop.agents
    }


def _add_photos(state: ServerState, messages: Sequence[MessageRecord]) -> None:
    """The customers' photos the stories speak of ("[photo]"), on those messages."""
    for conversation_id, name, draw in DEMO_PHOTOS:
        found = next(
            (m for m in messages if m.conversation_id == conversation_id and "[photo]" in m.body),
            None,
        )
        if found is not None:
            state.attach_to_message(found.id, name, draw())


def write_tokens(path: Path, tokens: dict[str, str], state: ServerState) -> None:
    """Write the demo tokens as JSON [{name, role, token}], readable by the owner only."""
    roles = {rec.name: rec.role.value for rec, _ in state.list_agents()}
    payload = [{"name": n, "role": roles.get(n, "agent"), "token": t} for n, t in tokens.items()]
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, ensure_ascii=False, indent=2)
    os.chmod(path, 0o600)


class Simulator:
    """Customers who keep writing: every ``every`` seconds one more message arrives, in
    the customer's own language, in an existing conversation."""

    def __init__(self, state: ServerState, *, every: float, seed: int = 11) -> None:
        self.state = state
        self.every = every
        self._random = random.Random(seed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-simulator", daemon=True)

    def start(self) -> None:
        """Begin sending in the background."""
        if self.every > 0:
            self._thread.start()

    def stop(self) -> None:
        """Stop sending."""
        self._stop.set()

    def step(self) -> str | None:
        """Send one message; return the conversation it went to."""
        conversations = self.state.conversation_languages()
        if not conversations:
            return None
        conversation_id, language = self._random.choice(conversations)
        lines = SIMULATOR_LINES.get(language) or SIMULATOR_LINES["en"]
        self.state.add_customer_message(conversation_id, self._random.choice(lines))
        return conversation_id

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.step()
