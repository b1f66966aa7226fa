"""Published metadata: the JSON Web Key Set of the verification keys."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from tokenward.http.deps import TokenwardDep

router = APIRouter(prefix="/.well-known", tags=["well-known"])

# Verifiers refetch on an unknown `kid`, so a short cache costs nothing at rotation.
JWKS_MAX_AGE = 300


@router.get("/jwks.json")
async def jwks(tokenward: TokenwardDep, response: Response) -> dict[str, Any]:
    response.headers["Cache-Control"] = f"public, max-age={JWKS_MAX_AGE}"
    return tokenward.keyring.jwks()
