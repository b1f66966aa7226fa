"""The lean hot paths answer exactly what the contract and the docs promise."""

from __future__ import annotations

from datetime import datetime

import httpx
from fastapi import FastAPI

from tests.conftest import bearer, register_and_login


async def test_whoami_answers_the_token_claims(
    client: httpx.AsyncClient, email: str
) -> None:
    """`/auth/whoami` gives `{sub, sid, scope, exp}` as JSON, nothing more."""
    pair = await register_and_login(client, email)
    me = (await client.get("/users/me", headers=bearer(pair["access_token"]))).json()

    response = await client.get("/auth/whoami", headers=bearer(pair["access_token"]))

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"sub", "sid", "scope", "exp"}
    assert body["sub"] == me["id"]
    assert isinstance(body["exp"], int)


async def test_whoami_refuses_missing_and_malformed_credentials(
    client: httpx.AsyncClient,
) -> None:
    """Without a bearer token, or with another scheme, whoami answers 401 Bearer."""
    missing = await client.get("/auth/whoami")
    basic = await client.get("/auth/whoami", headers={"Authorization": "Basic eDp5"})
    garbage = await client.get("/auth/whoami", headers=bearer("not.a.token"))

    for response in (missing, basic, garbage):
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.json()["code"] == "invalid_token"


async def test_whoami_keeps_its_schema_and_security_in_openapi(app: FastAPI) -> None:
    """The docs still show whoami's response model and its bearer requirement."""
    operation = app.openapi()["paths"]["/auth/whoami"]["get"]

    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/WhoamiResponse"}
    assert operation["security"] == [{"BearerToken": []}]
    assert "BearerToken" in app.openapi()["components"]["securitySchemes"]


async def test_users_me_answers_the_user_record(
    client: httpx.AsyncClient, email: str
) -> None:
    """`/users/me` gives the contract's user fields, with an ISO 8601 `created_at`."""
    pair = await register_and_login(client, email)

    response = await client.get("/users/me", headers=bearer(pair["access_token"]))

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {
        "id",
        "email",
        "created_at",
        "is_active",
        "is_verified",
        "scopes",
    }
    assert body["email"] == email
    assert body["is_active"] is True and body["scopes"] == []
    assert datetime.fromisoformat(body["created_at"]).tzinfo is not None
