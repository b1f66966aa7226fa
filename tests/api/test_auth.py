"""The `/auth` and `/users` routes: status codes, error codes and headers."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.conftest import (
    PASSWORD,
    bearer,
    make_settings,
    random_email,
    register_and_login,
)
from tokenward import Tokenward, create_app


async def test_register_returns_the_user_without_secrets(
    client: httpx.AsyncClient, email: str
) -> None:
    response = await client.post(
        "/auth/register", json={"email": email, "password": PASSWORD}
    )

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {
        "id",
        "email",
        "created_at",
        "is_active",
        "is_verified",
        "scopes",
    }
    assert body["is_active"] is True and body["is_verified"] is False
    assert PASSWORD not in response.text


async def test_one_mailbox_holds_one_account(client: httpx.AsyncClient) -> None:
    """Case, surrounding spaces and fullwidth letters do not make a second account."""
    first = await client.post(
        "/auth/register", json={"email": "carol@example.com", "password": PASSWORD}
    )
    assert first.status_code == 201

    for variant in [
        "Carol@Example.COM",
        "  carol@example.com ",
        "\uff43arol@example.com",
    ]:
        again = await client.post(
            "/auth/register", json={"email": variant, "password": PASSWORD}
        )
        assert again.status_code == 409, variant
        assert again.json()["code"] == "email_taken"


async def test_invalid_email_and_weak_password_answer_422(
    client: httpx.AsyncClient,
) -> None:
    bad_email = await client.post(
        "/auth/register", json={"email": "not-an-email", "password": PASSWORD}
    )
    weak = await client.post(
        "/auth/register", json={"email": random_email(), "password": "too short"}
    )

    assert (bad_email.status_code, bad_email.json()["code"]) == (422, "invalid_request")
    assert (weak.status_code, weak.json()["code"]) == (422, "weak_password")


async def test_validation_errors_never_echo_the_input(client: httpx.AsyncClient) -> None:
    secret = "hunter2-" * 600  # longer than any password field allows
    response = await client.post(
        "/auth/register", json={"email": random_email(), "password": secret}
    )

    assert response.status_code == 422
    assert "hunter2" not in response.text


async def test_unknown_email_and_wrong_password_answer_alike(
    client: httpx.AsyncClient, email: str
) -> None:
    await register_and_login(client, email)

    wrong = await client.post("/auth/login", json={"email": email, "password": "x" * 20})
    unknown = await client.post(
        "/auth/login", json={"email": random_email(), "password": "x" * 20}
    )

    assert wrong.status_code == unknown.status_code == 401
    assert (
        wrong.json()
        == unknown.json()
        == {
            "detail": "The email or password is incorrect.",
            "code": "invalid_credentials",
        }
    )


async def test_token_responses_are_not_cached(
    client: httpx.AsyncClient, email: str
) -> None:
    await client.post("/auth/register", json={"email": email, "password": PASSWORD})
    login = await client.post("/auth/login", json={"email": email, "password": PASSWORD})
    refresh = await client.post(
        "/auth/refresh", json={"refresh_token": login.json()["refresh_token"]}
    )

    for response in (login, refresh):
        assert response.headers["cache-control"] == "no-store"
        body = response.json()
        assert body["token_type"] == "Bearer"
        assert body["expires_in"] == 900
        assert body["refresh_expires_in"] > 0


async def test_protected_routes_demand_a_bearer_token(client: httpx.AsyncClient) -> None:
    for method, path in [
        ("GET", "/users/me"),
        ("GET", "/auth/whoami"),
        ("GET", "/auth/sessions"),
        ("POST", "/auth/logout"),
    ]:
        response = await client.request(method, path)
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.json()["code"] == "invalid_token"


async def test_access_token_in_the_query_string_is_ignored(
    client: httpx.AsyncClient, email: str
) -> None:
    pair = await register_and_login(client, email)

    response = await client.get(
        "/users/me", params={"access_token": pair["access_token"]}
    )

    assert response.status_code == 401


async def test_refresh_token_is_not_an_access_token_and_back(
    client: httpx.AsyncClient, email: str
) -> None:
    pair = await register_and_login(client, email)

    as_access = await client.get("/auth/whoami", headers=bearer(pair["refresh_token"]))
    as_refresh = await client.post(
        "/auth/refresh", json={"refresh_token": pair["access_token"]}
    )

    assert as_access.status_code == as_refresh.status_code == 401


async def test_reused_refresh_token_revokes_the_session(app_factory, email: str) -> None:
    app: FastAPI = await app_factory(refresh_reuse_grace=0)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        pair = await register_and_login(client, email)
        first = await client.post(
            "/auth/refresh", json={"refresh_token": pair["refresh_token"]}
        )
        assert first.status_code == 200

        replay = await client.post(
            "/auth/refresh", json={"refresh_token": pair["refresh_token"]}
        )
        assert (replay.status_code, replay.json()["code"]) == (401, "refresh_reused")

        newest = first.json()
        later = await client.post(
            "/auth/refresh", json={"refresh_token": newest["refresh_token"]}
        )
        whoami = await client.get("/auth/whoami", headers=bearer(newest["access_token"]))
        assert later.status_code == whoami.status_code == 401
        assert whoami.json()["code"] == "token_revoked"


async def test_sessions_are_listed_per_device(
    client: httpx.AsyncClient, email: str
) -> None:
    laptop = await register_and_login(client, email, device_name="laptop")
    phone = await client.post(
        "/auth/login",
        json={"email": email, "password": PASSWORD, "device_name": "phone"},
        headers={"User-Agent": "PhoneBrowser/1.0"},
    )

    listed = await client.get("/auth/sessions", headers=bearer(laptop["access_token"]))

    assert listed.status_code == 200
    by_device = {s["device_name"]: s for s in listed.json()}
    assert set(by_device) == {"laptop", "phone"}
    assert (
        by_device["laptop"]["current"] is True and by_device["phone"]["current"] is False
    )
    assert by_device["phone"]["user_agent"] == "PhoneBrowser/1.0"
    assert by_device["phone"]["ip"] == "127.0.0.1"
    assert phone.status_code == 200


async def test_deleting_a_session_kills_its_tokens(
    client: httpx.AsyncClient, email: str
) -> None:
    laptop = await register_and_login(client, email, device_name="laptop")
    phone = (
        await client.post(
            "/auth/login",
            json={"email": email, "password": PASSWORD, "device_name": "phone"},
        )
    ).json()
    sessions = await client.get("/auth/sessions", headers=bearer(laptop["access_token"]))
    phone_id = next(s["id"] for s in sessions.json() if s["device_name"] == "phone")

    deleted = await client.delete(
        f"/auth/sessions/{phone_id}", headers=bearer(laptop["access_token"])
    )

    assert deleted.status_code == 204
    gone = await client.get("/auth/whoami", headers=bearer(phone["access_token"]))
    assert gone.status_code == 401
    refresh = await client.post(
        "/auth/refresh", json={"refresh_token": phone["refresh_token"]}
    )
    assert refresh.status_code == 401
    still = await client.get("/auth/whoami", headers=bearer(laptop["access_token"]))
    assert still.status_code == 200


async def test_someone_elses_session_is_not_found(client: httpx.AsyncClient) -> None:
    alice = await register_and_login(client, random_email())
    bob = await register_and_login(client, random_email())
    bob_session = await client.get("/auth/whoami", headers=bearer(bob["access_token"]))

    response = await client.delete(
        f"/auth/sessions/{bob_session.json()['sid']}",
        headers=bearer(alice["access_token"]),
    )

    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert (
        await client.get("/auth/whoami", headers=bearer(bob["access_token"]))
    ).is_success


async def test_logout_all_ends_every_session(
    client: httpx.AsyncClient, email: str
) -> None:
    first = await register_and_login(client, email)
    second = (
        await client.post("/auth/login", json={"email": email, "password": PASSWORD})
    ).json()

    response = await client.post(
        "/auth/logout-all", headers=bearer(first["access_token"])
    )

    assert response.status_code == 204
    for pair in (first, second):
        whoami = await client.get("/auth/whoami", headers=bearer(pair["access_token"]))
        assert whoami.status_code == 401


async def test_password_change_ends_every_other_session(
    client: httpx.AsyncClient, email: str
) -> None:
    current = await register_and_login(client, email)
    other = (
        await client.post("/auth/login", json={"email": email, "password": PASSWORD})
    ).json()
    new_password = "a brand new passphrase for carol"

    wrong = await client.post(
        "/auth/password/change",
        json={"current_password": "not the password", "new_password": new_password},
        headers=bearer(current["access_token"]),
    )
    changed = await client.post(
        "/auth/password/change",
        json={"current_password": PASSWORD, "new_password": new_password},
        headers=bearer(current["access_token"]),
    )

    assert wrong.status_code == 401
    assert changed.status_code == 204
    assert (
        await client.get("/auth/whoami", headers=bearer(current["access_token"]))
    ).is_success
    assert (
        await client.get("/auth/whoami", headers=bearer(other["access_token"]))
    ).status_code == 401
    old = await client.post("/auth/login", json={"email": email, "password": PASSWORD})
    new = await client.post(
        "/auth/login", json={"email": email, "password": new_password}
    )
    assert (old.status_code, new.status_code) == (401, 200)


async def test_whoami_reads_no_database(
    client: httpx.AsyncClient, app: FastAPI, email: str
) -> None:
    """The claims come from the verified token alone, even with the database gone."""
    pair = await register_and_login(client, email)
    store = app.state.tokenward.store
    await store.engine.dispose()

    async def broken(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the database was read")

    store._read = broken
    store._write = broken

    response = await client.get("/auth/whoami", headers=bearer(pair["access_token"]))

    assert response.status_code == 200
    assert set(response.json()) == {"sub", "sid", "scope", "exp"}


async def test_disabled_user_is_refused_everywhere(
    client: httpx.AsyncClient, app: FastAPI, email: str
) -> None:
    pair = await register_and_login(client, email)
    tokenward = app.state.tokenward
    user = await tokenward.accounts.find(email)

    await tokenward.set_user_active(user, False)

    me = await client.get("/users/me", headers=bearer(pair["access_token"]))
    refresh = await client.post(
        "/auth/refresh", json={"refresh_token": pair["refresh_token"]}
    )
    login = await client.post("/auth/login", json={"email": email, "password": PASSWORD})
    assert me.status_code == refresh.status_code == login.status_code == 401
    assert login.json()["code"] == "invalid_credentials"


async def test_login_rate_limit_answers_429_with_retry_after(
    app_factory, email: str
) -> None:
    app: FastAPI = await app_factory(login_rate="3/minute")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        await client.post("/auth/register", json={"email": email, "password": PASSWORD})
        for _ in range(3):
            failed = await client.post(
                "/auth/login", json={"email": email, "password": "x" * 20}
            )
            assert failed.status_code == 401

        limited = await client.post(
            "/auth/login", json={"email": email, "password": PASSWORD}
        )

    assert (limited.status_code, limited.json()["code"]) == (429, "rate_limited")
    assert 1 <= int(limited.headers["retry-after"]) <= 60


async def test_health_readiness_and_jwks(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok"}

    jwks = await client.get("/.well-known/jwks.json")
    (key,) = jwks.json()["keys"]
    assert key["kty"] == "EC" and key["alg"] == "ES256" and key["use"] == "sig"
    assert "d" not in key
    assert "max-age" in jwks.headers["cache-control"]


async def test_readiness_fails_without_the_database() -> None:
    """A database that does not answer makes the instance not ready, not crash."""
    missing = "postgresql+asyncpg://postgres@127.0.0.1:1/nothing"  # nothing listens
    tokenward = Tokenward(make_settings(database_url=missing))
    app = create_app(tokenward=tokenward)
    transport = httpx.ASGITransport(app=app)

    # Not started: no background task is left talking to the broken database.
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        ready = await client.get("/readyz")
    await tokenward.store.close()

    assert ready.status_code == 503
    assert ready.json()["checks"]["database"] == "unavailable"


async def test_openapi_declares_the_bearer_scheme(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()

    schemes = schema["components"]["securitySchemes"]
    assert any(s["type"] == "oauth2" for s in schemes.values())
    assert schema["paths"]["/users/me"]["get"]["security"]


async def test_every_response_carries_security_headers(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")

    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "strict-transport-security" not in response.headers


async def test_metrics_count_auth_events(client: httpx.AsyncClient, email: str) -> None:
    def logins(text: str) -> float:
        for line in text.splitlines():
            if line.startswith('tokenward_auth_events_total{event="login_succeeded"}'):
                return float(line.split()[-1])
        return 0.0

    before = logins((await client.get("/metrics")).text)
    await register_and_login(client, email)
    response = await client.get("/metrics")

    assert response.headers["content-type"].startswith("text/plain")
    assert logins(response.text) == before + 1
    assert "tokenward_revocation_view_entries" in response.text
    assert "tokenward_verification_keys 1.0" in response.text
