"""The web chat widget's public endpoint (``/widget/v1/...``) and its static files.

Anyone on the internet may call it, so every request goes through the same checks,
in this order, before any work: the page's origin (403), the address's rate (429), the
declared size (413), the session token (401), the session's rate (429), then the body
(a streamed body over the limit 413, a bad one 422). Only what the verified token
names is ever read: a visitor sees their own conversation and nothing else.

The contract is ``widget_api.md``; every answer is JSON (but the static files and an
attachment's bytes), never HTML built from input.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from cs_console import protocol as p
from cs_console.sanitize import sanitize, sanitize_line
from cs_console.server.attachments import file_response
from cs_console.server.channel_desk import Visitor
from cs_console.server.channels.guard import (
    Concurrency,
    Cors,
    ProofOfWork,
    RateLimiter,
    client_address,
    retry_after,
)
from cs_console.server.channels.widget_tokens import (
    IdentityError,
    KeyFile,
    Session,
    read_identity_secret,
    verify_identity,
)
from cs_console.server.errors import OperationError
from cs_console.server.inbox import Contact, IncomingFile, SeenMessage
from cs_console.server.limits import cut
from cs_console.server.settings import ServerSettings
from cs_console.server.state import ServerState

log = logging.getLogger(__name__)

#: The largest JSON body taken.
MAX_JSON_BYTES = 16 * 1024
#: The longest message a customer may write (the script counts UTF-16 units, which
#: are never fewer than the code points counted here).
MAX_CHARS = 4000
#: The longest a long-poll is held.
MAX_WAIT_S = 25.0
#: Long-polls held at once by one session, and by one address.
POLLS_PER_SESSION = 2
POLLS_PER_ADDRESS = 20
#: An expired token still resumes its visitor this long after it expired.
RESUME_GRACE = timedelta(days=30)
#: Messages in one answer.
PAGE = 100

_CLIENT_KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_SHOP = re.compile(r"^[A-Za-z0-9_.-]{0,64}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$")
_WAIT = re.compile(r"^\d{1,2}(\.\d{1,3})?$")

#: On every API answer: never sniffed into something else, never kept by a cache.
API_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}
#: The demo page's policy: its own scripts and styles, nothing inline but styles.
DEMO_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'; object-src 'none'"
)
STATIC = Path(__file__).parent / "static"
ANY_METHOD = ["OPTIONS", "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


class Refused(Exception):
    """A request refused with a 4xx answer (carried as the exception's response)."""

    def __init__(self, status: int, error: str, detail: str = "", **extra: Any) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.detail = detail
        self.extra = extra
        self.headers: dict[str, str] = {}


def answer(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer (``ensure_ascii``: whatever it holds, the bytes are plain ASCII)."""
    return Response(
        json.dumps(payload), status_code=status, media_type="application/json", headers=headers
    )


def error_answer(status: int, error: str, detail: str = "", **extra: Any) -> Response:
    """The contract's error body ``{"error", "detail"}`` (and any extra fields)."""
    body = {
        "error": cut(sanitize_line(error), p.MAX_NAME_CHARS),
        "detail": cut(sanitize(detail), p.MAX_BODY_CHARS),
    }
    return answer(status, body | extra)


def too_many(seconds: float) -> Refused:
    """429 with its ``Retry-After``."""
    refused = Refused(429, "too many requests", "slow down and try again")
    refused.headers["Retry-After"] = retry_after(seconds)
    return refused


def iso(at: datetime) -> str:
    """ISO-8601 in UTC with a ``Z`` (a naive time is taken as UTC)."""
    aware = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def message_json(message: SeenMessage) -> dict[str, Any]:
    """A message as the contract has it; text fields plain, sanitised once more."""
    return {
        "id": message.id,
        "from": "agent" if message.kind == "agent" else "customer",
        "author": sanitize_line(message.author),
        "body": sanitize(message.body),
        "at": iso(message.created_at),
        "attachments": [
            {"id": a.id, "name": a.file_name, "type": a.content_type, "size": a.size}
            for a in message.attachments
        ],
    }


def text_field(found: dict[str, Any], name: str, *, low: int, high: int, line: bool) -> str:
    """A string field of the body, ``low..high`` characters, sanitised.

    Raises:
        Refused: 422 when missing, not a string, out of bounds, or not valid Unicode.
    """
    value = found.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise Refused(422, "invalid field", f"{name}: a string is required")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise Refused(422, "invalid field", f"{name}: not valid Unicode text") from None
    if len(value) > high:
        raise Refused(422, "invalid field", f"{name}: at most {high} characters")
    cleaned = (sanitize_line(value) if line else sanitize(value)).strip()
    if len(cleaned) < low:
        raise Refused(422, "invalid field", f"{name}: required")
    return cleaned


def client_key(value: object, name: str = "id") -> str:
    """A client key: 8-64 of ``[A-Za-z0-9_-]``.

    Raises:
        Refused: 422 otherwise.
    """
    if not isinstance(value, str) or not _CLIENT_KEY.match(value):
        raise Refused(422, "invalid field", f"{name}: 8-64 letters, digits, _ or -")
    return value


@dataclass
class Call:
    """One request past the guards: its body and, on session calls, the session."""

    request: Request
    address: str
    session: Session | None
    body: bytes

    @property
    def visitor_id(self) -> str:
        """The verified session's visitor."""
        assert self.session is not None
        return self.session.visitor_id

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object.

        Raises:
            Refused: 422 when it is not one.
        """
        try:
            found = json.loads(self.body or b"{}")
        except (ValueError, RecursionError):
            raise Refused(422, "invalid JSON", "expected a JSON object") from None
        if not isinstance(found, dict):
            raise Refused(422, "invalid JSON", "expected a JSON object")
        return found


Handler = Callable[[Call], Awaitable[Response]]


class WidgetEndpoint:
    """The widget's API over one server state, with its guards' memory."""

    def __init__(self, state: ServerState, settings: ServerSettings) -> None:
        self.state = state
        self.settings = settings
        widget = settings.channels.widget
        self.widget = widget
        self.keys = KeyFile(settings.widget_secret_path())
        self.identity_secret = self._identity_secret(settings.identity_secret_path())
        self.cors = Cors(widget.allowed_origins)
        self.by_address = RateLimiter.per_minute(widget.per_address_per_minute)
        self.by_session = RateLimiter.per_minute(widget.per_session_per_minute)
        self.messages = RateLimiter.per_minute(widget.messages_per_minute)
        self.new_sessions = RateLimiter(widget.sessions_per_hour, widget.sessions_per_hour / 3600)
        self.polls_by_session = Concurrency(POLLS_PER_SESSION)
        self.polls_by_address = Concurrency(POLLS_PER_ADDRESS)
        self.pow = ProofOfWork(widget.pow_bits)

    @staticmethod
    def _identity_secret(path: Path | None) -> bytes | None:
        if path is None:
            return None
        try:
            return read_identity_secret(path)
        except IdentityError as exc:
            # The widget still serves anonymous visitors; the shop's developer sees why
            # identities are ignored in the server's log.
            log.error("signed identities are off: %s", exc)
            return None

    def now(self) -> datetime:
        """The server's clock (tests move it)."""
        return self.state.clock()

    # --- the guards -------------------------------------------------------------

    def guarded(
        self, handler: Handler, *, session: bool = True, limit: int = MAX_JSON_BYTES
    ) -> Callable[[Request], Awaitable[Response]]:
        """``handler`` behind the checks, in the contract's order; its answer (or the
        refusal) gets the API headers."""

        async def endpoint(request: Request) -> Response:
            if not self.cors.origin_allowed(request):
                # No CORS headers: the page that sent it cannot even read the refusal.
                return self._finish(error_answer(403, "origin not allowed"), None)
            try:
                response = await self._run(request, handler, session=session, limit=limit)
            except Refused as refused:
                response = error_answer(
                    refused.status, refused.error, refused.detail, **refused.extra
                )
                response.headers.update(refused.headers)
            except OperationError as exc:
                if exc.status >= 500:
                    log.error("widget endpoint: %s", exc)
                response = error_answer(exc.status, str(exc), exc.detail)
            except ClientDisconnect:
                response = error_answer(400, "the client went away")
            except Exception:
                # A bug of ours, never something a client sent: logged, answered as JSON.
                log.exception("widget endpoint failed on %s", request.url.path)
                response = error_answer(500, "the server had a problem")
            return self._finish(response, request)

        return endpoint

    def _finish(self, response: Response, request: Request | None) -> Response:
        for name, value in API_HEADERS.items():
            response.headers.setdefault(name, value)
        if request is not None:
            response.headers.update(self.cors.headers(request))
        else:
            response.headers["Vary"] = "Origin"
        return response

    async def _run(
        self, request: Request, handler: Handler, *, session: bool, limit: int
    ) -> Response:
        address = client_address(request)
        wait = self.by_address.take(address)
        if wait:
            raise too_many(wait)
        declared = request.headers.get("content-length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > limit:
            raise Refused(413, "request too large", f"at most {limit} bytes")
        found: Session | None = None
        if session:
            found = self._session(request)
            wait = self.by_session.take(found.visitor_id)
            if wait:
                raise too_many(wait)
        # Read after the token: a caller without one cannot make us hold a big body.
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise Refused(413, "request too large", f"at most {limit} bytes")
        return await handler(Call(request, address, found, bytes(body)))

    def _session(self, request: Request) -> Session:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Refused(401, "missing bearer token")
        found = self.keys.keys().verify(token.strip())
        if found is None:
            raise Refused(401, "invalid session token")
        if found.expires < self.now().timestamp():
            raise Refused(401, "session expired", "open a new session")
        return found

    async def _visitor(self, call: Call) -> Visitor:
        found = await run_in_threadpool(self.state.channels.visitor, call.visitor_id)
        if found is None:
            raise Refused(401, "unknown session", "open a new session")
        return found

    def _message_budget(self, call: Call) -> None:
        wait = self.messages.take(call.visitor_id)
        if wait:
            raise too_many(wait)

    # --- the session --------------------------------------------------------------

    def _service(self) -> dict[str, Any]:
        service = self.settings.service
        return {
            "open": service.is_open(self.now()),
            "hours": service.hours,
            "timezone": service.timezone,
        }

    async def session(self, call: Call) -> Response:
        """``POST /widget/v1/session``: resume or start a visitor; a fresh token."""
        found = call.json_object()
        shop = found.get("shop")
        if shop is not None and not (isinstance(shop, str) and _SHOP.match(shop)):
            raise Refused(422, "invalid field", "shop: up to 64 letters, digits, _ . -")
        languages = self.widget.languages
        asked = found.get("language")
        language = asked if isinstance(asked, str) and asked in languages else languages[0]
        token = found.get("token")
        if token is not None and not isinstance(token, str):
            raise Refused(422, "invalid field", "token: a string or null")
        identity = found.get("identity")
        if identity is not None and not isinstance(identity, str):
            raise Refused(422, "invalid field", "identity: a string or null")
        proof = found.get("pow")
        if proof is not None and not isinstance(proof, dict):
            raise Refused(422, "invalid field", "pow: {challenge, nonce} or null")

        now = self.now()
        visitor: Visitor | None = None
        if token:
            previous = self.keys.keys().verify(token)
            expired_long_ago = (
                previous is not None and previous.expires < (now - RESUME_GRACE).timestamp()
            )
            if previous is not None and not expired_long_ago:
                visitor = await run_in_threadpool(self.state.channels.visitor, previous.visitor_id)
        if visitor is None:
            self._step_up(call, proof)
            visitor = await run_in_threadpool(self.state.channels.new_visitor, language)
        if identity and self.identity_secret is not None:
            try:
                contact = verify_identity(
                    self.identity_secret, identity, now.timestamp(), language=visitor.language
                )
            except IdentityError as exc:
                # An expired or wrong identity leaves the visitor anonymous: a stale
                # page keeps its chat. The reason goes to the log, not to the caller.
                log.info("widget: a signed identity was not taken: %s", exc)
            else:
                visitor = await run_in_threadpool(
                    self.state.channels.identify_visitor, visitor, contact
                )
        expires = now + timedelta(days=self.widget.session_days)
        agent = await self._agent(visitor.conversation_id)
        return answer(
            200,
            {
                "token": self.keys.keys().issue(visitor.id, int(expires.timestamp())),
                "expires_at": iso(expires),
                "agent": agent,
                **self._service(),
                "languages": list(languages),
                "max_image_bytes": self.widget.max_image_bytes,
                "max_chars": MAX_CHARS,
                "shop_name": self.widget.shop_name,
            },
        )

    def _step_up(self, call: Call, proof: dict[str, Any] | None) -> None:
        """A new session: free while the address opens few; past that, only with a
        solved challenge (428 hands one out)."""
        if proof is not None:
            if self.pow.verify(proof.get("challenge"), proof.get("nonce")):
                return
            raise Refused(
                428,
                "proof of work required",
                "the proof was wrong, used or stale: solve this one",
                challenge=self.pow.challenge(),
                difficulty=self.pow.bits,
            )
        if self.new_sessions.take(call.address):
            raise Refused(
                428,
                "proof of work required",
                "too many new sessions from this address",
                challenge=self.pow.challenge(),
                difficulty=self.pow.bits,
            )

    async def _agent(self, conversation_id: str | None) -> str | None:
        if conversation_id is None:
            return None
        return await run_in_threadpool(self.state.channels.agent_of, conversation_id)

    # --- messages -----------------------------------------------------------------

    async def read_messages(self, call: Call) -> Response:
        """``GET /widget/v1/messages``: what is new, held up to ``wait`` seconds."""
        query = call.request.query_params
        after = query.get("after", "") or None
        if after is not None and not _ID.match(after):
            raise Refused(422, "invalid query", "after: a message id")
        raw_wait = query.get("wait", "") or "0"
        if not _WAIT.match(raw_wait) or not 0 <= float(raw_wait) <= MAX_WAIT_S:
            raise Refused(422, "invalid query", f"wait: 0 to {MAX_WAIT_S:g} seconds")
        wait = float(raw_wait)
        if wait <= 0:
            return await self._page(call.visitor_id, after)
        if not self.polls_by_session.acquire(call.visitor_id):
            raise too_many(1)
        if not self.polls_by_address.acquire(call.address):
            self.polls_by_session.release(call.visitor_id)
            raise too_many(1)
        try:
            return await self._long_poll(call, after, wait)
        finally:
            self.polls_by_address.release(call.address)
            self.polls_by_session.release(call.visitor_id)

    async def _long_poll(self, call: Call, after: str | None, wait: float) -> Response:
        deadline = time.monotonic() + wait
        bell = self.state.bell
        while True:
            # The count before the read: a write committed after it rings past it.
            seen = bell.count
            response, found = await self._page_and_count(call.visitor_id, after)
            left = deadline - time.monotonic()
            if found or left <= 0 or bell.closed or await call.request.is_disconnected():
                return response
            await bell.wait(seen, left)

    async def _page(self, visitor_id: str, after: str | None) -> Response:
        response, _ = await self._page_and_count(visitor_id, after)
        return response

    async def _page_and_count(self, visitor_id: str, after: str | None) -> tuple[Response, int]:
        def read() -> tuple[list[SeenMessage], str | None]:
            visitor = self.state.channels.visitor(visitor_id)
            if visitor is None:
                raise Refused(401, "unknown session", "open a new session")
            if visitor.conversation_id is None:
                return [], None
            messages = self.state.channels.customer_view(
                visitor.conversation_id, after=after, limit=PAGE
            )
            return messages, self.state.channels.agent_of(visitor.conversation_id)

        messages, agent = await run_in_threadpool(read)
        payload = {
            "messages": [message_json(m) for m in messages],
            "agent": agent,
            "open": self.settings.service.is_open(self.now()),
        }
        return answer(200, payload), len(messages)

    async def write_message(self, call: Call) -> Response:
        """``POST /widget/v1/messages``: the customer writes (once per client key)."""
        self._message_budget(call)
        found = call.json_object()
        key = client_key(found.get("id"))
        body = text_field(found, "body", low=1, high=MAX_CHARS, line=False)
        visitor = await self._visitor(call)
        return await self._write(visitor, body, (), key)

    async def _write(
        self,
        visitor: Visitor,
        body: str,
        files: tuple[IncomingFile, ...],
        key: str,
        contact: Contact | None = None,
    ) -> Response:
        def work() -> list[SeenMessage]:
            channels = self.state.channels
            conversation_id = channels.visitor_conversation(
                visitor, contact or Contact(language=visitor.language)
            )
            ids = channels.customer_writes(conversation_id, body, files, key=key)
            return channels.customer_messages(conversation_id, ids)

        stored = await run_in_threadpool(work)
        return answer(200, {"messages": [message_json(m) for m in stored]})

    # --- attachments --------------------------------------------------------------

    async def upload(self, call: Call) -> Response:
        """``PUT /widget/v1/attachments``: an image as a customer message."""
        self._message_budget(call)
        key = client_key(call.request.query_params.get("id"))
        name = call.request.query_params.get("name", "") or "image"
        if len(name) > 1000:
            raise Refused(422, "invalid query", "name: at most 1000 characters")
        if not call.body:
            raise Refused(422, "the file is empty")
        found = p.sniff_type(call.body)
        if found is None or not found.startswith("image/"):
            raise Refused(415, "not an image", "JPEG, PNG, GIF or WebP only")
        visitor = await self._visitor(call)
        return await self._write(visitor, "", (IncomingFile(name, call.body),), key)

    async def download(self, call: Call) -> Response:
        """``GET /widget/v1/attachments/{id}``: a file of this visitor's conversation."""
        attachment_id = str(call.request.path_params["attachment_id"])
        if not _ID.match(attachment_id):
            raise Refused(404, "no such attachment")
        visitor = await self._visitor(call)
        conversation_id = visitor.conversation_id
        if conversation_id is None:
            raise Refused(404, "no such attachment")

        def read() -> tuple[p.AttachmentRecord, bytes] | None:
            found = self.state.channels.customer_attachment(conversation_id, attachment_id)
            if found is None:
                return None
            record, path = found
            return record, path.read_bytes()

        found = await run_in_threadpool(read)
        if found is None:
            raise Refused(404, "no such attachment")
        return file_response(*found)

    # --- typing and the offline form ------------------------------------------------

    async def typing(self, call: Call) -> Response:
        """``POST /widget/v1/typing``: shown to the agents (at most every few seconds)."""
        call.json_object()
        visitor = await self._visitor(call)
        if visitor.conversation_id is not None:
            await run_in_threadpool(self.state.channels.customer_typing, visitor.conversation_id)
        return Response(status_code=204)

    async def offline(self, call: Call) -> Response:
        """``POST /widget/v1/offline``: the form shown outside service hours."""
        self._message_budget(call)
        found = call.json_object()
        name = text_field(found, "name", low=0, high=p.MAX_NAME_CHARS, line=True)
        email = text_field(found, "email", low=3, high=254, line=True)
        if not _EMAIL.match(email):
            raise Refused(422, "invalid field", "email: an email address")
        body = text_field(found, "body", low=1, high=MAX_CHARS, line=False)
        visitor = await self._visitor(call)
        # The form has no client key: the same words sent twice are stored once.
        digest = hashlib.sha256(f"{name}\n{email}\n{body}".encode()).hexdigest()[:32]
        signed = f"{body}\n\n— {name} <{email}>" if name else f"{body}\n\n— <{email}>"
        # The address is unverified: anyone can type a known customer's. So it is told to
        # the agent (in the text) but never links the visitor to that customer and their
        # orders; only the shop's signed identity does that.
        contact = Contact(name=name, language=visitor.language)
        await self._write(visitor, signed, (), f"offline-{digest}", contact)
        return answer(200, {"ok": True})

    # --- preflight ------------------------------------------------------------------

    async def preflight(self, request: Request) -> Response:
        """``OPTIONS``: what a page of an allowed origin may send; any other method on a
        path not above (or a method a path above does not take): a JSON 404."""
        if request.method != "OPTIONS":
            return self._finish(error_answer(404, "not found"), None)
        if not self.cors.origin_allowed(request) or request.headers.get("origin") is None:
            return self._finish(error_answer(403, "origin not allowed"), None)
        response = Response(status_code=204, headers=Cors.preflight_headers(request))
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


# --- static files -------------------------------------------------------------------


@dataclass
class StaticFile:
    """A file of the package's ``static`` folder, kept in memory until it changes."""

    name: str
    media_type: str
    headers: dict[str, str]
    _data: bytes | None = None
    _stamp: int | None = None

    def read(self) -> bytes | None:
        """The file's bytes (None if it is not there)."""
        path = STATIC / self.name
        try:
            stamp = path.stat().st_mtime_ns
            if stamp != self._stamp or self._data is None:
                self._data, self._stamp = path.read_bytes(), stamp
        except OSError:
            self._data = self._stamp = None
        return self._data

    async def endpoint(self, _request: Request) -> Response:
        """Serve it, or a JSON 404."""
        data = await run_in_threadpool(self.read)
        if data is None:
            response = error_answer(404, "not found", f"{self.name} is not installed")
            response.headers.update(API_HEADERS)
            return response
        headers = {"X-Content-Type-Options": "nosniff"} | self.headers
        return Response(data, media_type=self.media_type, headers=headers)


def widget_routes(state: ServerState, settings: ServerSettings) -> list[BaseRoute]:
    """The widget's routes: its API and its static files."""
    api = WidgetEndpoint(state, settings)
    image_limit = settings.channels.widget.max_image_bytes
    cached = {"Cache-Control": "public, max-age=300"}
    script = StaticFile("widget.js", "text/javascript; charset=utf-8", cached)
    style = StaticFile("widget.css", "text/css; charset=utf-8", cached)
    routes: list[BaseRoute] = [
        Route("/widget.js", script.endpoint, methods=["GET"]),
        Route("/widget.css", style.endpoint, methods=["GET"]),
        Route(
            "/widget/v1/session",
            api.guarded(api.session, session=False),
            methods=["POST"],
        ),
        Route("/widget/v1/messages", api.guarded(api.read_messages), methods=["GET"]),
        Route("/widget/v1/messages", api.guarded(api.write_message), methods=["POST"]),
        Route(
            "/widget/v1/attachments",
            api.guarded(api.upload, limit=image_limit),
            methods=["PUT"],
        ),
        Route(
            "/widget/v1/attachments/{attachment_id}",
            api.guarded(api.download),
            methods=["GET"],
        ),
        Route("/widget/v1/typing", api.guarded(api.typing), methods=["POST"]),
        Route("/widget/v1/offline", api.guarded(api.offline), methods=["POST"]),
        # Last: a path above with another method matches it only partly, so a
        # preflight to any of them ends here.
        Route("/widget/v1/{rest:path}", api.preflight, methods=ANY_METHOD),
    ]
    if settings.channels.widget.demo_page:
        demo = StaticFile(
            "demo.html",
            "text/html; charset=utf-8",
            {"Content-Security-Policy": DEMO_CSP, "Cache-Control": "no-cache"},
        )
        demo_style = StaticFile("demo.css", "text/css; charset=utf-8", cached)
        routes[2:2] = [
            Route("/widget/demo", demo.endpoint, methods=["GET"]),
            Route("/widget/demo.css", demo_style.endpoint, methods=["GET"]),
        ]
    return routes
