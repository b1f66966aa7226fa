"""The OAuth 2 endpoints: token (RFC 6749), revocation (RFC 7009), Swagger's login."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import PASSWORD, bearer, register_and_login

FORM = {"content-type": "application/x-www-form-urlencoded"}


async def password_grant(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD, **extra: str
) -> httpx.Response:
    data = {"grant_type": "password", "username": email, "password": password, **extra}
    return await client.post("/auth/token", data=data)


async def make_user(app: FastAPI, email: str, scopes: tuple[str, ...] = ()) -> None:
    await app.state.tokenward.accounts.register(email, PASSWORD, scopes=scopes)


async def test_password_grant_answers_rfc6749_token_response(
    app: FastAPI, client: httpx.AsyncClient, email: str
) -> None:
    """The token response has the RFC 6749 5.1 members, is not cached, and works."""
    await make_user(app, email)

    response = await password_grant(client, email)
    body = response.json()
    me = await client.get("/users/me", headers=bearer(body["access_token"]))

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["scope"] == ""
    assert body["refresh_token"]
    assert me.json()["email"] == email


async def test_bad_credentials_are_invalid_grant_alike(
    app: FastAPI, client: httpx.AsyncClient, email: str
) -> None:
    """Wrong password, unknown user and malformed username give one same answer."""
    await make_user(app, email)

    answers = [
        await password_grant(client, email, "a wrong password, long enough"),
        await password_grant(client, "nobody@example.com"),
        await password_grant(client, "not an email"),
    ]

    assert {r.status_code for r in answers} == {400}
    assert all(r.json() == answers[0].json() for r in answers)
    assert answers[0].json()["error"] == "invalid_grant"
    assert answers[0].headers["cache-control"] == "no-store"


async def test_refresh_grant_rotates_and_refuses_a_spent_token(
    app: FastAPI, client: httpx.AsyncClient, email: str
) -> None:
    """The refresh grant gives a new pair; the spent token is then an invalid grant."""
    await make_user(app, email)
    first = (await password_grant(client, email)).json()

    refresh = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    second = await client.post("/auth/token", data=refresh)
    again = await client.post("/auth/token", data=refresh)

    assert second.status_code == 200
    assert second.json()["refresh_token"] != first["refresh_token"]
    assert second.headers["cache-control"] == "no-store"
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({}, "invalid_request"),
        ({"grant_type": ""}, "invalid_request"),
        ({"grant_type": "client_credentials"}, "unsupported_grant_type"),
        ({"grant_type": "authorization_code", "code": "x"}, "unsupported_grant_type"),
        ({"grant_type": "password", "username": "a@example.com"}, "invalid_request"),
        ({"grant_type": "password", "password": PASSWORD}, "invalid_request"),
        ({"grant_type": "refresh_token"}, "invalid_request"),
        ({"grant_type": "refresh_token", "refresh_token": "short"}, "invalid_grant"),
        (
            {"grant_type": "password", "username": "a@x.io", "password": "x" * 5000},
            "invalid_request",
        ),
    ],
)
async def test_malformed_requests_get_rfc6749_errors(
    client: httpx.AsyncClient, data: dict[str, str], error: str
) -> None:
    """Missing, unknown or oversized parameters answer the matching 5.2 error."""
    response = await client.post("/auth/token", data=data)

    assert response.status_code == 400
    assert response.json()["error"] == error
    assert set(response.json()) == {"error", "error_description"}


async def test_repeated_parameters_are_invalid(client: httpx.AsyncClient) -> None:
    """RFC 6749 3.2: a parameter sent twice is an invalid request."""
    body = "grant_type=password&grant_type=refresh_token&username=a&password=b"

    response = await client.post("/auth/token", content=body, headers=FORM)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_json_bodies_are_not_accepted(client: httpx.AsyncClient) -> None:
    """The token endpoint reads forms only, as RFC 6749 prescribes."""
    response = await client.post(
        "/auth/token", json={"grant_type": "password", "username": "a", "password": "b"}
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_requested_scope_is_granted_as_far_as_the_user_holds_it(
    app: FastAPI, client: httpx.AsyncClient, email: str
) -> None:
    """Scopes the user lacks are left out, and the response says what was granted."""
    await make_user(app, email, scopes=("reports:read", "admin"))

    response = await password_grant(client, email, scope="reports:read billing")
    whoami = await client.get(
        "/auth/whoami", headers=bearer(response.json()["access_token"])
    )

    assert response.json()["scope"] == "reports:read"
    assert whoami.json()["scope"] == "reports:read"


async def test_malformed_scope_is_invalid_scope(
    app: FastAPI, client: httpx.AsyncClient, email: str
) -> None:
    """A scope with characters RFC 6749 3.3 forbids is an `invalid_scope` error."""
    await make_user(app, email)

    response = await password_grant(client, email, scope='read "quoted"')

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


async def test_refresh_may_narrow_but_not_widen_the_scope(
    app: FastAPI, client: httpx.AsyncClient, email: str
) -> None:
    """Refreshing with more scope than granted fails and leaves the token unspent."""
    await make_user(app, email, scopes=("read", "write"))
    pair = (await password_grant(client, email)).json()

    def refresh(token: str, scope: str) -> dict[str, str]:
        return {"grant_type": "refresh_token", "refresh_token": token, "scope": scope}

    wider = await client.post("/auth/token", data=refresh(pair["refresh_token"], "admin"))
    narrower = await client.post(
        "/auth/token", data=refresh(pair["refresh_token"], "read")
    )
    claims = await client.get(
        "/auth/whoami", headers=bearer(narrower.json()["access_token"])
    )

    assert pair["scope"] == "read write"
    assert wider.status_code == 400
    assert wider.json()["error"] == "invalid_scope"
    assert narrower.status_code == 200
    assert narrower.json()["scope"] == "read"
    assert claims.json()["scope"] == "read"


async def test_failed_logins_are_rate_limited_rfc_style(
    app_factory: Callable[..., Any], email: str
) -> None:
    """Past the login limit the endpoint answers 429 with `Retry-After`."""
    app = await app_factory(login_rate="2/minute")
    await make_user(app, email)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        answers = [await password_grant(client, email, "wrong" * 4) for _ in range(3)]

    assert [r.status_code for r in answers] == [400, 400, 429]
    assert answers[2].json()["error"] == "rate_limited"
    assert int(answers[2].headers["retry-after"]) >= 1


async def test_revoking_a_refresh_token_ends_its_session(
    client: httpx.AsyncClient, email: str
) -> None:
    """RFC 7009: 200, the refresh token no longer works, nor the session's access."""
    pair = await register_and_login(client, email)

    response = await client.post(
        "/auth/revoke",
        data={"token": pair["refresh_token"], "token_type_hint": "refresh_token"},
    )
    refresh = await client.post(
        "/auth/refresh", json={"refresh_token": pair["refresh_token"]}
    )
    whoami = await client.get("/auth/whoami", headers=bearer(pair["access_token"]))

    assert response.status_code == 200
    assert refresh.status_code == 401
    assert whoami.json()["code"] == "token_revoked"


async def test_revoking_an_access_token_ends_its_session(
    client: httpx.AsyncClient, email: str
) -> None:
    """An access token cannot die alone, so revoking it revokes its session."""
    pair = await register_and_login(client, email)

    response = await client.post(
        "/auth/revoke",
        data={"token": pair["access_token"], "token_type_hint": "refresh_token"},
    )
    refresh = await client.post(
        "/auth/refresh", json={"refresh_token": pair["refresh_token"]}
    )

    assert response.status_code == 200
    assert refresh.status_code == 401
    assert refresh.json()["code"] == "token_revoked"


@pytest.mark.parametrize(
    "token", ["unknown", "x" * 43, "a.b.c", "y" * 10_000, "eyJhbGciOiJub25lIn0.e30."]
)
async def test_revoking_unknown_tokens_answers_200(
    client: httpx.AsyncClient, token: str
) -> None:
    """Unknown, malformed or huge tokens are answered 200, revealing nothing."""
    response = await client.post("/auth/revoke", data={"token": token})

    assert response.status_code == 200
    assert response.content == b""


async def test_revoking_a_spent_refresh_token_leaves_the_session(
    client: httpx.AsyncClient, email: str
) -> None:
    """A refresh token already spent is no longer valid: revoking it changes nothing."""
    pair = await register_and_login(client, email)
    new = (
        await client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    ).json()

    response = await client.post("/auth/revoke", data={"token": pair["refresh_token"]})
    whoami = await client.get("/auth/whoami", headers=bearer(new["access_token"]))

    assert response.status_code == 200
    assert whoami.status_code == 200


async def test_revoke_without_a_token_is_invalid_request(
    client: httpx.AsyncClient,
) -> None:
    """RFC 7009 2.2.1: a request lacking `token` is an `invalid_request` error."""
    response = await client.post("/auth/revoke", data={"token_type_hint": "x"})

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_openapi_points_swagger_authorize_at_the_token_endpoint(
    client: httpx.AsyncClient,
) -> None:
    """The OpenAPI password flow names `/auth/token`, which takes a form body."""
    schema = (await client.get("/openapi.json")).json()

    flows = [
        scheme["flows"]
        for scheme in schema["components"]["securitySchemes"].values()
        if scheme["type"] == "oauth2"
    ]
    token_path = schema["paths"]["/auth/token"]["post"]
    form = token_path["requestBody"]["content"]["application/x-www-form-urlencoded"]

    assert flows and all(f["password"]["tokenUrl"] == "/auth/token" for f in flows)
    assert {"grant_type", "username", "password", "scope"} <= set(
        _form_fields(schema, form["schema"])
    )
    assert schema["paths"]["/users/me"]["get"]["security"]


async def test_swagger_authorize_request_logs_in(
    app: FastAPI, client: httpx.AsyncClient, email: str
) -> None:
    """The form Swagger UI posts (with its empty client fields) gets a usable token."""
    await make_user(app, email)
    credentials = base64.b64encode(b"swagger:").decode()

    response = await client.post(
        "/auth/token",
        content=f"grant_type=password&username={email}&password="
        + PASSWORD.replace(" ", "+")
        + "&scope=&client_id=&client_secret=",
        headers={
            **FORM,
            "accept": "application/json",
            "x-requested-with": "XMLHttpRequest",
            "authorization": f"Basic {credentials}",
        },
    )
    token = response.json()["access_token"]
    me = await client.get("/users/me", headers=bearer(token))

    assert response.status_code == 200
    assert me.status_code == 200
    assert me.json()["email"] == email


def _form_fields(schema: dict[str, Any], body: dict[str, Any]) -> list[str]:
    if "$ref" in body:
        name = body["$ref"].rsplit("/", 1)[1]
        body = schema["components"]["schemas"][name]
    return list(body["properties"])
