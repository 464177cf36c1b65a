"""Filling the reference server with the demo shop, and the simulator that keeps its
queue moving."""

from __future__ import annotations

import json
import logging
import os
import random
import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from cs_console.demo.photos import DEMO_PHOTOS
from cs_console.demo.stories import SIMULATOR_LINES, build_demo_shop
from cs_console.domain import Role
from cs_console.paths import write_whole
from cs_console.protocol import MessageRecord
from cs_console.server.channels.guard import solve_pow
from cs_console.server.channels.widget_tokens import sign_identity
from cs_console.server.state import ServerState
from cs_console.timeutil import utcnow

log = logging.getLogger(__name__)


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


#: The demo shop's secret for signing its buyers' identities (in the server's home).
IDENTITY_SECRET_FILE = "demo-identity-secret"  # noqa: S105 - a file name
#: How many of the demo's customers the simulator writes as (each is one browser).
SIMULATED_CUSTOMERS = 12


@dataclass(frozen=True)
class Buyer:
    """A demo customer the shop vouches for: their signed identity and language."""

    identity: str
    language: str


def demo_identity_secret(home: Path) -> Path:
    """The demo shop's identity secret file (made, owner-only, on first use)."""
    path = home / IDENTITY_SECRET_FILE
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        write_whole(path, secrets.token_hex(32).encode())
    return path


def demo_buyers(state: ServerState, secret: bytes, *, seed: int = 11) -> list[Buyer]:
    """Some of the demo's chatting customers, as the demo shop's pages would vouch for
    them (signed with ``secret``); the simulator writes as them."""
    chatters = state.chat_customers()
    chosen = random.Random(seed).sample(chatters, min(SIMULATED_CUSTOMERS, len(chatters)))
    return [
        Buyer(
            sign_identity(
                secret,
                {"name": name, "email": email, "phone": phone},
                minutes=24 * 60,
            ),
            language,
        )
        for name, email, phone, language in chosen
    ]


class Simulator:
    """Customers who keep writing: every ``every`` seconds one more message arrives, in
    the customer's own language.

    They write as any customer does, through the web widget's public endpoint
    (``client`` reaches the server over HTTP): a session with the identity the demo shop
    signs for them, then a message; no side door into the database.
    """

    def __init__(
        self, client: httpx.Client, buyers: Sequence[Buyer], *, every: float, seed: int = 11
    ) -> None:
        self.client = client
        self.buyers = list(buyers)
        self.every = every
        self._random = random.Random(seed)
        self._tokens: dict[str, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-simulator", daemon=True)

    def start(self) -> None:
        """Begin sending in the background."""
        if self.every > 0 and self.buyers:
            self._thread.start()

    def stop(self) -> None:
        """Stop sending."""
        self._stop.set()

    def step(self) -> bool:
        """Send one message as one of the buyers; whether the server took it (a refusal,
        such as a rate limit, or a server not up yet, is skipped: the next step tries
        again)."""
        if not self.buyers:
            return False
        buyer = self._random.choice(self.buyers)
        lines = SIMULATOR_LINES.get(buyer.language) or SIMULATOR_LINES["en"]
        try:
            token = self._tokens.get(buyer.identity) or self._session(buyer)
            if token is None:
                return False
            answer = self.client.post(
                "/widget/v1/messages",
                json={"id": secrets.token_hex(8), "body": self._random.choice(lines)},
                headers={"Authorization": f"Bearer {token}"},
            )
        except httpx.HTTPError as exc:
            log.info("demo simulator: %s", exc)
            return False
        if answer.status_code == 401:
            self._tokens.pop(buyer.identity, None)
        return answer.status_code == 200

    def _session(self, buyer: Buyer) -> str | None:
        body: dict[str, object] = {"shop": "demo", "language": buyer.language}
        body["identity"] = buyer.identity
        answer = self.client.post("/widget/v1/session", json=body)
        if answer.status_code == 428:  # too many new sessions from here: prove the work
            challenge = answer.json()
            body["pow"] = {
                "challenge": challenge["challenge"],
                "nonce": solve_pow(str(challenge["challenge"]), int(challenge["difficulty"])),
            }
            answer = self.client.post("/widget/v1/session", json=body)
        if answer.status_code != 200:
            log.info("demo simulator: session refused (%s)", answer.status_code)
            return None
        token = str(answer.json()["token"])
        self._tokens[buyer.identity] = token
        return token

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.step()
