"""The per-address limit over the `/auth` routes, as plain ASGI in front of the app.

A middleware counts every request under `/auth`, whichever router serves it (and
unknown paths there too), and costs less than a FastAPI dependency on every route.
Routes that must answer 429 in their own format (the OAuth endpoints) are exempted
here and count themselves with `deps.limit_address`.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from tokenward.core import Tokenward
from tokenward.errors import RateLimited
from tokenward.http.deps import client_info
from tokenward.http.errors import error_response

AUTH_PREFIX = "/auth"


class AddressLimit:
    def __init__(
        self, app: ASGIApp, tokenward: Tokenward, exempt: frozenset[str] = frozenset()
    ) -> None:
        self.app = app
        self.tokenward = tokenward
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"] if scope["type"] == "http" else ""
        if _under_auth(path) and path not in self.exempt:
            peer = scope.get("client")
            ip = peer[0] if peer else None
            if self.tokenward.settings.trusted_proxies:
                ip = (await client_info(Request(scope))).ip
            try:
                await self.tokenward.ratelimiter.hit_address(ip)
            except RateLimited as exc:
                await error_response(exc)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _under_auth(path: str) -> bool:
    return path.startswith(AUTH_PREFIX) and (
        len(path) == len(AUTH_PREFIX) or path[len(AUTH_PREFIX)] == "/"
    )
