"""The sync protocol as an OpenAPI 3.1 document, built from the models the server
validates with, so the description cannot drift from the code.
``docs/openapi.json`` is this document; a test keeps the two equal."""

from __future__ import annotations

import json
from typing import Any

from pydantic.json_schema import models_json_schema

from cs_console import protocol as p
from cs_console.domain import Group, Role


def build_spec() -> dict[str, Any]:
    """The OpenAPI document."""
    models: list[Any] = [
        (p.Me, "validation"),
        (p.ChangePage, "validation"),
        (p.OperationEnvelope, "validation"),
        (p.OperationResult, "validation"),
        (p.ErrorBody, "validation"),
        (p.AgentRecord, "validation"),
        (p.AttachmentRecord, "validation"),
    ]
    _, schemas = models_json_schema(models, ref_template="#/components/schemas/{model}")
    components = schemas.get("$defs", {})

    def ref(name: str) -> dict[str, Any]:
        return {"$ref": f"#/components/schemas/{name}"}

    def answer(name: str, text: str) -> dict[str, Any]:
        return {"description": text, "content": {"application/json": {"schema": ref(name)}}}

    errors = {
        "401": answer("ErrorBody", "missing, unknown or revoked token"),
        "422": answer("ErrorBody", "invalid request"),
    }
    agent_errors = {
        "403": answer("ErrorBody", "agents may not; nor may a supervisor change their own"),
        "404": answer("ErrorBody", "no such agent"),
        "413": answer("ErrorBody", "request over 64 KiB"),
        **errors,
    }
    agent_name = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
    role_change = {
        "type": "object",
        "required": ["role"],
        "properties": {
            "role": {"enum": [role.value for role in Role]},
            "group": {
                "anyOf": [{"enum": [group.value for group in Group]}, {"type": "null"}],
                "description": "left as it is when absent",
            },
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "cs-console sync protocol",
            "version": str(p.PROTOCOL_VERSION),
            "description": (
                "Pull changes since a cursor; push operations one at a time, each with an "
                "Idempotency-Key (a repeat gets the first answer; the same key with another "
                "body is refused with 422). Every endpoint but /health needs "
                "`Authorization: Bearer TOKEN`. Times are ISO 8601 with a zone; money is in "
                "minor units. A change page includes the parents of every record it holds, "
                "so each page can be applied on its own. A page's `replies` are the shop's "
                "published quick replies (the library's TOML fields); one marked `deleted` "
                "was withdrawn and is dropped by clients."
            ),
        },
        "paths": {
            "/health": {
                "get": {"summary": "Liveness", "responses": {"200": {"description": "up"}}}
            },
            "/api/v1/me": {
                "get": {
                    "summary": "Who the token belongs to",
                    "responses": {"200": answer("Me", "the agent and the server id"), **errors},
                }
            },
            "/api/v1/changes": {
                "get": {
                    "summary": "Changes after a cursor",
                    "parameters": [
                        {
                            "name": "since",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 0},
                        },
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": p.MAX_PAGE},
                        },
                        {
                            "name": "wait",
                            "in": "query",
                            "description": (
                                "Long-poll: hold an empty page up to this many seconds and "
                                "answer at the first change"
                            ),
                            "schema": {"type": "number", "minimum": 0, "maximum": 25},
                        },
                    ],
                    "responses": {
                        "200": answer("ChangePage", "one page; pull again while has_more"),
                        **errors,
                        "500": answer(
                            "ErrorBody",
                            "a stored row breaks the protocol beyond what cutting it to size "
                            "mends; the detail names it",
                        ),
                    },
                }
            },
            "/api/v1/operations": {
                "post": {
                    "summary": "Apply one operation, once per Idempotency-Key",
                    "parameters": [
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": True,
                            "schema": {"type": "string", "maxLength": 128},
                        },
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": ref("OperationEnvelope")}},
                    },
                    "responses": {
                        "200": answer(
                            "OperationResult", "applied (or the first answer to this key)"
                        ),
                        "400": answer(
                            "ErrorBody", "no Idempotency-Key, or one over 128 characters"
                        ),
                        "403": answer(
                            "ErrorBody",
                            "not allowed for this agent's role, or over the agent's authority "
                            "limit on the order without a supervisor's approval",
                        ),
                        "404": answer("ErrorBody", "unknown conversation, order or case"),
                        "409": answer(
                            "ErrorBody",
                            "id already taken, a case not awaiting approval, or a refund past "
                            "what is left of what was paid",
                        ),
                        "413": answer("ErrorBody", "request over 64 KiB"),
                        **errors,
                    },
                }
            },
            "/api/v1/attachments/{attachment_id}": {
                "parameters": [
                    {
                        "name": "attachment_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,64}$"},
                    }
                ],
                "put": {
                    "summary": "Upload a file a send_message operation will name",
                    "description": (
                        "The body is the file's bytes; the id is the client's. Its type is "
                        "found from its first bytes (JPEG, PNG, GIF, WebP, PDF, plain "
                        f"text); at most {p.MAX_ATTACHMENT_BYTES} bytes. The same bytes "
                        "again under the same id get the first answer, so a retry never "
                        "stores two files; the file stays the uploader's alone until the "
                        "operation links it to its message."
                    ),
                    "parameters": [
                        {"name": "name", "in": "query", "schema": {"type": "string"}},
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {"application/octet-stream": {"schema": {}}},
                    },
                    "responses": {
                        "200": answer("AttachmentRecord", "kept (or the first answer)"),
                        "409": answer("ErrorBody", "the id holds another file"),
                        "413": answer("ErrorBody", "the file is too large"),
                        "415": answer("ErrorBody", "a type the server does not take"),
                        **errors,
                    },
                },
                "get": {
                    "summary": "Download an attachment",
                    "description": (
                        "Served with its content type, `Content-Disposition: attachment` "
                        "(the sanitised name) and `X-Content-Type-Options: nosniff`."
                    ),
                    "responses": {
                        "200": {"description": "the file's bytes"},
                        "404": answer("ErrorBody", "no such attachment (or not yet sent)"),
                        "401": errors["401"],
                    },
                },
            },
            "/api/v1/agents": {
                "get": {
                    "summary": "List agents (supervisors)",
                    "responses": {
                        "200": {"description": "agents"},
                        "403": answer("ErrorBody", "agents may not"),
                        **errors,
                    },
                },
                "post": {
                    "summary": "Create an agent, returning its token once (supervisors)",
                    "description": (
                        "Never changes an existing agent (409): a role is changed and a "
                        "revoked agent enabled by their own endpoints. A name is one line "
                        "of visible text without '/', spaces at either end or control "
                        "characters (422)."
                    ),
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": ref("AgentRecord")}},
                    },
                    "responses": {
                        "200": {"description": "name and token"},
                        "403": answer("ErrorBody", "agents may not"),
                        "409": answer("ErrorBody", "an agent of that name exists"),
                        **errors,
                    },
                },
            },
            "/api/v1/agents/{name}/role": {
                "post": {
                    "summary": "Change an agent's role, and its group if given (supervisors)",
                    "description": "Recorded in the server's agent audit and the change feed.",
                    "parameters": [agent_name],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": role_change}},
                    },
                    "responses": {
                        "200": answer("AgentRecord", "the agent as it is now"),
                        **agent_errors,
                    },
                }
            },
            "/api/v1/agents/{name}/enable": {
                "post": {
                    "summary": "Turn a revoked agent back on with a new token (supervisors)",
                    "description": (
                        "The revoked token stays dead; the new one is returned once. "
                        "Recorded in the server's agent audit and the change feed."
                    ),
                    "parameters": [agent_name],
                    "responses": {
                        "200": {"description": "name and the new token"},
                        "409": answer("ErrorBody", "the agent is not revoked"),
                        **agent_errors,
                    },
                }
            },
        },
        "components": {"schemas": components},
    }


def spec_text() -> str:
    """The document as stable, readable JSON."""
    return json.dumps(build_spec(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
