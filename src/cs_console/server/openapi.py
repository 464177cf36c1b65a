"""The sync protocol as an OpenAPI 3.1 document, built from the models the server
validates with, so the description cannot drift from the code.
``docs/openapi.json`` is this document; a test keeps the two equal."""

from __future__ import annotations

import json
from typing import Any

from pydantic.json_schema import models_json_schema

from cs_console import protocol as p


def build_spec() -> dict[str, Any]:
    """The OpenAPI document."""
    models: list[Any] = [
        (p.Me, "validation"),
        (p.ChangePage, "validation"),
        (p.OperationEnvelope, "validation"),
        (p.OperationResult, "validation"),
        (p.ErrorBody, "validation"),
        (p.AgentRecord, "validation"),
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
                    ],
                    "responses": {
                        "200": answer("ChangePage", "one page; pull again while has_more"),
                        **errors,
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
                        "403": answer("ErrorBody", "not allowed for this agent's role"),
                        "404": answer("ErrorBody", "unknown conversation or order"),
                        "409": answer("ErrorBody", "id already taken"),
                        "413": answer("ErrorBody", "request over 64 KiB"),
                        **errors,
                    },
                }
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
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": ref("AgentRecord")}},
                    },
                    "responses": {
                        "200": {"description": "name and token"},
                        "403": answer("ErrorBody", "agents may not"),
                        **errors,
                    },
                },
            },
        },
        "components": {"schemas": components},
    }


def spec_text() -> str:
    """The document as stable, readable JSON."""
    return json.dumps(build_spec(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
