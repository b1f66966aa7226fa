"""Dependencies that read the credential, verify it, and hand claims or users to routes.

A protected request reads the header (or cookie), verifies the token against the key
ring and the revocation view, and never touches the database unless it asks for the
user record.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from tokenward.config import IPNetwork
from tokenward.core import Tokenward
from tokenward.errors import InsufficientScope, InvalidToken, UserInactive
from tokenward.http.browser import claims_from_cookie
from tokenward.sessions import ClientInfo
from tokenward.store.records import User
from tokenward.tokens import AccessClaims

MAX_AUTHORIZATION_LENGTH = 4096 + len("Bearer ")
MAX_USER_AGENT_LENGTH = 512


def get_tokenward(request: Request) -> Tokenward:
    return request.app.state.tokenward  # type: ignore[no-any-return]


async def tokenward_dependency(request: Request) -> Tokenward:
    """`get_tokenward` for `Depends`. Every dependency here is async: FastAPI runs
    plain functions on a worker thread, a round trip dearer than their work."""
    return get_tokenward(request)


TokenwardDep = Annotated[Tokenward, Depends(tokenward_dependency)]


async def client_info(request: Request) -> ClientInfo:
    """The client address and user agent; `X-Forwarded-For` only from trusted proxies."""
    tokenward = get_tokenward(request)
    peer = request.client.host if request.client else None
    ip = peer
    proxies = tokenward.settings.trusted_proxies
    # Every header line counts: a proxy that adds its own line leaves the client's
    # line first, so reading only the first would let the client pick its address.
    forwarded = ",".join(request.headers.getlist("x-forwarded-for"))
    if forwarded and proxies and _is_trusted(peer, proxies):
        ip = _client_from_forwarded(forwarded, proxies) or peer
    user_agent = request.headers.get("user-agent")
    if user_agent is not None:
        user_agent = user_agent[:MAX_USER_AGENT_LENGTH]
    return ClientInfo(ip=ip, user_agent=user_agent)


def _is_trusted(address: str | None, proxies: Sequence[IPNetwork]) -> bool:
    if address is None:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def _client_from_forwarded(header: str, proxies: Sequence[IPNetwork]) -> str | None:
    """Walk the chain from the right; the first untrusted hop is the client."""
    hops = [hop.strip() for hop in header.split(",")][-20:]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return None
        if not _is_trusted(hop, proxies):
            return hop
    return hops[0] if hops else None


ClientDep = Annotated[ClientInfo, Depends(client_info)]


def request_is_https(request: Request) -> bool:
    """Whether the client used https: to us, or to a trusted proxy that says so."""
    if request.scope.get("scheme") == "https":
        return True
    values = ",".join(request.headers.getlist("x-forwarded-proto")).split(",")
    if not values[-1]:
        return False
    peer = request.client.host if request.client else None
    proxies = get_tokenward(request).settings.trusted_proxies
    # The last value is the one our trusted proxy wrote; earlier ones are the client's.
    scheme = values[-1].strip().lower()
    return scheme == "https" and bool(proxies) and _is_trusted(peer, proxies)


async def https_dependency(request: Request) -> bool:
    return request_is_https(request)


HttpsDep = Annotated[bool, Depends(https_dependency)]


def read_bearer(request: Request) -> str | None:
    """The `Authorization: Bearer` token, read strictly; never from the query string."""
    headers = request.headers.getlist("authorization")
    if not headers:
        return None
    if len(headers) > 1:
        # A proxy may have checked the other one.
        raise InvalidToken("Send one Authorization header.")
    header = headers[0]
    if len(header) > MAX_AUTHORIZATION_LENGTH:
        raise InvalidToken("The Authorization header is too large.")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token or " " in token.strip():
        raise InvalidToken("Use 'Authorization: Bearer <token>'.")
    return token.strip()


class BearerToken(OAuth2PasswordBearer):
    """The bearer credential as a dependency; shown in the OpenAPI docs."""

    async def __call__(self, request: Request) -> str | None:  # type: ignore[override]
        return read_bearer(request)


class RequestClaims(OAuth2PasswordBearer):
    """The verified claims of the request's access token; 401 without a valid one.

    The bearer header comes first; without one, the access cookie, whose
    state-changing requests must pass the CSRF check. A security scheme itself, so
    the docs show it, and one dependency where a token reader plus a verifier would
    be two: FastAPI pays for each on every request.
    """

    async def __call__(self, request: Request) -> AccessClaims:  # type: ignore[override]
        tokenward = get_tokenward(request)
        token = read_bearer(request)
        if token is None:
            return claims_from_cookie(request, tokenward, request_is_https(request))
        return tokenward.tokens.verify(token)


current_claims = RequestClaims(
    tokenUrl="/auth/token", scheme_name="BearerToken", auto_error=False
)


ClaimsDep = Annotated[AccessClaims, Depends(current_claims)]


async def current_user(claims: ClaimsDep, request: Request) -> User:
    """The active user the access token belongs to; read at most once a second."""
    user = await get_tokenward(request).user_cache.get(claims.sub)
    if user is None:
        raise InvalidToken("The token's user no longer exists.")
    if not user.is_active:
        raise UserInactive()
    return user


UserDep = Annotated[User, Depends(current_user)]


def require_scopes(*scopes: str) -> Callable[[AccessClaims], Awaitable[AccessClaims]]:
    """A dependency that lets through only tokens holding every one of `scopes`."""
    needed = frozenset(scopes)

    async def check(claims: ClaimsDep) -> AccessClaims:
        if not needed <= claims.scopes:
            raise InsufficientScope()
        return claims

    return check


async def limit_address(tokenward: Tokenward, client: ClientInfo) -> None:
    """Count a request against the per-address limit, for the routes that `AddressLimit`
    leaves to count themselves (to answer 429 in their own format)."""
    await tokenward.ratelimiter.hit_address(client.ip)
