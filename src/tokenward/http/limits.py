"""Input limits in front of the app, as plain ASGI: body size, header size, JSON shape.

Every request body is read here first, up to `max_body_size`, so no route ever
parses more than that; a larger one answers 413 before anything decodes it. JSON
bodies must be UTF-8 and nested at most `MAX_JSON_DEPTH` deep (else 422): this
server's bodies are flat objects, and a deeply nested one would only exercise the
parser's recursion. An oversized `Cookie` header answers 431 before any cookie is
parsed.
"""

from __future__ import annotations

import json
import re
import sys

from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_MAX_BODY_SIZE = 64 * 1024
MAX_COOKIE_HEADER = 8 * 1024
MAX_JSON_DEPTH = 32
_JSON_STRUCTURE = re.compile(rb'["\\\[\]{}]')
_LONG_DIGITS = re.compile(rb"[0-9]{%d}" % (sys.get_int_max_str_digits() + 1))


class InputLimits:
    def __init__(self, app: ASGIApp, max_body_size: int = DEFAULT_MAX_BODY_SIZE) -> None:
        self.app = app
        self.max_body_size = max_body_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        problem = _header_problem(scope, self.max_body_size)
        if problem is not None:
            await _refuse(send, *problem)
            return

        body, more = await _read_body(receive, self.max_body_size)
        if body is None:
            await _refuse(send, *_TOO_LARGE)
            return
        if _is_json(scope) and body:
            problem = _json_problem(body)
            if problem is not None:
                await _refuse(send, *problem)
                return

        await self.app(scope, _replay(body, more, receive), send)


_TOO_LARGE = (413, "request_too_large", "The request body is too large.")


def _header_problem(scope: Scope, max_body_size: int) -> tuple[int, str, str] | None:
    cookie_bytes = 0
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            if not value.isdigit():
                return 400, "invalid_request", "The Content-Length header is invalid."
            if int(value) > max_body_size:
                return _TOO_LARGE
        elif name == b"cookie":
            cookie_bytes += len(value)
    if cookie_bytes > MAX_COOKIE_HEADER:
        return 431, "request_header_too_large", "The Cookie header is too large."
    return None


async def _read_body(receive: Receive, limit: int) -> tuple[bytes | None, bool]:
    """The whole body, or None past `limit`; the flag says the client went away."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks), True
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None, False
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), False


def _replay(body: bytes, disconnected: bool, receive: Receive) -> Receive:
    """A `receive` that hands the app the body already read, then waits as usual."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if disconnected:
            return {"type": "http.disconnect"}
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _is_json(scope: Scope) -> bool:
    """JSON as FastAPI would read it: declared so, or not declared at all."""
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return True


def _json_problem(body: bytes) -> tuple[int, str, str] | None:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return 422, "invalid_request", "The request body is not valid UTF-8."
    if json_depth(body) > MAX_JSON_DEPTH:
        return 422, "invalid_request", "The JSON body is nested too deeply."
    # A number past Python's digit limit makes the parser raise where FastAPI answers
    # 400; no field here takes that many digits, even inside a string.
    if _LONG_DIGITS.search(body):
        return 422, "invalid_request", "The request body holds a number too long."
    return None


def json_depth(body: bytes) -> int:
    """The deepest nesting of arrays and objects, found without parsing the body."""
    depth = deepest = 0
    in_string = escaped = False
    for match in _JSON_STRUCTURE.finditer(body):
        char = match.group()
        if in_string:
            if escaped:
                escaped = False
            elif char == b"\\":
                escaped = match.end() < len(body) and body[match.end()] in b'"\\'
            elif char == b'"':
                in_string = False
            continue
        if char == b'"':
            in_string = True
        elif char in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        elif char in (b"]", b"}"):
            depth -= 1
    return deepest


async def _refuse(send: Send, status: int, code: str, detail: str) -> None:
    body = json.dumps({"detail": detail, "code": code}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
