"""A separate service that trusts tokenward's access tokens without its database.

Start tokenward (`tokenward serve`, port 8000), then this service on another port:

    uvicorn examples.resource_server:app --port 9000

(set `TOKENWARD_ISSUER` and `TOKENWARD_AUDIENCE` here as the server has them)
and call it with a token from tokenward:

    curl -s localhost:9000/notes -H "Authorization: Bearer $access"

It fetches tokenward's public keys from the JWKS URL, caches them, and checks every
token locally: no call to tokenward per request.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI

from tokenward.claims import AccessClaims
from tokenward.http.resource import TokenGuard
from tokenward.verifier import Verifier

verifier = Verifier(
    issuer=os.environ.get("TOKENWARD_ISSUER", "http://localhost:8000"),
    audience=os.environ.get("TOKENWARD_AUDIENCE", "tokenward"),
    max_lifetime=int(os.environ.get("TOKENWARD_ACCESS_TTL", "900")),
)
guard = TokenGuard(verifier)
Claims = Annotated[AccessClaims, Depends(guard.claims)]


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    async with verifier:
        yield


app = FastAPI(title="notes", lifespan=lifespan)


@app.get("/notes")
async def notes(claims: Claims) -> dict[str, object]:
    """Anyone with a valid token: the user id comes from the token alone."""
    return {"user": claims.sub, "notes": [f"a note for {claims.sub}"]}


@app.get("/reports", dependencies=[Depends(guard.require_scopes("reports:read"))])
async def reports() -> list[str]:
    """Only tokens granted the `reports:read` scope."""
    return ["quarterly"]
