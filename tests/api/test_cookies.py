"""The cookie transport: cookie attributes, CSRF, refresh, logout and CORS."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import PASSWORD, bearer, random_email

PLAIN = ("tokenward_access", "tokenward_refresh", "tokenward_csrf")
SECURE = (
    "__Host-tokenward_access",
    "__Secure-tokenward_refresh",
    "__Host-tokenward_csrf",
)
APP_ORIGIN = "https://app.example.com"


def set_cookies(response: httpx.Response) -> dict[str, dict[str, str]]:
    """Each Set-Cookie header as {name: {"value": …, attribute: value}}."""
    cookies: dict[str, dict[str, str]] = {}
    for header in response.headers.get_list("set-cookie"):
        first, *attributes = (part.strip() for part in header.split(";"))
        name, _, value = first.partition("=")
        fields = {"value": value}
        for attribute in attributes:
            key, _, attr_value = attribute.partition("=")
            fields[key.lower()] = attr_value or "true"
        cookies[name] = fields
    return cookies


async def cookie_login(client: httpx.AsyncClient, email: str | None = None) -> str:
    """Register and log in through the cookie route; return the CSRF token."""
    email = email or random_email()
    registered = await client.post(
        "/auth/register", json={"email": email, "password": PASSWORD}
    )
    assert registered.status_code == 201
    response = await client.post(
        "/auth/cookie/login", json={"email": email, "password": PASSWORD}
    )
    assert response.status_code == 204, response.text
    return response.headers["x-csrf-token"]


@pytest.fixture
async def client_for(
    app_factory: Callable[..., Any],
) -> AsyncIterator[Callable[..., Any]]:
    """Clients for apps built with the given settings, closed at teardown."""
    clients: list[httpx.AsyncClient] = []

    async def make(base_url: str = "http://testserver", **settings: Any) -> Any:
        app: FastAPI = await app_factory(**settings)
        transport = httpx.ASGITransport(app=app)
        client = httpx.AsyncClient(transport=transport, base_url=base_url)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


async def test_cookie_login_sets_three_cookies_and_no_token_in_the_body(
    client: httpx.AsyncClient,
) -> None:
    """Over plain http in development: plain names, no Secure, the documented flags."""
    email = random_email()
    await client.post("/auth/register", json={"email": email, "password": PASSWORD})

    response = await client.post(
        "/auth/cookie/login", json={"email": email, "password": PASSWORD}
    )

    assert response.status_code == 204
    assert response.content == b""
    assert response.headers["cache-control"] == "no-store"
    cookies = set_cookies(response)
    access, refresh, csrf = (cookies[name] for name in PLAIN)
    assert access["httponly"] == "true" and access["samesite"] == "lax"
    assert access["path"] == "/" and access["value"].count(".") == 2
    assert refresh["httponly"] == "true" and refresh["samesite"] == "strict"
    assert refresh["path"] == "/auth/cookie"
    assert "httponly" not in csrf and csrf["samesite"] == "strict"
    assert csrf["value"] == response.headers["x-csrf-token"]
    assert not any("secure" in attrs for attrs in cookies.values())


async def test_cookies_are_secure_with_prefixed_names_over_https(
    client_for: Callable[..., Any],
) -> None:
    """A request that came over https gets Secure cookies with __Host-/__Secure- names."""
    client = await client_for(base_url="https://testserver")

    await cookie_login(client)

    me = await client.get("/users/me")
    assert me.status_code == 200
    response = await client.post(
        "/auth/cookie/refresh", headers={"X-CSRF-Token": client.cookies[SECURE[2]]}
    )
    cookies = set_cookies(response)
    assert set(cookies) == set(SECURE)
    assert all(attrs.get("secure") == "true" for attrs in cookies.values())
    assert cookies[SECURE[0]]["path"] == "/" and "domain" not in cookies[SECURE[0]]
    assert cookies[SECURE[1]]["path"] == "/auth/cookie"


async def test_cookies_are_secure_in_production_even_over_http(
    client_for: Callable[..., Any], sqlite_url: str
) -> None:
    """Production never sends a cookie without Secure, whatever the request said."""
    client = await client_for(
        env="production", issuer="https://auth.example.com", database_url=sqlite_url
    )
    email = random_email()
    await client.post("/auth/register", json={"email": email, "password": PASSWORD})

    response = await client.post(
        "/auth/cookie/login", json={"email": email, "password": PASSWORD}
    )

    cookies = set_cookies(response)
    assert set(cookies) == set(SECURE)
    assert all(attrs.get("secure") == "true" for attrs in cookies.values())


@pytest.mark.parametrize(("trusted", "secure"), [(None, False), ("127.0.0.1", True)])
async def test_forwarded_proto_is_believed_only_from_trusted_proxies(
    client_for: Callable[..., Any], trusted: str | None, secure: bool
) -> None:
    """`X-Forwarded-Proto: https` counts only when a trusted proxy sends it."""
    settings = {"trusted_proxies": trusted} if trusted else {}
    client = await client_for(**settings)
    email = random_email()
    await client.post("/auth/register", json={"email": email, "password": PASSWORD})

    response = await client.post(
        "/auth/cookie/login",
        json={"email": email, "password": PASSWORD},
        headers={"X-Forwarded-Proto": "https"},
    )

    cookies = set_cookies(response)
    assert set(cookies) == set(SECURE if secure else PLAIN)


async def test_access_cookie_authenticates_reads_without_csrf(
    client: httpx.AsyncClient,
) -> None:
    """GET routes accept the access cookie alone."""
    email = random_email()
    await cookie_login(client, email)

    me = await client.get("/users/me")
    whoami = await client.get("/auth/whoami")

    assert me.status_code == 200 and me.json()["email"] == email
    assert whoami.status_code == 200 and whoami.json()["scope"] == ""


@pytest.mark.parametrize("header", [None, "", "not-the-token"])
async def test_cookie_authenticated_post_without_the_csrf_token_is_refused(
    client: httpx.AsyncClient, header: str | None
) -> None:
    """A state-changing request on the access cookie needs the matching CSRF header."""
    await cookie_login(client)
    headers = {} if header is None else {"X-CSRF-Token": header}

    response = await client.post("/auth/logout-all", headers=headers)

    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"
    assert (await client.get("/users/me")).status_code == 200


async def test_cookie_authenticated_post_with_the_csrf_token_succeeds(
    client: httpx.AsyncClient,
) -> None:
    """With the CSRF header equal to the cookie, the request goes through."""
    csrf = await cookie_login(client)

    response = await client.post("/auth/logout-all", headers={"X-CSRF-Token": csrf})

    assert response.status_code == 204
    after = await client.get("/users/me")
    assert after.status_code == 401 and after.json()["code"] == "token_revoked"


async def test_bearer_requests_need_no_csrf_token(client: httpx.AsyncClient) -> None:
    """The bearer header wins over cookies, and needs no CSRF header."""
    await cookie_login(client)
    pair = (
        await client.post(
            "/auth/login",
            json={
                "email": (await client.get("/users/me")).json()["email"],
                "password": PASSWORD,
            },
        )
    ).json()

    response = await client.post("/auth/logout", headers=bearer(pair["access_token"]))

    assert response.status_code == 204
    assert (await client.get("/users/me")).status_code == 200  # the cookie session


async def test_csrf_token_of_another_session_is_refused(client_for: Any) -> None:
    """A CSRF cookie and header pair from one session does not pass for another."""
    victim = await client_for()
    attacker = await client_for()
    await cookie_login(victim)
    planted = await cookie_login(attacker)
    victim.cookies.set("tokenward_csrf", planted)

    response = await victim.post("/auth/logout-all", headers={"X-CSRF-Token": planted})

    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Referer": "http://evil.example/page"},
        {"Origin": "http://testserver.evil.example"},
    ],
)
async def test_foreign_origin_is_refused_even_with_the_csrf_token(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    """An `Origin` (or `Referer`) that is not an allowed origin fails the CSRF check."""
    csrf = await cookie_login(client)

    response = await client.post(
        "/auth/logout-all", headers={"X-CSRF-Token": csrf, **headers}
    )

    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"


async def test_own_and_configured_origins_are_allowed(client_for: Any) -> None:
    """The server's own origin, the issuer's and TOKENWARD_ALLOWED_ORIGINS pass."""
    client = await client_for(allowed_origins=APP_ORIGIN)
    csrf = await cookie_login(client)

    for origin in ("http://testserver", "http://localhost:8000", APP_ORIGIN):
        response = await client.get(
            "/auth/sessions", headers={"X-CSRF-Token": csrf, "Origin": origin}
        )
        assert response.status_code == 200
        refreshed = await client.post(
            "/auth/cookie/refresh",
            headers={"X-CSRF-Token": csrf, "Origin": origin},
        )
        assert refreshed.status_code == 204, origin


async def test_cookie_login_from_a_foreign_origin_is_refused(
    client: httpx.AsyncClient,
) -> None:
    """Login CSRF: a login posted from another origin sets no cookie."""
    email = random_email()
    await client.post("/auth/register", json={"email": email, "password": PASSWORD})

    response = await client.post(
        "/auth/cookie/login",
        json={"email": email, "password": PASSWORD},
        headers={"Origin": "http://evil.example"},
    )

    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"
    assert "set-cookie" not in response.headers


async def test_cookie_login_failure_matches_the_json_login(
    client: httpx.AsyncClient,
) -> None:
    """A wrong password answers as `/auth/login` does, and sets no cookie."""
    email = random_email()
    await client.post("/auth/register", json={"email": email, "password": PASSWORD})
    body = {"email": email, "password": "wrong " + PASSWORD}

    by_cookie = await client.post("/auth/cookie/login", json=body)
    by_json = await client.post("/auth/login", json=body)

    assert by_cookie.status_code == by_json.status_code == 401
    assert by_cookie.json() == by_json.json()
    assert "set-cookie" not in by_cookie.headers


async def test_cookie_refresh_renews_the_cookies_and_spends_the_old_token(
    client_for: Any,
) -> None:
    """Refresh rotates the refresh cookie; the old value is then a reused token."""
    client = await client_for(refresh_reuse_grace=0)
    csrf = await cookie_login(client)
    old_refresh = client.cookies["tokenward_refresh"]
    old_access = client.cookies["tokenward_access"]

    response = await client.post("/auth/cookie/refresh", headers={"X-CSRF-Token": csrf})

    assert response.status_code == 204 and response.content == b""
    assert client.cookies["tokenward_refresh"] != old_refresh
    assert client.cookies["tokenward_access"] != old_access
    assert client.cookies["tokenward_csrf"] == csrf  # bound to the session, unchanged
    reused = await client.post("/auth/refresh", json={"refresh_token": old_refresh})
    assert reused.json()["code"] == "refresh_reused"


async def test_cookie_refresh_refused_by_csrf_spends_nothing(
    client: httpx.AsyncClient,
) -> None:
    """Without the CSRF header the refresh token is not spent, and the session lives."""
    csrf = await cookie_login(client)
    refresh_token = client.cookies["tokenward_refresh"]

    refused = await client.post("/auth/cookie/refresh")
    planted = await client.post(
        "/auth/cookie/refresh", headers={"X-CSRF-Token": "A" * 43}
    )

    assert refused.status_code == planted.status_code == 403
    assert "set-cookie" not in refused.headers
    assert client.cookies["tokenward_refresh"] == refresh_token
    ok = await client.post("/auth/cookie/refresh", headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 204


async def test_refused_refresh_clears_the_cookies(client: httpx.AsyncClient) -> None:
    """A revoked session's refresh answers 401 and deletes the cookies."""
    csrf = await cookie_login(client)
    access = client.cookies["tokenward_access"]
    await client.post("/auth/logout", headers=bearer(access))

    response = await client.post("/auth/cookie/refresh", headers={"X-CSRF-Token": csrf})

    assert response.status_code == 401
    assert response.json()["code"] == "token_revoked"
    cookies = set_cookies(response)
    assert set(cookies) == set(PLAIN)
    assert all(attrs["max-age"] == "0" for attrs in cookies.values())


async def test_refresh_without_a_refresh_cookie_is_401(client: httpx.AsyncClient) -> None:
    """No refresh cookie: 401 with the Bearer challenge."""
    response = await client.post("/auth/cookie/refresh", headers={"X-CSRF-Token": "x"})

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_cookie_logout_revokes_the_session_and_clears_the_cookies(
    client: httpx.AsyncClient,
) -> None:
    """Logout needs the CSRF header, revokes the session and deletes the cookies."""
    csrf = await cookie_login(client)
    access = client.cookies["tokenward_access"]

    refused = await client.post("/auth/cookie/logout")
    response = await client.post("/auth/cookie/logout", headers={"X-CSRF-Token": csrf})

    assert refused.status_code == 403
    assert response.status_code == 204
    assert all(a["max-age"] == "0" for a in set_cookies(response).values())
    after = await client.get("/auth/whoami", headers=bearer(access))
    assert after.json()["code"] == "token_revoked"


async def test_cookie_logout_without_an_access_cookie_uses_the_refresh_cookie(
    client: httpx.AsyncClient,
) -> None:
    """With the access cookie gone (expired), logout still revokes the session."""
    csrf = await cookie_login(client)
    access = client.cookies["tokenward_access"]
    client.cookies.delete("tokenward_access")

    response = await client.post("/auth/cookie/logout", headers={"X-CSRF-Token": csrf})

    assert response.status_code == 204
    after = await client.get("/auth/whoami", headers=bearer(access))
    assert after.json()["code"] == "token_revoked"


async def test_csrf_route_returns_the_csrf_cookie(client: httpx.AsyncClient) -> None:
    """`GET /auth/cookie/csrf` hands the CSRF token to scripts that cannot read it."""
    missing = await client.get("/auth/cookie/csrf")
    csrf = await cookie_login(client)

    response = await client.get("/auth/cookie/csrf")

    assert missing.status_code == 401
    assert response.json() == {"csrf_token": csrf}
    assert response.headers["cache-control"] == "no-store"


async def test_oversized_access_cookie_is_refused(client: httpx.AsyncClient) -> None:
    """A huge access cookie is a 401, not a crash (past 8 KiB the whole Cookie header
    answers 431 first: tests/attacks/test_transport.py)."""
    client.cookies.set("tokenward_access", "a" * 6_000)

    response = await client.get("/users/me")

    assert response.status_code == 401


async def test_plain_cookie_names_are_ignored_over_https(client_for: Any) -> None:
    """Over https only the prefixed names count, so a cookie set over http is unread."""
    plain = await client_for()
    await cookie_login(plain)
    secure = await client_for(base_url="https://testserver")
    secure.cookies.set("tokenward_access", plain.cookies["tokenward_access"])

    response = await secure.get("/users/me")

    assert response.status_code == 401


async def test_cors_answers_configured_origins_only(client_for: Any) -> None:
    """Listed origins get credentialed CORS; others get no CORS header at all."""
    client = await client_for(allowed_origins=APP_ORIGIN)
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-csrf-token, content-type",
    }

    allowed = await client.get("/healthz", headers={"Origin": APP_ORIGIN})
    allowed_pre = await client.options(
        "/auth/cookie/refresh", headers={"Origin": APP_ORIGIN, **preflight}
    )
    other = await client.get("/healthz", headers={"Origin": "https://evil.example"})
    other_pre = await client.options(
        "/auth/cookie/refresh", headers={"Origin": "https://evil.example", **preflight}
    )

    assert allowed.headers["access-control-allow-origin"] == APP_ORIGIN
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert allowed_pre.status_code == 200
    assert "x-csrf-token" in allowed_pre.headers["access-control-allow-headers"].lower()
    assert allowed_pre.headers["x-content-type-options"] == "nosniff"
    assert other_pre.headers["x-frame-options"] == "DENY"
    assert "access-control-allow-origin" not in other.headers
    assert "access-control-allow-origin" not in other_pre.headers


async def test_no_cors_headers_without_configured_origins(
    client: httpx.AsyncClient,
) -> None:
    """With no TOKENWARD_ALLOWED_ORIGINS, no origin is ever allowed by CORS."""
    response = await client.get("/healthz", headers={"Origin": "https://evil.example"})

    assert "access-control-allow-origin" not in response.headers
