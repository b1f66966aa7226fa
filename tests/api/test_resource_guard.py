"""A separate FastAPI service protected by `TokenGuard` over tokenward's JWKS."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import Depends, FastAPI

from tests.conftest import PASSWORD, bearer, register_and_login
from tokenward.claims import AccessClaims
from tokenward.http.resource import TokenGuard
from tokenward.verifier import Verifier


@pytest.fixture
async def notes(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A notes service whose verifier fetches keys from the tokenward app."""
    auth = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
    verifier = Verifier(
        "http://localhost:8000",
        "tokenward",
        jwks_url="http://auth/.well-known/jwks.json",
        http=auth,
    )
    guard = TokenGuard(verifier)
    service = FastAPI()

    @service.get("/notes")
    async def list_notes(claims: AccessClaims = Depends(guard.claims)) -> dict[str, str]:
        return {"owner": claims.sub}

    @service.get("/reports", dependencies=[Depends(guard.require_scopes("reports"))])
    async def reports() -> list[str]:
        return ["q1"]

    transport = httpx.ASGITransport(app=service)
    async with verifier, httpx.AsyncClient(transport=transport, base_url="http://n") as c:
        yield c
    await auth.aclose()


async def test_a_valid_token_reaches_the_route(
    client: httpx.AsyncClient, notes: httpx.AsyncClient, email: str
) -> None:
    """The service trusts tokenward's token and sees its subject."""
    pair = await register_and_login(client, email)
    me = await client.get("/users/me", headers=bearer(pair["access_token"]))

    response = await notes.get("/notes", headers=bearer(pair["access_token"]))

    assert response.status_code == 200
    assert response.json() == {"owner": me.json()["id"]}


@pytest.mark.parametrize(
    "headers",
    [{}, {"authorization": "Bearer not.a.token"}, {"authorization": "Basic abc"}],
)
async def test_missing_or_bad_tokens_get_a_bearer_challenge(
    notes: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    """401 with an RFC 6750 `WWW-Authenticate` header, without any handler installed."""
    response = await notes.get("/notes", headers=headers)

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')


async def test_missing_scope_is_403(
    app: FastAPI, client: httpx.AsyncClient, notes: httpx.AsyncClient, email: str
) -> None:
    """A token without the route's scope is refused with `insufficient_scope`."""
    await app.state.tokenward.accounts.register(email, PASSWORD, scopes=("reports",))
    plain = await register_and_login(client, "plain-" + email)
    login = await client.post("/auth/login", json={"email": email, "password": PASSWORD})

    refused = await notes.get("/reports", headers=bearer(plain["access_token"]))
    allowed = await notes.get("/reports", headers=bearer(login.json()["access_token"]))

    assert refused.status_code == 403
    assert "insufficient_scope" in refused.headers["www-authenticate"]
    assert allowed.status_code == 200
