"""Chatwoot as a conversation source (its Application API, ``api_access_token``).

Chatwoot holds the chats; orders come from another backend (see
:mod:`cs_console.backends.split`). The envelopes and the reading of an answer are in
:mod:`cs_console.backends.chatwoot_wire`, what maps to what in
:mod:`cs_console.backends.chatwoot_mapping`, the cursor in
:mod:`cs_console.backends.chatwoot_cursor`. The house rules of
:mod:`cs_console.backends.reference` hold here too: explicit timeouts and an overall
deadline per request, no redirects, a cap on the answer's size, and every failure
mapped to :class:`Unavailable`, :class:`BadResponse`, :class:`AuthFailed` or
:class:`Refused`.

Pulling: the cursor (see ``encode_cursor``) walks the conversation list, 25 a page,
newest activity first, down to the watermark of the previous sweep; for each
conversation with activity since then, its messages are read backwards 20 at a time
with ``before=<oldest id seen>`` until they are older than the watermark, so a page
boundary never drops a message. This relies on Chatwoot moving ``last_activity_at``
when anything happens in a conversation (messages, including the activity messages
it writes for status and assignment changes).

No double send: Chatwoot keeps neither ``echo_id`` nor unknown ``content_attributes``
keys on a message (its message builder picks out ``in_reply_to`` and ``items`` only),
so a message cannot carry our key back to us. Before posting, ``push`` reads the
conversation's latest messages and takes an outgoing one of ours (same sender, same
privacy, same text, created since this key's first attempt, not already claimed by
another key) as the earlier attempt that timed out. The first-attempt times live in
this object, so they survive a retry in the same session; after a restart the window
is :data:`RESEND_WINDOW_S`, and an identical text sent on purpose inside it would be
taken for a retry. ``echo_id`` is still sent: it is what Chatwoot's own clients use.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Mapping
from typing import Any

import httpx

from cs_console import protocol as p
from cs_console.backends import chatwoot_mapping as cw
from cs_console.backends import chatwoot_wire as wire
from cs_console.backends.base import BadResponse, Capabilities, Refused
from cs_console.backends.chatwoot_cursor import decode_cursor, encode_cursor
from cs_console.backends.http import REQUEST_DEADLINE_S, capped_request, check_url
from cs_console.domain import ConversationStatus, Group, MessageKind
from cs_console.secret import Secret
from cs_console.timeutil import utcnow

log = logging.getLogger(__name__)

#: How far back a resend looks for its earlier attempt when this session has no record.
RESEND_WINDOW_S = 15 * 60
#: How often canned responses are read again (they change rarely; a sweep runs every
#: few seconds).
CANNED_EVERY_S = 10 * 60

#: Our clock and Chatwoot's may disagree by this much when comparing creation times.
CLOCK_SKEW_S = 120

#: A bound on one conversation's backlog read in one pull (20 a request).
MAX_MESSAGE_REQUESTS = 500

CAPABILITIES = Capabilities(
    orders=False,
    remarks=False,
    returns=False,
    refunds=False,
    cases=False,
    presence=False,
    notes=(
        ("orders", "Chatwoot holds chats only; configure an order source for orders"),
        ("presence", "Set your availability in Chatwoot: cs-console does not change it there"),
        ("remarks", "Chatwoot holds chats only; order remarks go to the order source"),
        ("returns", "Chatwoot holds chats only; returns go to the order source"),
        ("refunds", "Chatwoot holds chats only; refunds go to the order source"),
    ),
)


class ChatwootBackend:
    """One Chatwoot account, as seen by the owner of an access token."""

    name = "Chatwoot"
    capabilities = CAPABILITIES

    def __init__(
        self,
        url: str,
        token: Secret,
        account_id: int,
        *,
        team_groups: Mapping[str, Group] | None = None,
        inbox_ids: frozenset[int] | None = None,
        language: str = "en",
        insecure: bool = False,
        timeout: float = 10.0,
        deadline: float = REQUEST_DEADLINE_S,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """``team_groups`` maps team names to desks (default: see ``group_for_team``);
        ``inbox_ids`` keeps only conversations of those inboxes (default: all);
        ``language`` is the one the account's canned responses are written in."""
        self.url = check_url(url, insecure=insecure)
        self.account_id = account_id
        self.team_groups: Mapping[str, Group] = dict(team_groups or {})
        self.inbox_ids = inbox_ids
        self.server_id = (
            "cw-" + hashlib.sha256(f"{self.url}\n{account_id}".encode()).hexdigest()[:24]
        )
        self._deadline = deadline
        self._client = httpx.Client(
            base_url=self.url + "/api/v1",
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            follow_redirects=False,
            headers={
                "api_access_token": token.reveal(),
                "User-Agent": "cs-console",
                "Accept": "application/json",
            },
            transport=transport,
        )
        self._transport = transport
        # Files handed over for a message not yet posted (Chatwoot takes them with it).
        self._staged: dict[str, bytes] = {}
        self._me_id: int | None = None
        self._agents: dict[str, int] = {}
        self._teams: dict[str, int] = {}
        # Per key: when its first attempt left (wall clock, to compare with Chatwoot's
        # created_at); per Chatwoot message: the key that posted it and our message id.
        self._first_attempt: dict[str, float] = {}
        self._claimed: dict[int, str] = {}
        self.language = language
        # Canned responses become quick replies: fetched at the start of a sweep at most
        # every CANNED_EVERY_S; ids seen last time and gone now are sent as withdrawn.
        self._canned_at: float | None = None
        self._canned: dict[str, p.ReplyRecord] = {}

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    # --- reading ------------------------------------------------------------------

    def me(self) -> p.Me:
        """The token's owner; administrators are supervisors here."""
        profile = wire.bare_object(self._get("/profile"), "the profile")
        self._me_id = wire.integer(profile.get("id"), "profile id")
        agent = cw.profile_agent(profile, self.account_id)
        return p.Me(server_id=self.server_id, agent=agent, protocol=p.PROTOCOL_VERSION)

    def pull(self, cursor: str, limit: int = p.DEFAULT_PAGE) -> p.ChangePage:
        """One page of conversations (Chatwoot's 25, whatever ``limit`` says) with all
        their messages since the last sweep; ``has_more`` until the sweep is done."""
        watermark, next_watermark, page = decode_cursor(cursor)
        body = self._get(
            self._account("/conversations"),
            params={"status": "all", "assignee_type": "all", "page": page},
        )
        listed = wire.conversation_list(body)
        agents: list[p.AgentRecord] = []
        replies: list[p.ReplyRecord] = []
        if page == 1:
            agents = self._agent_records()
            replies = self._canned_changes()
            activity = [
                wire.integer(raw.get("last_activity_at"), "last_activity_at") for raw in listed
            ]
            next_watermark = max([watermark, *activity])
        conversations: list[p.ConversationRecord] = []
        customers: dict[str, p.CustomerRecord] = {}
        messages: list[p.MessageRecord] = []
        oldest_on_page: int | None = None
        for raw in listed:
            last_activity = wire.integer(raw.get("last_activity_at"), "last_activity_at")
            oldest_on_page = min(last_activity, oldest_on_page or last_activity)
            if self.inbox_ids is not None and raw.get("inbox_id") not in self.inbox_ids:
                continue
            conversation, customer = cw.conversation_record(raw, self.team_groups)
            conversations.append(conversation)
            customers[customer.id] = customer
            if last_activity >= watermark:
                number = wire.integer(raw.get("id"), "conversation id")
                messages.extend(self._messages_since(number, conversation.id, watermark))
        # Newest activity first: a page reaching below the watermark ends the sweep.
        done = (
            len(listed) < wire.CONVERSATION_PAGE
            or oldest_on_page is None
            or oldest_on_page < watermark
        )
        if done:
            cursor_out = encode_cursor(next_watermark, next_watermark, 1)
        else:
            cursor_out = encode_cursor(watermark, next_watermark, page + 1)
        return p.ChangePage(
            server_id=self.server_id,
            cursor=cursor_out,
            has_more=not done,
            agents=agents,
            customers=list(customers.values()),
            conversations=conversations,
            messages=messages,
            replies=replies,
        )

    def _canned_changes(self) -> list[p.ReplyRecord]:
        now = time.monotonic()
        if self._canned_at is not None and now - self._canned_at < CANNED_EVERY_S:
            return []
        self._canned_at = now
        raw = wire.bare_list(self._get(self._account("/canned_responses")), "canned responses")
        stamp = utcnow()
        found: dict[str, p.ReplyRecord] = {}
        for item in raw:
            try:
                record = cw.canned_reply(item, language=self.language, updated_at=stamp)
            except BadResponse as exc:
                log.warning("skipping a canned response: %s", exc)
                continue
            found[record.id] = record
        gone = [
            old.model_copy(update={"deleted": True, "updated_at": stamp})
            for reply_id, old in self._canned.items()
            if reply_id not in found
        ]
        changed = [r for r in found.values() if not _same_reply(self._canned.get(r.id), r)]
        self._canned = found
        return [*changed, *gone]

    def _messages_since(self, number: int, our_id: str, watermark: int) -> list[p.MessageRecord]:
        path = self._account(f"/conversations/{number}/messages")
        collected: dict[int, dict[str, Any]] = {}
        before: int | None = None
        for _ in range(MAX_MESSAGE_REQUESTS):
            params = {"before": before} if before is not None else None
            batch = wire.message_list(self._get(path, params=params))
            if not batch:
                break
            ids = [wire.integer(raw.get("id"), "message id") for raw in batch]
            for message_number, raw in zip(ids, batch, strict=True):
                collected[message_number] = raw
            oldest = min(ids)
            oldest_time = min(wire.integer(raw.get("created_at"), "created_at") for raw in batch)
            if oldest_time < watermark or len(batch) < wire.MESSAGE_PAGE or oldest == before:
                break
            before = oldest
        else:
            raise BadResponse(f"Chatwoot kept sending messages for conversation {number}")
        records = []
        for message_number in sorted(collected):
            raw = collected[message_number]
            if wire.integer(raw.get("created_at"), "created_at") < watermark:
                continue
            records.append(cw.message_record(raw, our_id))
        return records

    def _agent_records(self) -> list[p.AgentRecord]:
        raw = wire.bare_list(self._get(self._account("/agents")), "the agent list")
        records = []
        self._agents = {}
        for item in raw:
            record = cw.agent_record(item)
            records.append(record)
            self._agents[record.name] = wire.integer(item.get("id"), "agent id")
        return records

    # --- writing ------------------------------------------------------------------

    def push(self, key: str, operation: p.Operation) -> p.OperationResult:
        """Send, note, assign or change status; anything else is refused (501)."""
        if isinstance(operation, p.SendMessage):
            return self._send(key, operation)
        if isinstance(operation, p.Assign):
            return self._assign(key, operation)
        if isinstance(operation, p.SetStatus):
            return self._set_status(key, operation)
        if isinstance(operation, p.MarkRead):
            # The published Application API has no "mark read" call; the unread count
            # drops locally and Chatwoot's own follows when an agent opens it there.
            return p.OperationResult(key=key, applied=True, result={"kept": "locally"})
        raise Refused(
            f"Chatwoot cannot {operation.op.replace('_', ' ')}: it holds chats only", status=501
        )

    def _send(self, key: str, op: p.SendMessage) -> p.OperationResult:
        number = self._number(op.conversation_id)
        private = op.kind is MessageKind.NOTE
        now = time.time()
        first = self._first_attempt.get(key)
        since = now - RESEND_WINDOW_S if first is None else first - CLOCK_SKEW_S
        self._first_attempt.setdefault(key, now)
        earlier = self._find_earlier(number, key, op.body, private, since)
        if earlier is not None:
            return self._sent(key, op, earlier, resent=False)
        if op.attachments:
            return self._send_files(key, op, number, private)
        body = {
            "content": op.body,
            "message_type": "outgoing",
            "private": private,
            "content_type": "text",
            "echo_id": key,
        }
        created = wire.bare_object(
            self._call("POST", self._account(f"/conversations/{number}/messages"), json=body),
            "the new message",
        )
        return self._sent(key, op, wire.integer(created.get("id"), "message id"), resent=True)

    def upload(self, key: str, ref: p.AttachmentRef, data: bytes) -> None:
        """Chatwoot takes a message's files with the message itself (a multipart
        POST): keep the bytes until :meth:`push` sends them."""
        self._staged[ref.id] = data

    def _send_files(
        self, key: str, op: p.SendMessage, number: int, private: bool
    ) -> p.OperationResult:
        files = []
        for ref in op.attachments:
            data = self._staged.get(ref.id)
            if data is None:
                raise Refused(f"the file {ref.file_name} was not handed over", status=422)
            files.append(("attachments[]", (ref.file_name, data, ref.content_type)))
        fields = {
            "content": op.body,
            "message_type": "outgoing",
            "private": "true" if private else "false",
            "echo_id": key,
        }
        created = wire.bare_object(
            self._call(
                "POST",
                self._account(f"/conversations/{number}/messages"),
                data=fields,
                files=files,
            ),
            "the new message",
        )
        for ref in op.attachments:
            self._staged.pop(ref.id, None)
        return self._sent(key, op, wire.integer(created.get("id"), "message id"), resent=True)

    def fetch_attachment(self, attachment: p.AttachmentRecord) -> bytes:
        """The file at the attachment's ``data_url``: a signed storage address, asked
        without the account's token (it may be on another host)."""
        url = self.attachment_url(attachment)
        if url is None:
            raise Refused("Chatwoot gave no address for this file", status=404)
        with httpx.Client(
            timeout=httpx.Timeout(10.0, connect=5.0),
            follow_redirects=True,
            max_redirects=5,
            headers={"User-Agent": "cs-console"},
            transport=self._transport,
        ) as client:
            status, _headers, body = capped_request(
                client,
                "GET",
                url,
                who="Chatwoot's file storage",
                deadline=self._deadline,
                max_bytes=p.MAX_ATTACHMENT_BYTES,
            )
        if status != 200:
            raise Refused(f"Chatwoot's file storage answered {status}", status=status)
        return body

    def attachment_url(self, attachment: p.AttachmentRecord) -> str | None:
        """The file's own address (Chatwoot's ``data_url``), when it is a web one."""
        url = attachment.url
        return url if url and url.startswith(("https://", "http://")) else None

    def _sent(self, key: str, op: p.SendMessage, number: int, *, resent: bool) -> p.OperationResult:
        self._claimed[number] = key
        # The engine renames our local message to this id (``outbox.complete``), so the
        # copy pulled back from Chatwoot is the same row, in this session and after.
        result = {"message_id": cw.message_id(number), "posted": resent}
        return p.OperationResult(key=key, applied=True, result=result)

    def _find_earlier(
        self, number: int, key: str, content: str, private: bool, since: float
    ) -> int | None:
        if self._me_id is None:
            self.me()
        path = self._account(f"/conversations/{number}/messages")
        for raw in reversed(wire.message_list(self._get(path))):
            message_number = wire.integer(raw.get("id"), "message id")
            sender = raw.get("sender")
            created = raw.get("created_at")
            if (
                raw.get("message_type") == 1
                and raw.get("private") is private
                and isinstance(sender, dict)
                and sender.get("id") == self._me_id
                and (raw.get("content") or "") == content
                and isinstance(created, int | float)
                and created >= since
                and self._claimed.get(message_number, key) == key
            ):
                return message_number
        return None

    def _assign(self, key: str, op: p.Assign) -> p.OperationResult:
        number = self._number(op.conversation_id)
        path = self._account(f"/conversations/{number}/assignments")
        result: dict[str, Any] = {}
        if op.group is not None:
            team_id = self._team_for(op.group)
            self._call("POST", path, json={"team_id": team_id})
            result["team_id"] = team_id
        if op.assignee is not None:
            agent_id = self._agent_id(op.assignee)
            self._call("POST", path, json={"assignee_id": agent_id})
            result["assignee_id"] = agent_id
        else:
            # Chatwoot unassigns when no user has the id; 0 is never a user's id and,
            # unlike null, fits the spec's "number".
            self._call("POST", path, json={"assignee_id": 0})
            result["assignee_id"] = None
        return p.OperationResult(key=key, applied=True, result=result)

    def _set_status(self, key: str, op: p.SetStatus) -> p.OperationResult:
        number = self._number(op.conversation_id)
        body: dict[str, Any] = {"status": op.status.value}
        if op.status is ConversationStatus.SNOOZED:
            if op.snoozed_until is None:
                raise Refused("snoozing in Chatwoot needs a time to wake up", status=422)
            body["snoozed_until"] = int(op.snoozed_until.timestamp())
        answer = self._call(
            "POST", self._account(f"/conversations/{number}/toggle_status"), json=body
        )
        status = wire.toggled_status(answer)
        if status != op.status.value:
            raise Refused(
                f"Chatwoot left conversation {number} {status}, not {op.status.value}", status=409
            )
        return p.OperationResult(key=key, applied=True, result={"status": status})

    def _number(self, conversation: str) -> int:
        number = cw.chatwoot_conversation(conversation)
        if number is None:
            raise Refused(f"{conversation} is not a Chatwoot conversation", status=422)
        return number

    def _agent_id(self, name: str) -> int:
        if name not in self._agents:
            self._agent_records()
        if name not in self._agents:
            raise Refused(f"Chatwoot has no agent called {name!r} in this account", status=422)
        return self._agents[name]

    def _team_for(self, group: Group) -> int:
        raw = wire.bare_list(self._get(self._account("/teams")), "the team list")
        self._teams = {
            str(team.get("name")): wire.integer(team.get("id"), "team id")
            for team in raw
            if isinstance(team.get("name"), str)
        }
        for name, team_id in sorted(self._teams.items(), key=lambda item: item[1]):
            if cw.group_for_team(name, self.team_groups) is group:
                return team_id
        raise Refused(f"no Chatwoot team stands for the {group.value} desk", status=422)

    # --- HTTP ---------------------------------------------------------------------

    def _account(self, path: str) -> str:
        return f"/accounts/{self.account_id}{path}"

    def _get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self._call("GET", path, params=params)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return wire.read_answer(*self._request(method, path, **kwargs))

    def _request(self, method: str, path: str, **kwargs: Any) -> tuple[int, httpx.Headers, bytes]:
        return capped_request(
            self._client, method, path, **kwargs, who="Chatwoot", deadline=self._deadline
        )


def _same_reply(old: p.ReplyRecord | None, new: p.ReplyRecord) -> bool:
    if old is None:
        return False
    return old.model_dump(exclude={"updated_at"}) == new.model_dump(exclude={"updated_at"})
