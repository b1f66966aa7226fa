"""The per-address limit over the `/auth` routes, as plain ASGI in front of the app.

A middleware counts every request under `/auth`, whichever router serves it (and
unknown paths there too), and costs less than a FastAPI dependency on every route.
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
    def __init__(self, app: ASGIApp, tokenward: Tokenward) -> None:
        self.app = app
        self.tokenward = tokenward

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _under_auth(scope["path"]):
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
