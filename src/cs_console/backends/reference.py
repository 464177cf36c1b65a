"""The client side of cs-console's own sync protocol (``docs/openapi.json``).

Defensive by design: connect/read/write/pool timeouts *and* an overall deadline per
request (a server dripping one byte a second otherwise defeats the read timeout),
a cap on response size read as a stream, no redirects followed, strict models.
The token travels in a header only: httpx logs URLs.
"""

from __future__ import annotations

from typing import Any, NoReturn, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from cs_console import protocol as p
from cs_console.backends.base import (
    AuthFailed,
    BadResponse,
    Capabilities,
    Refused,
    Unavailable,
)
from cs_console.backends.http import (
    REQUEST_DEADLINE_S,
    capped_request,
    check_url,
    parse_retry_after,
)
from cs_console.secret import Secret

M = TypeVar("M", bound=BaseModel)


class ReferenceBackend:
    """Talks to ``cs-console serve`` (or anything speaking the same protocol)."""

    name = "reference"
    capabilities = Capabilities()

    def __init__(
        self,
        url: str,
        token: Secret,
        *,
        insecure: bool = False,
        timeout: float = 10.0,
        deadline: float = REQUEST_DEADLINE_S,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = check_url(url, insecure=insecure)
        self._deadline = deadline
        self._client = httpx.Client(
            base_url=self.url + "/api/v1",
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            follow_redirects=False,
            headers={
                "Authorization": f"Bearer {token.reveal()}",
                "User-Agent": "cs-console",
                "Accept": "application/json",
            },
            transport=transport,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def me(self) -> p.Me:
        """Who the token belongs to."""
        return self._call("GET", "/me", p.Me)

    def pull(self, cursor: str, limit: int = p.DEFAULT_PAGE) -> p.ChangePage:
        """One page of changes after ``cursor`` ("" for the start)."""
        return self._call(
            "GET", "/changes", p.ChangePage, params={"since": cursor or "0", "limit": limit}
        )

    def wait_for_change(self, cursor: str, wait: float) -> bool:
        """Whether the feed has changes after ``cursor``, asked as a long-poll: the
        server holds the request up to ``wait`` seconds and answers at the first write.
        """
        status, headers, body = capped_request(
            self._client,
            "GET",
            "/changes",
            params={"since": cursor or "0", "limit": 1, "wait": f"{wait:g}"},
            timeout=httpx.Timeout(wait + 10.0, connect=5.0),
            who="the server",
            deadline=wait + 15.0,
        )
        if status != 200:
            self._raise_for(status, headers, body)
        try:
            return p.ChangePage.model_validate_json(body).count() > 0
        except ValidationError:
            raise BadResponse("the server sent data we cannot accept") from None

    def push(self, key: str, operation: p.Operation) -> p.OperationResult:
        """Send one operation with its idempotency key."""
        body = p.OperationEnvelope(operation=operation).model_dump(mode="json")
        return self._call(
            "POST", "/operations", p.OperationResult, json=body, headers={"Idempotency-Key": key}
        )

    def upload(self, key: str, ref: p.AttachmentRef, data: bytes) -> None:
        """Put a file's bytes under its id before the message naming it: the server
        answers the same bytes under the same id with its first answer."""
        self._call(
            "PUT",
            f"/attachments/{ref.id}",
            p.AttachmentRecord,
            params={"name": ref.file_name},
            content=data,
            headers={
                "Content-Type": ref.content_type,
                "Idempotency-Key": f"{key}:{ref.id}",
            },
        )

    def fetch_attachment(self, attachment: p.AttachmentRecord) -> bytes:
        """The bytes of an attachment this server keeps. Only its own addresses are
        asked: the token never goes to an address a record names elsewhere."""
        path = self._own_path(attachment)
        if path is None:
            raise Refused("this attachment is not kept by the server", status=404)
        status, headers, body = self._request(
            "GET", path, headers={"Accept": "*/*"}, max_bytes=p.MAX_ATTACHMENT_BYTES
        )
        if status != 200:
            self._raise_for(status, headers, body)
        return body

    def attachment_url(self, attachment: p.AttachmentRecord) -> str | None:
        """The attachment's address on the server (it needs an agent's token)."""
        path = self._own_path(attachment)
        return None if path is None else f"{self.url}/api/v1{path}"

    @staticmethod
    def _own_path(attachment: p.AttachmentRecord) -> str | None:
        expected = f"/attachments/{attachment.id}"
        return expected if attachment.url == expected else None

    def _call(self, method: str, path: str, model: type[M], **kwargs: Any) -> M:
        status, headers, body = self._request(method, path, **kwargs)
        if status == 200:
            try:
                return model.model_validate_json(body)
            except ValidationError as exc:
                errors = exc.errors()
                where = ".".join(str(x) for x in errors[0]["loc"]) if errors else ""
                reason = errors[0]["msg"] if errors else "invalid"
                detail = f"{where}: {reason}" if where else reason
                raise BadResponse(f"the server sent data we cannot accept ({detail})") from None
        self._raise_for(status, headers, body)

    @staticmethod
    def _raise_for(status: int, headers: httpx.Headers, body: bytes) -> NoReturn:
        detail = _error_text(body)
        retry_after = parse_retry_after(headers.get("retry-after"))
        if status == 401:
            raise AuthFailed(f"the server refused the token ({detail or 'unauthorized'})")
        if status in (403, 404, 409, 413, 415, 422):
            raise Refused(
                f"the server refused this ({status}: {detail or 'refused'})", status=status
            )
        if status == 429:
            raise Unavailable("the server asks us to slow down (429)", retry_after=retry_after)
        if 300 <= status < 400:
            raise BadResponse(f"the server redirected us ({status}); check the backend URL")
        raise Unavailable(
            f"the server had a problem ({status}{': ' + detail if detail else ''})",
            retry_after=retry_after,
        )

    def _request(self, method: str, path: str, **kwargs: Any) -> tuple[int, httpx.Headers, bytes]:
        return capped_request(
            self._client, method, path, **kwargs, who="the server", deadline=self._deadline
        )


def _error_text(body: bytes) -> str:
    try:
        return p.ErrorBody.model_validate_json(body).error
    except ValidationError:
        return ""
