"""Published metadata: the JSON Web Key Set, and the RFC 8414 server metadata."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from tokenward.http.deps import TokenwardDep

router = APIRouter(prefix="/.well-known", tags=["well-known"])

# Verifiers refetch on an unknown `kid`, so a short cache costs nothing at rotation.
JWKS_MAX_AGE = 300
METADATA_MAX_AGE = 3600


@router.get("/jwks.json")
async def jwks(tokenward: TokenwardDep, response: Response) -> dict[str, Any]:
    response.headers["Cache-Control"] = f"public, max-age={JWKS_MAX_AGE}"
    return tokenward.keyring.jwks()


@router.get("/oauth-authorization-server")
async def authorization_server(
    tokenward: TokenwardDep, response: Response
) -> dict[str, Any]:
    """RFC 8414 metadata. Every URL is built from the configured issuer, never from the
    request's Host header, so a forged Host cannot point clients elsewhere."""
    response.headers["Cache-Control"] = f"public, max-age={METADATA_MAX_AGE}"
    return server_metadata(tokenward.settings.issuer)


def server_metadata(issuer: str) -> dict[str, Any]:
    return {
        "issuer": issuer,
        "token_endpoint": f"{issuer}/auth/token",
        "revocation_endpoint": f"{issuer}/auth/revoke",
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "grant_types_supported": ["password", "refresh_token"],
        # No authorization endpoint, so no response type; RFC 8414 still asks for it.
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": ["none"],
        "revocation_endpoint_auth_methods_supported": ["none"],
    }
