"""The lean hot routes answer exactly what the contract and the docs promise."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest
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


@pytest.mark.parametrize(
    ("path", "model"),
    [("/auth/whoami", "WhoamiResponse"), ("/users/me", "UserResponse")],
)
async def test_hot_routes_keep_their_schema_and_security_in_openapi(
    app: FastAPI, path: str, model: str
) -> None:
    """The docs still show each hot route's answer model and its bearer requirement."""
    operation = app.openapi()["paths"][path]["get"]

    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": f"#/components/schemas/{model}"}
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


async def test_users_me_refuses_a_disabled_user_at_once(
    client: httpx.AsyncClient, app: FastAPI, email: str
) -> None:
    """A disabled user's token stops working on `/users/me`, cached record or not."""
    pair = await register_and_login(client, email)
    headers = bearer(pair["access_token"])
    assert (await client.get("/users/me", headers=headers)).status_code == 200
    tokenward = app.state.tokenward
    user = await tokenward.accounts.find(email)

    await tokenward.set_user_active(user, False)

    refused = await client.get("/users/me", headers=headers)
    assert refused.status_code == 401
