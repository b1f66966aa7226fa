"""The target of the attack corpus: a running app on ES256 (the default) and HS256.

Every attack runs once per algorithm, against one app per algorithm shared by the
package (tests run in the package's event loop: `pytestmark` in each module). A
`Target` is a fresh session of a registered user, its access token, and the server's
real signing key, so that a forged token can differ from a valid one in exactly the
trick under test.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from tests.attacks.forge import (
    Signer,
    compact,
    decoded,
    ecdsa_signer,
    hmac_signer,
    merged,
    parts,
)
from tests.conftest import bearer, make_settings, random_email, register_and_login
from tokenward import Tokenward, create_app
from tokenward.keys import SigningKey
from tokenward.sessions import ClientInfo
from tokenward.store.migrate import upgrade

ALGORITHMS = ["ES256", "HS256"]


@dataclass
class Target:
    alg: str
    app: FastAPI
    client: httpx.AsyncClient
    tokenward: Tokenward
    email: str
    access_token: str
    refresh_token: str

    @property
    def key(self) -> SigningKey:
        return self.tokenward.keyring.current

    @property
    def header(self) -> dict[str, Any]:
        return decoded(parts(self.access_token)[0])

    @property
    def claims(self) -> dict[str, Any]:
        return decoded(parts(self.access_token)[1])

    def now(self) -> int:
        return int(self.tokenward.clock.now().timestamp())

    def signer(self) -> Signer:
        """Signs exactly as the server does, with its real current key."""
        if self.alg == "HS256":
            return hmac_signer(self.key.signing_key)
        return ecdsa_signer(self.key.signing_key)

    def forge(
        self,
        header: dict[str, Any] | None = None,
        claims: dict[str, Any] | None = None,
        signer: Signer | str | None = "server",
    ) -> str:
        """A token with these header and claim changes, signed by the server's key
        unless another signer (or None, for no signature) is given."""
        sign = self.signer() if signer == "server" else signer
        assert not isinstance(sign, str)
        return compact(
            merged(self.header, header or {}), merged(self.claims, claims or {}), sign
        )

    async def whoami(self, token: str, **headers: str) -> httpx.Response:
        return await self.client.get("/auth/whoami", headers={**bearer(token), **headers})

    async def me(self, token: str) -> httpx.Response:
        return await self.client.get("/users/me", headers=bearer(token))


@dataclass
class Server:
    """One running app per algorithm, shared by the whole corpus."""

    alg: str
    app: FastAPI
    client: httpx.AsyncClient
    email: str
    user_id: str


@pytest_asyncio.fixture(scope="package", loop_scope="package", params=ALGORITHMS)
async def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Server]:
    alg = request.param
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp(alg) / 'attacks.db'}"
    await upgrade(url)
    overrides: dict[str, Any] = {"signing_alg": alg, "database_url": url}
    if alg == "HS256":
        overrides["secret_key"] = secrets.token_urlsafe(32)
    app = create_app(make_settings(**overrides))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver"
        ) as client:
            email = random_email()
            pair = await register_and_login(client, email)
            user_id = decoded(parts(pair["access_token"])[1])["sub"]
            yield Server(alg, app, client, email, user_id)


@pytest_asyncio.fixture(loop_scope="package")
async def target(server: Server) -> Target:
    """A fresh login session of the shared user, so a test may revoke it freely."""
    tokenward: Tokenward = server.app.state.tokenward
    session, refresh_token = await tokenward.sessions.open(
        server.user_id, ClientInfo(ip="127.0.0.1")
    )
    access = tokenward.tokens.issue(
        server.user_id, session.id, session.scope, tokenward.sessions.expires_at(session)
    )
    return Target(
        alg=server.alg,
        app=server.app,
        client=server.client,
        tokenward=tokenward,
        email=server.email,
        access_token=access.token,
        refresh_token=refresh_token,
    )


def assert_refused(response: httpx.Response, code: str = "invalid_token") -> None:
    """A clean 401 with the given code and an RFC 6750 challenge; never a 500."""
    assert response.status_code == 401, response.text
    assert response.json()["code"] == code
    assert response.headers["www-authenticate"].startswith("Bearer ")
    assert response.headers["content-type"] == "application/json"
