"""The per-address limit covers every `/auth` request, and only those."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from tests.conftest import bearer, register_and_login


async def _client(app_factory: Callable[..., Any], **overrides: Any) -> httpx.AsyncClient:
    app = await app_factory(**overrides)
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_auth_routes_answer_429_past_the_limit(
    app_factory: Callable[..., Any], email: str
) -> None:
    """Past the limit an `/auth` route answers 429 `rate_limited` with `Retry-After`."""
    async with await _client(app_factory, ip_rate="4/minute") as client:
        pair = await register_and_login(client, email)
        headers = bearer(pair["access_token"])
        first = await client.get("/auth/whoami", headers=headers)
        second = await client.get("/auth/whoami", headers=headers)
        refused = await client.get("/auth/whoami", headers=headers)

    assert first.status_code == second.status_code == 200
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["x-content-type-options"] == "nosniff"


async def test_unknown_auth_paths_count_and_other_routes_do_not(
    app_factory: Callable[..., Any], email: str
) -> None:
    """Probing unknown `/auth` paths spends the budget; `/healthz` and `/users` don't."""
    async with await _client(app_factory, ip_rate="3/minute") as client:
        pair = await register_and_login(client, email)
        for _ in range(5):
            assert (await client.get("/healthz")).status_code == 200
            me = await client.get("/users/me", headers=bearer(pair["access_token"]))
            assert me.status_code == 200
        probe = await client.get("/auth/no-such-route")
        refused = await client.get("/auth/whoami", headers=bearer(pair["access_token"]))
        outside = await client.get("/authx")

    assert probe.status_code == 404
    assert refused.status_code == 429
    assert outside.status_code == 404


async def test_forwarded_address_counts_only_from_a_trusted_proxy(
    app_factory: Callable[..., Any],
) -> None:
    """Behind a trusted proxy each forwarded client has its own budget; else one."""

    def spoofed(n: int) -> dict[str, str]:
        return {"X-Forwarded-For": f"203.0.113.{n}"}

    async with await _client(
        app_factory, ip_rate="1/minute", trusted_proxies="127.0.0.1"
    ) as client:
        trusted = [
            (await client.get("/auth/whoami", headers=spoofed(n))).status_code
            for n in range(3)
        ]
    async with await _client(app_factory, ip_rate="1/minute") as client:
        untrusted = [
            (await client.get("/auth/whoami", headers=spoofed(n))).status_code
            for n in range(3)
        ]

    assert trusted == [401, 401, 401]
    assert untrusted == [401, 429, 429]
