"""Login and account abuse through the HTTP API: rate limits, client addresses, and
answers that do not tell which accounts exist."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import PASSWORD, bearer, random_email, register_and_login

WRONG = "not the right passphrase at all"


@asynccontextmanager
async def client_at(
    app: FastAPI, address: str, **headers: str
) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose connection comes from `address` (no traffic leaves the process)."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", headers=headers
    ) as client:
        yield client


async def login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/auth/login", json={"email": email, "password": password})


def assert_rate_limited(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["code"] == "rate_limited"
    assert int(response.headers["retry-after"]) >= 1


async def test_guessing_from_one_address_is_stopped_for_that_address_only(
    app_factory: Callable[..., Any],
) -> None:
    """After the pair limit, the guesser gets 429 even with the right password,
    while the owner at home logs in."""
    app = await app_factory(login_pair_rate="3/minute", login_rate="20/minute")
    email = random_email()
    async with (
        client_at(app, "127.0.0.66") as attacker,
        client_at(app, "127.0.0.10") as owner,
    ):
        await attacker.post("/auth/register", json={"email": email, "password": PASSWORD})
        for _ in range(3):
            assert (await login(attacker, email, WRONG)).status_code == 401

        assert_rate_limited(await login(attacker, email, PASSWORD))
        assert (await login(owner, email, PASSWORD)).status_code == 200


async def test_owner_gets_in_while_an_attack_from_many_addresses_goes_on(
    app_factory: Callable[..., Any],
) -> None:
    """The account limit stops a spread attack at new addresses, but the address the
    owner logged in from before is exempt from it."""
    app = await app_factory(login_pair_rate="3/minute", login_rate="5/minute")
    email = random_email()
    async with client_at(app, "127.0.0.10") as owner:
        await register_and_login(owner, email)
        # The owner's own first login was one of the five attempts.
        for n in range(4):
            async with client_at(app, f"127.0.1.{n}") as bot:
                assert (await login(bot, email, WRONG)).status_code == 401

        async with client_at(app, "127.0.0.20") as newcomer:
            assert_rate_limited(await login(newcomer, email, PASSWORD))
        assert (await login(owner, email, PASSWORD)).status_code == 200


async def test_auth_routes_are_limited_per_address(
    app_factory: Callable[..., Any],
) -> None:
    """Every `/auth` route counts against the address; other addresses are unaffected
    and routes outside `/auth` are not counted."""
    app = await app_factory(ip_rate="4/minute")
    async with (
        client_at(app, "127.0.0.66") as noisy,
        client_at(app, "127.0.0.10") as quiet,
    ):
        for _ in range(4):
            response = await noisy.post("/auth/refresh", json={"refresh_token": "x" * 43})
            assert response.status_code == 401

        assert_rate_limited(
            await noisy.post("/auth/refresh", json={"refresh_token": "x"})
        )
        assert_rate_limited(await login(noisy, random_email(), PASSWORD))
        assert (await noisy.get("/healthz")).status_code == 200
        assert (await login(quiet, random_email(), WRONG)).status_code == 401


async def refresh_from(client: httpx.AsyncClient, forwarded: str) -> httpx.Response:
    return await client.post(
        "/auth/refresh",
        json={"refresh_token": "x" * 43},
        headers={"X-Forwarded-For": forwarded},
    )


async def test_forwarded_for_from_an_untrusted_peer_cannot_dodge_the_limit(
    app_factory: Callable[..., Any],
) -> None:
    """Without trusted proxies, a new `X-Forwarded-For` each time changes nothing."""
    app = await app_factory(ip_rate="3/minute")
    async with client_at(app, "127.0.0.2") as client:
        for n in range(3):
            assert (await refresh_from(client, f"127.0.3.{n}")).status_code == 401

        assert_rate_limited(await refresh_from(client, "127.0.3.99"))


async def test_forwarded_for_from_a_trusted_proxy_names_the_client(
    app_factory: Callable[..., Any],
) -> None:
    """Behind a trusted proxy each forwarded client has its own limit, and a client
    cannot pick another's by prepending addresses to the chain."""
    app = await app_factory(ip_rate="3/minute", trusted_proxies=["127.0.0.1/32"])
    async with client_at(app, "127.0.0.1") as proxy:
        for _ in range(3):
            assert (await refresh_from(proxy, "127.0.0.77")).status_code == 401

        assert_rate_limited(await refresh_from(proxy, "127.0.0.77"))
        assert_rate_limited(await refresh_from(proxy, "127.0.0.78, 127.0.0.77"))
        assert (await refresh_from(proxy, "127.0.0.78")).status_code == 401


async def test_a_second_forwarded_for_line_does_not_let_the_client_pick_its_address(
    app_factory: Callable[..., Any],
) -> None:
    """A proxy that appends its own header line leaves the client's line first; both
    lines are read as one chain, so a made-up first line changes nothing."""
    app = await app_factory(ip_rate="3/minute", trusted_proxies=["127.0.0.1/32"])
    async with client_at(app, "127.0.0.1") as proxy:
        responses = []
        for n in range(5):
            headers = [
                ("X-Forwarded-For", f"10.9.9.{n}"),
                ("X-Forwarded-For", "127.0.0.77"),
            ]
            responses.append(
                await proxy.post(
                    "/auth/refresh", json={"refresh_token": "x" * 43}, headers=headers
                )
            )

    assert [r.status_code for r in responses] == [401, 401, 401, 429, 429]


async def test_simultaneous_wrong_logins_cannot_outrun_the_limit(
    app_factory: Callable[..., Any],
) -> None:
    """Forty guesses sent at once: as many are checked as the pair limit allows."""
    app = await app_factory(login_pair_rate="3/minute", login_rate="100/minute")
    email = random_email()
    async with client_at(app, "127.0.0.66") as attacker:
        await attacker.post("/auth/register", json={"email": email, "password": PASSWORD})
        answers = await asyncio.gather(
            *(login(attacker, email, WRONG) for _ in range(40))
        )

    codes = sorted(a.status_code for a in answers)
    assert codes == [401] * 3 + [429] * 37


async def test_password_change_guesses_meet_the_login_limits(
    app_factory: Callable[..., Any],
) -> None:
    """A stolen access token cannot try current passwords without end."""
    app = await app_factory(login_pair_rate="3/minute")
    async with client_at(app, "127.0.0.66") as client:
        pair = await register_and_login(client, random_email())
        answers = [
            await client.post(
                "/auth/password/change",
                json={"current_password": WRONG, "new_password": WRONG + " again"},
                headers=bearer(pair["access_token"]),
            )
            for _ in range(4)
        ]

    # The login itself cleared the pair's count; then three guesses, then 429.
    assert [a.status_code for a in answers] == [401, 401, 401, 429]


@pytest.mark.parametrize(
    "peer,trusted,recorded",
    [
        ("127.0.0.1", ["127.0.0.1/32"], "127.0.0.77"),
        ("127.0.0.2", ["127.0.0.1/32"], "127.0.0.2"),
        ("127.0.0.1", [], "127.0.0.1"),
    ],
    ids=["trusted_proxy", "untrusted_peer", "no_proxies_configured"],
)
async def test_session_records_the_address_the_policy_believes(
    app_factory: Callable[..., Any], peer: str, trusted: list[str], recorded: str
) -> None:
    """The session's address is the forwarded one only behind a trusted proxy."""
    app = await app_factory(trusted_proxies=trusted)
    async with client_at(app, peer, **{"X-Forwarded-For": "127.0.0.77"}) as client:
        pair = await register_and_login(client, random_email())
        listed = await client.get("/auth/sessions", headers=bearer(pair["access_token"]))

    assert [s["ip"] for s in listed.json()] == [recorded]


async def test_unknown_wrong_and_disabled_answer_identically(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Unknown email, wrong password, disabled account and an email that is not one:
    the same status, body and headers, so none tells an account exists."""
    known, disabled = random_email(), random_email()
    await register_and_login(client, known)
    await register_and_login(client, disabled)
    tokenward = app.state.tokenward
    user = await tokenward.accounts.find(disabled)
    await tokenward.set_user_active(user, False)

    answers = [
        await login(client, random_email(), PASSWORD),
        await login(client, known, WRONG),
        await login(client, disabled, PASSWORD),
        await login(client, "not an address", PASSWORD),
    ]

    assert {a.status_code for a in answers} == {401}
    assert len({a.content for a in answers}) == 1
    assert len({tuple(sorted(a.headers.items())) for a in answers}) == 1
    assert answers[0].json()["code"] == "invalid_credentials"


@pytest.mark.parametrize("email", ["nobody-here@example.com", "not an address"])
async def test_unknown_account_still_costs_one_hash(
    app: FastAPI, client: httpx.AsyncClient, email: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A login for an account that does not exist verifies the dummy hash, so it
    takes as long as a wrong password."""
    hasher = app.state.tokenward.hasher
    checked: list[str] = []
    verify = hasher._hash.verify

    def spy(password: str, password_hash: str) -> bool:
        checked.append(password_hash)
        return verify(password, password_hash)  # type: ignore[no-any-return]

    monkeypatch.setattr(hasher._hash, "verify", spy)

    response = await login(client, email, PASSWORD)

    assert response.status_code == 401
    assert checked == [hasher._dummy_hash]


async def test_rate_limited_answers_are_alike_for_known_and_unknown_accounts(
    app_factory: Callable[..., Any],
) -> None:
    """The limit counts unknown emails too, so 429 comes at the same point for both."""
    app = await app_factory(login_pair_rate="2/minute")
    known, unknown = random_email(), random_email()
    async with client_at(app, "127.0.0.66") as client:
        await client.post("/auth/register", json={"email": known, "password": PASSWORD})
        answers = {}
        for email in (known, unknown):
            codes = [(await login(client, email, WRONG)).status_code for _ in range(3)]
            answers[email] = codes

    assert answers[known] == answers[unknown] == [401, 401, 429]


async def test_forgot_password_answers_alike_for_known_and_unknown_emails(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Where account recovery is installed, it does not reveal who has an account."""
    if "/auth/password/forgot" not in app.openapi()["paths"]:
        pytest.skip("this build has no password recovery route")
    known = random_email()
    await register_and_login(client, known)

    answers = [
        await client.post("/auth/password/forgot", json={"email": email})
        for email in (known, random_email())
    ]

    assert {a.status_code for a in answers} == {202}
    assert answers[0].content == answers[1].content
    assert sorted(answers[0].headers.items()) == sorted(answers[1].headers.items())


async def test_limits_hold_through_redis(app_factory: Callable[..., Any]) -> None:
    """With `TOKENWARD_REDIS_URL` the same policy answers from Redis counters."""
    app = await app_factory(
        redis_url="redis://127.0.0.1:6379", login_pair_rate="2/minute"
    )
    if not await app.state.tokenward.ratelimiter.storage.check():
        pytest.skip("Redis is not reachable")
    email = random_email()
    async with client_at(app, "127.0.0.66") as attacker:
        await attacker.post("/auth/register", json={"email": email, "password": PASSWORD})
        codes = [(await login(attacker, email, WRONG)).status_code for _ in range(3)]
        ready = await attacker.get("/readyz")

    assert codes == [401, 401, 429]
    assert ready.json()["checks"]["redis"] == "ok"
