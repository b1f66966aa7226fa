"""Authlib's OAuth 2 client (httpx integration) against a live server."""

from __future__ import annotations

import httpx
import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError

from tests.e2e.conftest import Server
from tests.interop.conftest import register

pytestmark = pytest.mark.e2e


def metadata(server: Server) -> dict[str, object]:
    response = httpx.get(f"{server.base_url}/.well-known/oauth-authorization-server")
    assert response.status_code == 200
    return response.json()


def oauth_client(server: Server) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id="interop-test",
        token_endpoint_auth_method="none",
        base_url=server.base_url,
    )


async def test_password_grant_then_refresh_grant(server: Server) -> None:
    """Authlib logs in from the metadata's endpoint, calls the API, and refreshes."""
    email, password = register(server)
    endpoints = metadata(server)
    token_endpoint = str(endpoints["token_endpoint"])
    assert endpoints["issuer"] == server.base_url

    async with oauth_client(server) as client:
        first = await client.fetch_token(
            token_endpoint, grant_type="password", username=email, password=password
        )
        me = await client.get("/users/me")
        refreshed = await client.refresh_token(
            token_endpoint, refresh_token=first["refresh_token"]
        )
        whoami = await client.get("/auth/whoami")

    assert first["token_type"].lower() == "bearer"
    assert me.status_code == 200
    assert me.json()["email"] == email
    assert refreshed["refresh_token"] != first["refresh_token"]
    assert refreshed["access_token"] != first["access_token"]
    assert whoami.status_code == 200
    assert client.token["access_token"] == refreshed["access_token"]


async def test_wrong_password_is_an_invalid_grant_error(server: Server) -> None:
    """Authlib raises the RFC 6749 error the server answers for bad credentials."""
    email, _ = register(server)

    async with oauth_client(server) as client:
        with pytest.raises(OAuthError) as caught:
            await client.fetch_token(
                f"{server.base_url}/auth/token",
                grant_type="password",
                username=email,
                password="not the password at all",
            )

    assert caught.value.error == "invalid_grant"


async def test_a_spent_refresh_token_is_an_invalid_grant(server: Server) -> None:
    """Refreshing twice with one token fails the second time, as RFC 6749 says."""
    email, password = register(server)
    token_endpoint = f"{server.base_url}/auth/token"

    async with oauth_client(server) as client:
        first = await client.fetch_token(
            token_endpoint, grant_type="password", username=email, password=password
        )
        await client.refresh_token(token_endpoint, refresh_token=first["refresh_token"])
        with pytest.raises(OAuthError) as caught:
            await client.refresh_token(
                token_endpoint, refresh_token=first["refresh_token"]
            )

    assert caught.value.error == "invalid_grant"


async def test_revocation_ends_the_session(server: Server) -> None:
    """Authlib's RFC 7009 call revokes the refresh token and the session's access."""
    email, password = register(server)
    endpoints = metadata(server)

    async with oauth_client(server) as client:
        token = await client.fetch_token(
            str(endpoints["token_endpoint"]),
            grant_type="password",
            username=email,
            password=password,
        )
        revoked = await client.revoke_token(
            str(endpoints["revocation_endpoint"]),
            token=token["refresh_token"],
            token_type_hint="refresh_token",
        )
        after = await client.get("/auth/whoami")

    assert revoked.status_code == 200
    assert after.status_code == 401
    assert after.json()["code"] == "token_revoked"
