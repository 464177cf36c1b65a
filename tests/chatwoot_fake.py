"""A fake Chatwoot for tests: real HTTP on 127.0.0.1, every request checked against the
vendored OpenAPI document, answers shaped like the real server's.

What is checked (``SpecValidator``): that the path and method exist in
``tests/fixtures/chatwoot/application_swagger.json``; path parameters' types; query
parameters (unknown names are rejected, values must fit their schema); the
``api_access_token`` header the security schemes name; the JSON body against the
operation's schema, and no top-level body keys the schema does not list (stricter than
the spec, which does not forbid extras, so that a misspelt key is caught).

The spec lags the server in places the adapter relies on. Each gap is a documented
patch in ``SPEC_GAPS``, applied on top of the vendored file (which stays untouched):

* ``GET .../messages`` takes ``before`` and ``after`` (message ids) in the real server
  (``MessageFinder``); the spec lists no query parameters.
* ``POST .../toggle_status`` takes ``status: "snoozed"`` with ``snoozed_until`` (Unix
  seconds); the spec's enum stops at open/resolved/pending.
* ``POST .../messages`` takes ``echo_id`` (the real builder passes it to the message as
  a transient attribute; it is never stored).
* ``POST .../messages`` also takes ``multipart/form-data`` with files in
  ``attachments[]`` (the real controller's ``params[:attachments]``; the spec lists JSON
  only). The files are served back, without a token, at their ``data_url`` (an Active
  Storage address, outside the Application API).

Answers follow the real server where it differs from the spec: conversations carry
``status: "snoozed"``, ``snoozed_until`` as ISO text, ``waiting_since: 0`` for nobody
waiting, and ``meta.team``; the 429 from Rack::Attack is plain text; ``echo_id`` and
unknown ``content_attributes`` are not kept on a stored message.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import default as email_policy
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from jsonschema import Draft4Validator
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.harness import free_port

SPEC_PATH = Path(__file__).parent / "fixtures" / "chatwoot" / "application_swagger.json"
PAGE = 25
MESSAGE_PAGE = 20

_INT = {"type": "integer"}

#: Where the real server accepts more than the spec says; see the module docstring.
SPEC_GAPS: dict[tuple[str, str], dict[str, Any]] = {
    ("get", "/api/v1/accounts/{account_id}/conversations/{conversation_id}/messages"): {
        "query": {"before": _INT, "after": _INT},
    },
    ("post", "/api/v1/accounts/{account_id}/conversations/{conversation_id}/toggle_status"): {
        "body": {
            "status": {"type": "string", "enum": ["open", "resolved", "pending", "snoozed"]},
            "snoozed_until": _INT,
        },
    },
    ("post", "/api/v1/accounts/{account_id}/conversations/{conversation_id}/messages"): {
        "body": {"echo_id": {"type": "string"}},
        "multipart": {"content", "message_type", "private", "echo_id", "attachments[]"},
    },
}

#: Where the fake serves stored files (Active Storage's redirect path in the real one).
BLOB_PREFIX = "/rails/active_storage/blobs/redirect/"


class SpecViolation(Exception):
    """A request the vendored OpenAPI document does not allow."""


@dataclass(frozen=True)
class _Operation:
    template: str
    method: str
    pattern: re.Pattern[str]
    path_params: dict[str, dict[str, Any]]
    query_params: dict[str, tuple[dict[str, Any], bool]]
    body: dict[str, Any] | None
    body_required: bool
    needs_token: bool
    multipart: frozenset[str] = frozenset()


class SpecValidator:
    """Checks requests against the vendored document plus ``SPEC_GAPS``."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.operations: list[_Operation] = []
        for template, item in document["paths"].items():
            shared = item.get("parameters", [])
            for method, op in item.items():
                if method == "parameters":
                    continue
                self.operations.append(self._operation(template, method, shared, op))
        # Literal segments win over parameters (".../conversations/filter" is not an id).
        self.operations.sort(key=lambda op: op.template.count("{"))

    @classmethod
    def load(cls) -> SpecValidator:
        """The validator for the vendored file."""
        return cls(json.loads(SPEC_PATH.read_text(encoding="utf-8")))

    def _operation(
        self, template: str, method: str, shared: list[Any], op: dict[str, Any]
    ) -> _Operation:
        path_params: dict[str, dict[str, Any]] = {}
        query_params: dict[str, tuple[dict[str, Any], bool]] = {}
        for raw in [*shared, *op.get("parameters", [])]:
            param = self.resolve(raw)
            schema = _jsonschema(param.get("schema", {}))
            if param["in"] == "path":
                path_params[param["name"]] = schema
            elif param["in"] == "query":
                query_params[param["name"]] = (schema, bool(param.get("required")))
        body_schema: dict[str, Any] | None = None
        content = self.resolve(op.get("requestBody", {})).get("content", {})
        if "application/json" in content:
            body_schema = _jsonschema(self.resolve(content["application/json"]["schema"]))
        gap = SPEC_GAPS.get((method, template), {})
        for name, schema in gap.get("query", {}).items():
            query_params[name] = (schema, False)
        if "body" in gap and body_schema is not None:
            body_schema = copy.deepcopy(body_schema)
            body_schema.setdefault("properties", {}).update(gap["body"])
        regex = "^" + re.sub(r"\\\{([^}]+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$"
        schemes = {name for entry in op.get("security", []) for name in entry}
        return _Operation(
            template=template,
            method=method,
            pattern=re.compile(regex),
            path_params=path_params,
            query_params=query_params,
            body=body_schema,
            body_required=bool(op.get("requestBody", {}).get("required")),
            needs_token=bool(schemes),
            multipart=frozenset(gap.get("multipart", ())),
        )

    def resolve(self, node: Any, depth: int = 0) -> Any:
        """``node`` with every ``$ref`` inlined (the document has no cycles we use)."""
        if depth > 40:
            raise SpecViolation("the spec's references nest too deep")
        if isinstance(node, dict):
            if "$ref" in node:
                target: Any = self.document
                for part in node["$ref"].removeprefix("#/").split("/"):
                    target = target[part]
                return self.resolve(target, depth + 1)
            return {key: self.resolve(value, depth + 1) for key, value in node.items()}
        if isinstance(node, list):
            return [self.resolve(value, depth + 1) for value in node]
        return node

    def check(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]],
        headers: dict[str, str],
        body: bytes,
    ) -> str:
        """The operation's template; raises :class:`SpecViolation` when it does not fit."""
        method = method.lower()
        matches = [op for op in self.operations if op.pattern.match(path)]
        if not matches:
            raise SpecViolation(f"no path in the spec matches {path}")
        ops = [op for op in matches if op.method == method]
        if not ops:
            raise SpecViolation(f"{method.upper()} is not allowed on {matches[0].template}")
        op = ops[0]
        found = op.pattern.match(path)
        assert found is not None
        for name, value in found.groupdict().items():
            _check_value(op.path_params.get(name, {}), value, f"path parameter {name}")
        seen: set[str] = set()
        for name, value in query:
            if name not in op.query_params:
                raise SpecViolation(f"query parameter {name!r} is not in the spec for {path}")
            _check_value(op.query_params[name][0], value, f"query parameter {name}")
            seen.add(name)
        for name, (_, required) in op.query_params.items():
            if required and name not in seen:
                raise SpecViolation(f"required query parameter {name!r} is missing")
        if op.needs_token and not headers.get("api_access_token"):
            raise SpecViolation("the api_access_token header is missing")
        if op.multipart and headers.get("content-type", "").startswith("multipart/form-data"):
            names = set(re.findall(rb'Content-Disposition: form-data; name="([^"]+)"', body))
            extra = sorted(n.decode() for n in names if n.decode() not in op.multipart)
            if extra:
                raise SpecViolation(f"form fields not taken: {', '.join(extra)}")
            return op.template
        if op.body is not None and (body or op.body_required):
            if "application/json" not in headers.get("content-type", ""):
                raise SpecViolation("the body must be application/json")
            try:
                data = json.loads(body)
            except ValueError:
                raise SpecViolation("the body is not JSON") from None
            errors = sorted(Draft4Validator(op.body).iter_errors(data), key=str)
            if errors:
                where = "/".join(str(x) for x in errors[0].absolute_path) or "body"
                raise SpecViolation(f"{where}: {errors[0].message}")
            allowed = set(op.body.get("properties", {}))
            extra = sorted(set(data) - allowed) if isinstance(data, dict) and allowed else []
            if extra:
                raise SpecViolation(f"body keys not in the spec: {', '.join(extra)}")
        return op.template


def _jsonschema(schema: Any) -> Any:
    """OpenAPI 3.0 schema -> JSON Schema draft 4 (``nullable`` becomes a null type)."""
    if isinstance(schema, list):
        return [_jsonschema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {
        key: _jsonschema(value)
        for key, value in schema.items()
        if key not in ("nullable", "example", "format")
    }
    if schema.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out


def _check_value(schema: dict[str, Any], raw: str, what: str) -> None:
    kind = schema.get("type")
    value: Any = raw
    if kind == "integer":
        if not re.fullmatch(r"-?\d+", raw):
            raise SpecViolation(f"{what} must be an integer, not {raw!r}")
        value = int(raw)
    elif kind == "number":
        try:
            value = float(raw)
        except ValueError:
            raise SpecViolation(f"{what} must be a number, not {raw!r}") from None
    elif kind == "boolean" and raw not in ("true", "false"):
        raise SpecViolation(f"{what} must be true or false, not {raw!r}")
    if kind == "array":
        schema = schema.get("items", {})
    enum = schema.get("enum")
    if enum is not None and value not in enum:
        raise SpecViolation(f"{what} must be one of {enum}, not {raw!r}")


# --- the fake server's state ---------------------------------------------------------


@dataclass
class Fault:
    """One injected misbehaviour, for requests whose path contains ``path``."""

    path: str
    kind: str  # 429, 401, html500, html200, html404, truncated, slow-after-apply
    method: str = ""
    times: int = 1


@dataclass
class FakeChatwoot:
    """The account's data and the knobs tests turn."""

    account_id: int = 3
    token: str = "cw-token-1"
    me: dict[str, Any] = field(
        default_factory=lambda: {"id": 11, "name": "Lan Zhou", "role": "agent"}
    )
    agents: list[dict[str, Any]] = field(default_factory=list)
    teams: list[dict[str, Any]] = field(default_factory=list)
    contacts: dict[int, dict[str, Any]] = field(default_factory=dict)
    conversations: dict[int, dict[str, Any]] = field(default_factory=dict)
    messages: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    canned: list[dict[str, Any]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    #: Every request that passed validation: (method, template, query, json body).
    requests: list[tuple[str, str, dict[str, str], Any]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    slow_seconds: float = 2.0
    #: Stored files by attachment id: {name, data, file_type}.
    files: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: The server's address, for the files' ``data_url`` (set when it starts).
    base_url: str = "http://127.0.0.1"
    _next_attachment: int = 500
    _next_message: int = 1000
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if not self.agents:
            self.agents = [
                {"id": 11, "name": "Lan Zhou", "role": "agent"},
                {"id": 12, "name": "Mei", "role": "agent"},
                {"id": 13, "name": "Sofia", "role": "administrator"},
            ]

    def add_contact(self, number: int, name: str, email: str | None = None) -> None:
        """A contact (a customer)."""
        self.contacts[number] = {
            "id": number,
            "name": name,
            "email": email,
            "phone_number": None,
            "identifier": None,
            "thumbnail": "",
            "additional_attributes": {},
            "custom_attributes": {},
            "last_activity_at": int(time.time()) - 3600,
            "created_at": int(time.time()) - 86400,
            "blocked": False,
            "availability_status": "offline",
        }

    def add_conversation(
        self,
        number: int,
        contact: int,
        *,
        last_activity_at: int,
        status: str = "open",
        team: int | None = None,
        assignee: int | None = None,
        unread: int = 0,
    ) -> None:
        """A conversation with no messages yet."""
        self.conversations[number] = {
            "id": number,
            "contact": contact,
            "status": status,
            "team": team,
            "assignee": assignee,
            "unread_count": unread,
            "last_activity_at": last_activity_at,
            "created_at": last_activity_at - 60,
            "waiting_since": 0,
            "snoozed_until": None,
        }
        self.messages.setdefault(number, [])

    def add_message(
        self,
        conversation: int,
        content: str | None,
        *,
        message_type: int = 0,
        private: bool = False,
        created_at: int | None = None,
        sender: int | None = None,
        files: Sequence[tuple[str, bytes]] = (),
    ) -> int:
        """A message as stored (incoming from the contact unless told otherwise), with
        ``files`` as (name, bytes) attached."""
        conv = self.conversations[conversation]
        when = created_at if created_at is not None else int(time.time())
        self._next_message += 1
        self.messages[conversation].append(
            {
                "id": self._next_message,
                "content": content,
                "message_type": message_type,
                "private": private,
                "created_at": when,
                "sender": sender,
                "content_attributes": {},
                "attachments": [self._keep_file(name, data) for name, data in files],
            }
        )
        conv["last_activity_at"] = max(conv["last_activity_at"], when)
        return self._next_message

    def fault(self, path: str, kind: str, *, method: str = "", times: int = 1) -> None:
        """Misbehave on the next ``times`` requests to a path containing ``path``."""
        with self.lock:
            self.faults.append(Fault(path, kind, method.upper(), times))

    def take_fault(self, method: str, path: str) -> str | None:
        """The fault for this request, if one is armed."""
        with self.lock:
            for fault in self.faults:
                if fault.path in path and fault.method in ("", method) and fault.times > 0:
                    fault.times -= 1
                    return fault.kind
        return None

    def _keep_file(self, name: str, data: bytes) -> int:
        self._next_attachment += 1
        image = name.lower().endswith((".png", ".jpg", ".jpeg", ".gif", ".webp"))
        self.files[self._next_attachment] = {
            "name": name,
            "data": data,
            "file_type": "image" if image else "file",
        }
        return self._next_attachment

    # --- JSON as the real server renders it ------------------------------------

    def user_json(self, number: int) -> dict[str, Any] | None:
        for agent in self.agents:
            if agent["id"] == number:
                return {
                    "id": number,
                    "name": agent["name"],
                    "available_name": agent["name"],
                    "avatar_url": "",
                    "type": "user",
                    "availability_status": "online",
                    "thumbnail": "",
                }
        return None

    def contact_json(self, number: int) -> dict[str, Any]:
        return {**self.contacts[number], "type": "contact"}

    def message_json(self, conversation: int, raw: dict[str, Any]) -> dict[str, Any]:
        conv = self.conversations[conversation]
        if raw["message_type"] == 0:
            sender: dict[str, Any] | None = self.contact_json(conv["contact"])
        elif raw["sender"] is not None:
            sender = self.user_json(raw["sender"])
        else:
            sender = None
        out = {
            "id": raw["id"],
            "content": raw["content"],
            "inbox_id": 1,
            "conversation_id": conversation,
            "message_type": raw["message_type"],
            "content_type": "text",
            "status": "sent",
            "content_attributes": raw["content_attributes"],
            "created_at": raw["created_at"],
            "private": raw["private"],
            "source_id": None,
        }
        if sender is not None:
            out["sender"] = sender
        if raw.get("attachments"):
            out["attachments"] = [self.attachment_json(raw["id"], n) for n in raw["attachments"]]
        return out

    def attachment_json(self, message: int, number: int) -> dict[str, Any]:
        """An attachment as Chatwoot's ``_attachment`` partial renders it."""
        kept = self.files[number]
        url = f"{self.base_url}{BLOB_PREFIX}{number}/{kept['name']}"
        return {
            "id": number,
            "message_id": message,
            "file_type": kept["file_type"],
            "account_id": self.account_id,
            "extension": None,
            "data_url": url,
            "thumb_url": url if kept["file_type"] == "image" else "",
            "file_size": len(kept["data"]),
        }

    def conversation_json(self, number: int) -> dict[str, Any]:
        conv = self.conversations[number]
        meta: dict[str, Any] = {
            "sender": self.contact_json(conv["contact"]),
            "channel": "Channel::WebWidget",
            "hmac_verified": False,
        }
        if conv["assignee"] is not None:
            meta["assignee"] = {**(self.user_json(conv["assignee"]) or {}), "role": "agent"}
        if conv["team"] is not None:
            team = next(t for t in self.teams if t["id"] == conv["team"])
            meta["team"] = dict(team)
        messages = self.messages[number]
        last = [self.message_json(number, m) for m in messages[-1:]]
        snoozed = conv["snoozed_until"]
        return {
            "meta": meta,
            "id": number,
            "messages": last,
            "account_id": self.account_id,
            "uuid": f"00000000-0000-0000-0000-{number:012d}",
            "additional_attributes": {},
            "agent_last_seen_at": 0,
            "assignee_last_seen_at": 0,
            "can_reply": True,
            "contact_last_seen_at": 0,
            "custom_attributes": {},
            "inbox_id": 1,
            "labels": [],
            "muted": False,
            "snoozed_until": (
                datetime.fromtimestamp(snoozed, UTC).isoformat().replace("+00:00", "Z")
                if snoozed
                else None
            ),
            "status": conv["status"],
            "created_at": conv["created_at"],
            "updated_at": float(conv["last_activity_at"]) + 0.25,
            "timestamp": conv["last_activity_at"],
            "first_reply_created_at": 0,
            "unread_count": conv["unread_count"],
            "last_non_activity_message": last[0] if last else None,
            "last_activity_at": conv["last_activity_at"],
            "priority": None,
            "waiting_since": conv["waiting_since"],
            "sla_policy_id": None,
        }


# --- the HTTP side -------------------------------------------------------------------


def create_fake_app(fake: FakeChatwoot, validator: SpecValidator) -> Starlette:
    """The Starlette app serving ``fake``."""

    async def handle(request: Request) -> Response:
        if request.url.path.startswith(BLOB_PREFIX):
            return _blob(fake, request.url.path)
        body = await request.body()
        headers = {key.lower(): value for key, value in request.headers.items()}
        query = list(request.query_params.multi_items())
        try:
            template = validator.check(request.method, request.url.path, query, headers, body)
        except SpecViolation as exc:
            fake.violations.append(f"{request.method} {request.url.path}: {exc}")
            return JSONResponse({"error": f"not in the spec: {exc}"}, status_code=400)
        data: Any
        if headers.get("content-type", "").startswith("multipart/form-data"):
            data = await _form(request)
        else:
            data = json.loads(body) if body else None
        fake.requests.append((request.method, template, dict(query), data))
        fault = fake.take_fault(request.method, request.url.path)
        if fault is not None and fault != "slow-after-apply":
            return _faulty(fault)
        if headers.get("api_access_token") != fake.token:
            return JSONResponse({"error": "Invalid Access Token"}, status_code=401)
        with fake.lock:
            response = _route(fake, request.method, template, request.url.path, query, data)
        if fault == "slow-after-apply":
            # The change is made; the answer never arrives in time (the client times out).
            await asyncio.sleep(fake.slow_seconds)
        return response

    return Starlette(routes=[Route("/{path:path}", handle, methods=["GET", "POST", "PATCH"])])


async def _form(request: Request) -> dict[str, Any]:
    """A multipart message as the controller reads it: fields, and files as (name, bytes).
    Parsed with the standard library (Starlette's form parser needs python-multipart)."""
    raw = await request.body()
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = BytesParser(policy=email_policy).parsebytes(head + raw)
    data: dict[str, Any] = {"files": []}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            data["files"].append((filename, content))
        elif isinstance(name, str):
            value = content.decode()
            data[name] = {"true": True, "false": False}.get(value, value)
    return data


def _blob(fake: FakeChatwoot, path: str) -> Response:
    number, _, _name = path.removeprefix(BLOB_PREFIX).partition("/")
    kept = fake.files.get(int(number)) if number.isdigit() else None
    if kept is None:
        return Response("Not Found", status_code=404, media_type="text/plain")
    return Response(kept["data"], media_type="application/octet-stream")


def _faulty(kind: str) -> Response:
    if kind == "429":
        return Response(
            "Retry later\n", status_code=429, headers={"Retry-After": "7"}, media_type="text/plain"
        )
    if kind == "401":
        return JSONResponse({"error": "Invalid Access Token"}, status_code=401)
    if kind in ("html500", "html200", "html404"):
        status = {"html500": 500, "html200": 200, "html404": 404}[kind]
        page = "<!DOCTYPE html><html><head><title>Oops</title></head><body>Sign in</body></html>"
        return Response(page, status_code=status, media_type="text/html")
    if kind == "truncated":
        return Response('{"data": {"meta": {"all_count": 3}, "payl', media_type="application/json")
    raise AssertionError(f"unknown fault {kind}")


def _route(
    fake: FakeChatwoot,
    method: str,
    template: str,
    path: str,
    query: list[tuple[str, str]],
    data: Any,
) -> Response:
    parts = path.split("/")
    params = dict(query)
    if template == "/api/v1/profile":
        me = fake.me
        accounts = [{"id": fake.account_id, "name": "Shop", "role": me["role"], "status": "active"}]
        return JSONResponse(
            {
                "id": me["id"],
                "name": me["name"],
                "available_name": me["name"],
                "display_name": None,
                "email": "lan@example.com",
                "role": me["role"],
                "account_id": fake.account_id,
                "accounts": accounts,
            }
        )
    if int(parts[4]) != fake.account_id:
        return JSONResponse({"error": "You are not authorized to do this action"}, 401)
    suffix = template.removeprefix("/api/v1/accounts/{account_id}")
    if suffix == "/agents":
        return JSONResponse(
            [{**a, "available_name": a["name"], "confirmed": True} for a in fake.agents]
        )
    if suffix == "/teams":
        return JSONResponse(fake.teams)
    if suffix == "/canned_responses":
        return JSONResponse(fake.canned)
    if suffix == "/conversations" and method == "GET":
        return _conversation_list(fake, params)
    number = int(parts[6]) if len(parts) > 6 else -1
    if number not in fake.conversations:
        return JSONResponse({"error": "Resource could not be found"}, status_code=404)
    conv = fake.conversations[number]
    now = int(time.time())
    if suffix.endswith("/messages") and method == "GET":
        return _message_list(fake, number, params)
    if suffix.endswith("/messages") and method == "POST":
        # Like Chatwoot's MessageBuilder: echo_id and unknown content_attributes are
        # not stored on the message.
        new_id = fake.add_message(
            number,
            data.get("content") or None,
            message_type=1 if data.get("message_type", "outgoing") == "outgoing" else 0,
            private=bool(data.get("private", False)),
            created_at=now,
            sender=fake.me["id"],
            files=data.get("files", []),
        )
        conv["waiting_since"] = 0
        stored = next(m for m in fake.messages[number] if m["id"] == new_id)
        return JSONResponse(fake.message_json(number, stored))
    if suffix.endswith("/toggle_status"):
        conv["status"] = data["status"]
        conv["snoozed_until"] = data.get("snoozed_until") if data["status"] == "snoozed" else None
        fake.add_message(number, f"Conversation was marked {data['status']}", message_type=2)
        payload = {"success": True, "current_status": conv["status"], "conversation_id": number}
        return JSONResponse({"meta": {}, "payload": payload})
    if suffix.endswith("/assignments"):
        if "assignee_id" in data:
            user = fake.user_json(int(data["assignee_id"]))
            conv["assignee"] = user["id"] if user else None
            fake.add_message(number, "Assignee changed", message_type=2)
            return JSONResponse(user)
        team = next((t for t in fake.teams if t["id"] == data.get("team_id")), None)
        conv["team"] = team["id"] if team else None
        fake.add_message(number, "Team changed", message_type=2)
        return JSONResponse(team)
    return JSONResponse({"error": f"the fake does not serve {method} {template}"}, 501)


def _conversation_list(fake: FakeChatwoot, params: dict[str, str]) -> Response:
    status = params.get("status", "open")
    rows = [
        number
        for number, conv in fake.conversations.items()
        if status == "all" or conv["status"] == status
    ]
    rows.sort(key=lambda n: (-fake.conversations[n]["last_activity_at"], -n))
    page = int(params.get("page", "1"))
    chunk = rows[(page - 1) * PAGE : page * PAGE]
    assigned = sum(1 for n in rows if fake.conversations[n]["assignee"] is not None)
    mine = sum(1 for n in rows if fake.conversations[n]["assignee"] == fake.me["id"])
    meta = {
        "mine_count": mine,
        "assigned_count": assigned,
        "unassigned_count": len(rows) - assigned,
        "all_count": len(rows),
    }
    payload = [fake.conversation_json(n) for n in chunk]
    return JSONResponse({"data": {"meta": meta, "payload": payload}})


def _message_list(fake: FakeChatwoot, number: int, params: dict[str, str]) -> Response:
    stored = sorted(fake.messages[number], key=lambda m: m["id"])
    if "after" in params:
        chosen = [m for m in stored if m["id"] > int(params["after"])][:100]
    elif "before" in params:
        chosen = [m for m in stored if m["id"] < int(params["before"])][-MESSAGE_PAGE:]
    else:
        chosen = stored[-MESSAGE_PAGE:]
    conv = fake.conversations[number]
    meta: dict[str, Any] = {
        "labels": [],
        "additional_attributes": {},
        "contact": fake.contact_json(conv["contact"]),
        "agent_last_seen_at": None,
        "assignee_last_seen_at": None,
    }
    return JSONResponse({"meta": meta, "payload": [fake.message_json(number, m) for m in chosen]})


class FakeChatwootServer:
    """uvicorn serving a :class:`FakeChatwoot` in a thread on 127.0.0.1."""

    def __init__(self, fake: FakeChatwoot, validator: SpecValidator | None = None) -> None:
        self.fake = fake
        self.validator = validator or SpecValidator.load()
        self.port = free_port()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL, as a shop would configure it."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeChatwootServer:
        """Serve until :meth:`stop`."""
        config = uvicorn.Config(
            create_fake_app(self.fake, self.validator),
            host="127.0.0.1",
            port=self.port,
            log_level="error",
            lifespan="off",
        )
        self._server = uvicorn.Server(config)
        self.fake.base_url = self.url
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                httpx.get(
                    self.url + "/api/v1/profile", headers={"api_access_token": "-"}, timeout=0.5
                )
            except httpx.TransportError:
                time.sleep(0.02)
                continue
            self.fake.requests.clear()
            return self
        raise RuntimeError("fake Chatwoot did not start")

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
            self._server = None
