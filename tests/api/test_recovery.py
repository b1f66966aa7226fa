"""`/auth/password/forgot` and `/auth/password/reset`, with mail through a local SMTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from fastapi import FastAPI

from tests.conftest import PASSWORD, bearer, random_email, register_and_login
from tests.smtp_sink import Sink, reset_token_in

NEW_PASSWORD = "a different and long enough passphrase"


def client_of(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def forgot(app: FastAPI, client: httpx.AsyncClient, email: str) -> httpx.Response:
    """Ask for a reset link and wait until its mail has gone out."""
    response = await client.post("/auth/password/forgot", json={"email": email})
    await app.state.tokenward.recovery.drain()
    return response


async def test_forgot_answers_alike_for_known_and_unknown_addresses(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """202 with the same body and headers whether or not the account exists."""
    email = random_email()
    await register_and_login(client, email)

    known = await forgot(app, client, email)
    unknown = await forgot(app, client, random_email())

    assert known.status_code == unknown.status_code == 202
    assert known.content == unknown.content
    assert known.headers == unknown.headers


async def test_reset_by_mail_over_smtp_ends_every_session(
    app_factory: Callable[..., Any], smtp_sink: Sink
) -> None:
    """The link mailed over SMTP resets the password and revokes the old tokens."""
    app = await app_factory(smtp_url=smtp_sink.url, mail_from="auth@example.com")
    async with client_of(app) as client:
        email = random_email()
        pair = await register_and_login(client, email)

        await forgot(app, client, email)
        [message] = smtp_sink.messages
        token = reset_token_in(message)
        response = await client.post(
            "/auth/password/reset", json={"token": token, "new_password": NEW_PASSWORD}
        )

        assert message["To"] == email and message["From"] == "auth@example.com"
        assert response.status_code == 204
        old = await client.get("/auth/whoami", headers=bearer(pair["access_token"]))
        assert old.json()["code"] == "token_revoked"
        login = await client.post(
            "/auth/login", json={"email": email, "password": NEW_PASSWORD}
        )
        assert login.status_code == 200
        again = await client.post(
            "/auth/password/reset", json={"token": token, "new_password": PASSWORD}
        )
        assert again.status_code == 400


async def test_invalid_reset_token_is_400_without_a_bearer_challenge(
    client: httpx.AsyncClient,
) -> None:
    """An unknown token answers 400 `invalid_token`, not a 401 about bearer tokens."""
    response = await client.post(
        "/auth/password/reset",
        json={"token": "twr_" + "A" * 43, "new_password": NEW_PASSWORD},
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_token"
    assert "www-authenticate" not in response.headers


async def test_unknown_token_is_refused_before_the_password_is_judged(
    client: httpx.AsyncClient,
) -> None:
    """Without a live link, nothing about the password policy is answered."""
    response = await client.post(
        "/auth/password/reset", json={"token": "twr_" + "A" * 43, "new_password": "x"}
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_token"


async def test_forgot_is_rate_limited_per_address(
    app_factory: Callable[..., Any],
) -> None:
    """Past the per-address limit, forgot answers 429 with Retry-After."""
    app = await app_factory(ip_rate="2/minute")
    async with client_of(app) as client:
        answers = [
            await client.post("/auth/password/forgot", json={"email": random_email()})
            for _ in range(3)
        ]

    assert [a.status_code for a in answers] == [202, 202, 429]
    assert answers[-1].json()["code"] == "rate_limited"
    assert int(answers[-1].headers["retry-after"]) >= 1
