"""FastAPI dependencies for another service that trusts tokenward's access tokens.

    verifier = Verifier("https://auth.example.com", "tokenward")
    guard = TokenGuard(verifier)

    @app.get("/notes")
    async def notes(claims: Annotated[AccessClaims, Depends(guard.claims)]): ...

    @app.get("/reports", dependencies=[Depends(guard.require_scopes("reports:read"))])

Failures become `HTTPException`s, so they need no handler in the service: 401 with an
RFC 6750 `WWW-Authenticate` challenge naming the reason, 403 for a missing scope, 503
when the key set cannot be fetched.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Depends, HTTPException, Request

from tokenward.claims import AccessClaims
from tokenward.errors import InsufficientScope, InvalidToken, TokenwardError
from tokenward.http.deps import BearerToken
from tokenward.http.errors import error_headers, status_for
from tokenward.verifier import Verifier

ClaimsDependency = Callable[..., Awaitable[AccessClaims]]


def http_exception(error: TokenwardError) -> HTTPException:
    """The answer a resource server gives for `error`, without a handler of ours."""
    return HTTPException(
        status_for(error), detail=error.detail, headers=error_headers(error)
    )


class _Bearer(BearerToken):
    async def __call__(self, request: Request) -> str | None:
        try:
            return await super().__call__(request)
        except TokenwardError as exc:
            raise http_exception(exc) from exc


class TokenGuard:
    """`claims` and `require_scopes(...)` dependencies over one `Verifier`."""

    def __init__(self, verifier: Verifier, token_url: str | None = None) -> None:
        self.verifier = verifier
        bearer = _Bearer(
            tokenUrl=token_url or f"{verifier.issuer}/auth/token", auto_error=False
        )

        # Defaults, not Annotated: these closures' names are not module globals, so
        # FastAPI could not resolve them from postponed annotations.
        async def claims(token: str | None = Depends(bearer)) -> AccessClaims:
            """The verified claims of the request's bearer token; 401 without one."""
            try:
                if token is None:
                    raise InvalidToken("An access token is required.")
                return await verifier.verify(token)
            except TokenwardError as exc:
                raise http_exception(exc) from exc

        self.claims: ClaimsDependency = claims

    def require_scopes(self, *scopes: str) -> ClaimsDependency:
        """A dependency that lets through only tokens holding every one of `scopes`."""
        needed = frozenset(scopes)

        async def check(claims: AccessClaims = Depends(self.claims)) -> AccessClaims:
            if not needed <= claims.scopes:
                raise http_exception(InsufficientScope())
            return claims

        return check
