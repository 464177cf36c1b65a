"""The reference server's HTTP layer (Starlette). Every endpoint but /health needs a
bearer token; errors are JSON ``{"error": ..., "detail": ...}``, a 500 included."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from cs_console import protocol as p
from cs_console.domain import Group, Role
from cs_console.sanitize import sanitize, sanitize_line
from cs_console.server.agents import Keep, check_name
from cs_console.server.attachments import file_response
from cs_console.server.errors import OperationError
from cs_console.server.limits import cut
from cs_console.server.settings import ServerSettings
from cs_console.server.state import Caller, FeedError, ServerState

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 64 * 1024
MAX_KEY_CHARS = 128
#: The longest a change-feed request may be held open waiting for a change (seconds).
MAX_WAIT_S = 25.0
#: The largest cursor a database integer holds (SQLite's and PostgreSQL's bigint).
MAX_SINCE = 2**63 - 1

Handler = Callable[[Request, Caller], Awaitable[Response]]


def _json(status: int, payload: Any) -> Response:
    body = payload.model_dump_json() if isinstance(payload, p.Record) else json.dumps(payload)
    return Response(body, status_code=status, media_type="application/json")


def _error(status: int, error: str, detail: str = "") -> Response:
    # Held to ErrorBody's own limits, so a strict client can always read the reason.
    return _json(
        status,
        {
            "error": cut(sanitize_line(error), p.MAX_NAME_CHARS),
            "detail": cut(sanitize(detail), p.MAX_BODY_CHARS),
        },
    )


def _refused(exc: OperationError) -> Response:
    return _error(exc.status, str(exc), exc.detail)


def create_app(state: ServerState, settings: ServerSettings | None = None) -> Starlette:
    """The ASGI app serving ``state``: the agents' API, and the customer channels'
    public endpoints as ``settings`` has them (the widget on, by default)."""
    settings = settings or ServerSettings()

    def authed(
        handler: Handler, *, supervisor: bool = False
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            header = request.headers.get("authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return _error(401, "missing bearer token")
            caller = await run_in_threadpool(state.authenticate, token.strip())
            if caller is None:
                return _error(401, "unknown or revoked token")
            if supervisor and caller.role is not Role.SUPERVISOR:
                return _error(403, "supervisors only")
            return await handler(request, caller)

        return endpoint

    async def health(_request: Request) -> Response:
        return _json(200, {"ok": True, "server_id": state.server_id})

    async def me(_request: Request, caller: Caller) -> Response:
        return _json(200, await run_in_threadpool(state.me, caller))

    async def changes(request: Request) -> Response:
        # The endpoint every agent polls: the token check and the page are read in one
        # thread-pool call, since each hop waits its turn for a thread and the GIL.
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return _error(401, "missing bearer token")
        problem = ""
        since = limit = 0
        wait = 0.0
        try:
            since = int(request.query_params.get("since") or "0")
            limit = int(request.query_params.get("limit", str(p.DEFAULT_PAGE)))
            wait = float(request.query_params.get("wait") or "0")
        except ValueError:
            problem = "since, limit and wait must be numbers"
        if not problem and (not 0 <= since <= MAX_SINCE or not 1 <= limit <= p.MAX_PAGE):
            problem = f"0 <= since <= {MAX_SINCE} and 1 <= limit <= {p.MAX_PAGE}"
        if not problem and not 0 <= wait <= MAX_WAIT_S:
            problem = f"0 <= wait <= {MAX_WAIT_S:g}"

        def work() -> tuple[bool, p.ChangePage | None, str]:
            caller = state.authenticate(token.strip())
            if caller is None:
                return False, None, ""
            # A poll is the console's heartbeat: its agent stays present (routing.py).
            state.heard_from(caller)
            if problem:
                return True, None, ""
            try:
                return True, state.changes(since, limit), ""
            except FeedError as exc:
                log.error("change feed: %s", exc)
                return True, None, str(exc)

        # As before, the token is checked first: an unknown caller learns nothing more.
        # With ``wait``, an empty page is held until a write rings the bell (long-poll):
        # the console hears of a customer's message within a loop turn, not a poll later.
        deadline = time.monotonic() + wait
        while True:
            seen = state.bell.count
            known, page, broken = await run_in_threadpool(work)
            left = deadline - time.monotonic()
            if not known or page is None or page.count() or left <= 0 or state.bell.closed:
                break
            await state.bell.wait(seen, left)
        if not known:
            return _error(401, "unknown or revoked token")
        if broken:
            return _error(500, "the change feed holds a row it cannot serve", broken)
        if page is None:
            return _error(422, problem)
        return _json(200, page)

    async def read_body(request: Request) -> bytes | Response:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_REQUEST_BYTES:
            return _error(413, "request too large")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_REQUEST_BYTES:
                return _error(413, "request too large")
        return body

    async def operations(request: Request, caller: Caller) -> Response:
        key = request.headers.get("idempotency-key", "").strip()
        if not key or len(key) > MAX_KEY_CHARS:
            return _error(400, "an Idempotency-Key header (1-128 characters) is required")
        body = await read_body(request)
        if isinstance(body, Response):
            return body
        try:
            envelope = p.OperationEnvelope.model_validate_json(body)
        except ValidationError as exc:
            errors = exc.errors()
            where = ".".join(str(x) for x in errors[0]["loc"]) if errors else ""
            reason = errors[0]["msg"] if errors else "invalid"
            return _error(422, "invalid operation", f"{where}: {reason}")
        try:
            result = await run_in_threadpool(state.apply, caller, key, envelope.operation)
        except OperationError as exc:
            return _refused(exc)
        return _json(200, result)

    async def upload_attachment(request: Request, caller: Caller) -> Response:
        # The bytes as they are (no multipart to parse); the name in the query string,
        # sanitised like any text. The id is the client's: a repeat is answered alike.
        attachment_id = str(request.path_params["attachment_id"])
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > p.MAX_ATTACHMENT_BYTES:
            return _error(413, "the file is too large")
        data = bytearray()
        async for chunk in request.stream():
            data += chunk
            if len(data) > p.MAX_ATTACHMENT_BYTES:
                return _error(413, "the file is too large")
        name = request.query_params.get("name", "")
        try:
            record = await run_in_threadpool(
                state.upload_attachment, caller, attachment_id, name, bytes(data)
            )
        except OperationError as exc:
            return _refused(exc)
        return _json(200, record)

    async def download_attachment(request: Request, caller: Caller) -> Response:
        attachment_id = str(request.path_params["attachment_id"])
        found = await run_in_threadpool(state.attachment_file, caller, attachment_id)
        if found is None:
            return _error(404, "no such attachment")
        record, path = found
        return file_response(record, await run_in_threadpool(path.read_bytes))

    async def list_agents(_request: Request, _caller: Caller) -> Response:
        agents = await run_in_threadpool(state.list_agents)
        return _json(
            200,
            {
                "agents": [
                    rec.model_dump(mode="json") | {"revoked": revoked} for rec, revoked in agents
                ]
            },
        )

    async def read_object(request: Request) -> dict[str, Any] | Response:
        body = await read_body(request)
        if isinstance(body, Response):
            return body
        try:
            found = json.loads(body or b"{}")
        except (ValueError, RecursionError):
            return _error(422, "expected a JSON object")
        if not isinstance(found, dict):
            return _error(422, "expected a JSON object")
        return found

    def role_and_group(found: dict[str, Any]) -> tuple[Role, Group | Keep | None] | Response:
        try:
            role = Role(str(found.get("role")))
        except ValueError:
            return _error(422, "role must be agent or supervisor")
        if "group" not in found:
            return role, Keep.KEEP
        if found["group"] is None:
            return role, None
        try:
            return role, Group(found["group"])
        except ValueError:
            return _error(422, "group must be pre-sale, after-sale or null")

    async def add_agent(request: Request, caller: Caller) -> Response:
        found = await read_object(request)
        if isinstance(found, Response):
            return found
        # The raw name is checked before the protocol model would sanitise it: a name
        # with control characters is refused, not quietly changed.
        try:
            name = check_name(found.get("name"))
        except OperationError as exc:
            return _refused(exc)
        parsed = role_and_group(found)
        if isinstance(parsed, Response):
            return parsed
        role, group = parsed
        chosen = group.value if isinstance(group, Group) else None
        try:
            token = await run_in_threadpool(
                lambda: state.add_agent(name, role, chosen, by=caller.name)
            )
        except OperationError as exc:
            return _refused(exc)
        return _json(200, {"name": name, "token": token})

    def target(request: Request, caller: Caller) -> str | Response:
        name = str(request.path_params["name"])
        if name == caller.name:
            return _error(403, "ask another supervisor to change your own account")
        return name

    async def change_role(request: Request, caller: Caller) -> Response:
        name = target(request, caller)
        if isinstance(name, Response):
            return name
        found = await read_object(request)
        if isinstance(found, Response):
            return found
        parsed = role_and_group(found)
        if isinstance(parsed, Response):
            return parsed
        role, group = parsed
        try:
            record = await run_in_threadpool(
                lambda: state.set_agent_role(name, role, group=group, by=caller.name)
            )
        except OperationError as exc:
            return _refused(exc)
        return _json(200, record.model_dump(mode="json"))

    async def enable_agent(request: Request, caller: Caller) -> Response:
        name = target(request, caller)
        if isinstance(name, Response):
            return name
        try:
            token = await run_in_threadpool(lambda: state.enable_agent(name, by=caller.name))
        except OperationError as exc:
            return _refused(exc)
        return _json(200, {"name": name, "token": token})

    routes: list[BaseRoute] = [
        Route("/health", health),
        Route("/api/v1/me", authed(me)),
        Route("/api/v1/changes", changes),
        Route("/api/v1/operations", authed(operations), methods=["POST"]),
        Route(
            "/api/v1/attachments/{attachment_id}",
            authed(upload_attachment),
            methods=["PUT"],
        ),
        Route("/api/v1/attachments/{attachment_id}", authed(download_attachment)),
        Route("/api/v1/agents", authed(list_agents, supervisor=True)),
        Route("/api/v1/agents", authed(add_agent, supervisor=True), methods=["POST"]),
        Route(
            "/api/v1/agents/{name}/role",
            authed(change_role, supervisor=True),
            methods=["POST"],
        ),
        Route(
            "/api/v1/agents/{name}/enable",
            authed(enable_agent, supervisor=True),
            methods=["POST"],
        ),
    ]

    if settings.channels.widget.enabled:
        from cs_console.server.channels.widget_api import widget_routes

        routes.extend(widget_routes(state, settings))

    async def http_error(_request: Request, exc: Exception) -> Response:
        # Unknown paths and wrong methods: the same JSON error body as everything else.
        assert isinstance(exc, HTTPException)
        response = _error(exc.status_code, str(exc.detail))
        response.headers.update(exc.headers or {})
        return response

    async def server_error(_request: Request, exc: Exception) -> Response:
        # Whatever went wrong, the client gets the JSON error body, never a traceback.
        log.error("unexpected error", exc_info=exc)
        return _error(500, "the server had a problem", type(exc).__name__)

    return Starlette(
        routes=routes, exception_handlers={HTTPException: http_error, Exception: server_error}
    )
