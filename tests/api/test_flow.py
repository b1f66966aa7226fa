"""The whole token life cycle through the HTTP API."""

from __future__ import annotations

import httpx

from tests.conftest import bearer, register_and_login


async def test_register_login_me_refresh_logout(
    client: httpx.AsyncClient, email: str
) -> None:
    """The walkthrough of the README works, and logout kills the access token at once."""
    pair = await register_and_login(client, email, device_name="laptop")

    me = await client.get("/users/me", headers=bearer(pair["access_token"]))
    assert me.status_code == 200
    assert me.json()["email"] == email

    refreshed = await client.post(
        "/auth/refresh", json={"refresh_token": pair["refresh_token"]}
    )
    assert refreshed.status_code == 200
    new = refreshed.json()
    assert new["refresh_token"] != pair["refresh_token"]

    logout = await client.post("/auth/logout", headers=bearer(new["access_token"]))
    assert logout.status_code == 204

    after = await client.get("/auth/whoami", headers=bearer(new["access_token"]))
    assert after.status_code == 401
    assert after.json()["code"] == "token_revoked"
    assert after.headers["www-authenticate"].startswith("Bearer")
