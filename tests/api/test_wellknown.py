"""Published metadata: the JWK Set and RFC 8414 metadata; key creation on real stores."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest

from tests.conftest import bearer, random_email, register_and_login
from tokenward.clock import SystemClock
from tokenward.keys import KeyRing
from tokenward.store.sql import SqlStore

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


async def client_for(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


@pytest.mark.parametrize("alg", ["EdDSA", "ES256", "RS256"])
async def test_each_algorithm_end_to_end(
    app_factory: Callable[..., Any], alg: str
) -> None:
    """Login, a protected route and a JWKS check all work with each algorithm."""
    app = await app_factory(signing_alg=alg)
    async with await client_for(app) as client:
        pair = await register_and_login(client, random_email())
        whoami = await client.get("/auth/whoami", headers=bearer(pair["access_token"]))
        response = await client.get("/.well-known/jwks.json")

    header = jwt.get_unverified_header(pair["access_token"])
    (jwk,) = response.json()["keys"]
    claims = jwt.decode(
        pair["access_token"],
        jwt.PyJWK(jwk).key,
        algorithms=[alg],
        audience="tokenward",
        issuer="http://localhost:8000",
    )

    assert whoami.status_code == 200
    assert header == {"alg": alg, "typ": "at+jwt", "kid": jwk["kid"]}
    assert claims["sub"] == whoami.json()["sub"]
    assert not PRIVATE_MEMBERS & set(jwk)


async def test_jwks_is_cacheable_and_public_only(client: httpx.AsyncClient) -> None:
    """The JWK Set carries cache headers and public members only."""
    response = await client.get("/.well-known/jwks.json")

    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=300"
    for key in response.json()["keys"]:
        assert not PRIVATE_MEMBERS & set(key)


async def test_hs256_jwks_is_empty(app_factory: Callable[..., Any]) -> None:
    """The HS256 secret never appears in the JWK Set."""
    app = await app_factory(signing_alg="HS256", secret_key="s" * 40)
    async with await client_for(app) as client:
        response = await client.get("/.well-known/jwks.json")

    assert response.json() == {"keys": []}
    assert "s" * 40 not in response.text


async def test_metadata_follows_rfc8414(app_factory: Callable[..., Any]) -> None:
    """The metadata names the issuer's endpoints, whatever Host the request carried."""
    app = await app_factory(issuer="https://auth.example.com/")
    async with await client_for(app) as client:
        response = await client.get(
            "/.well-known/oauth-authorization-server", headers={"host": "evil.example"}
        )

    body = response.json()
    assert response.status_code == 200
    assert response.headers["cache-control"].startswith("public")
    assert body["issuer"] == "https://auth.example.com"
    assert body["token_endpoint"] == "https://auth.example.com/auth/token"
    assert body["revocation_endpoint"] == "https://auth.example.com/auth/revoke"
    assert body["jwks_uri"] == "https://auth.example.com/.well-known/jwks.json"
    assert body["grant_types_supported"] == ["password", "refresh_token"]
    assert body["token_endpoint_auth_methods_supported"] == ["none"]
    assert "evil.example" not in response.text


async def test_workers_starting_together_create_one_key(database_url: str) -> None:
    """Eight instances on one empty database end up sharing exactly one current key."""
    stores = [SqlStore(database_url) for _ in range(8)]
    rings = [KeyRing("ES256") for _ in stores]
    now = SystemClock().now()
    try:
        keys = await asyncio.gather(
            *(
                ring.ensure_current(store, now)
                for ring, store in zip(rings, stores, strict=True)
            )
        )
        records = await stores[0].list_signing_keys()
    finally:
        for store in stores:
            await store.close()

    assert len(records) == 1
    assert {key.kid for key in keys} == {records[0].kid}


async def test_private_keys_are_encrypted_in_the_database(
    app_factory: Callable[..., Any], sqlite_url: str
) -> None:
    """With a key-encryption secret set, the stored PEM is an encrypted PKCS#8 key."""
    await app_factory(key_encryption_secret="an encryption secret for tests")
    store = SqlStore(sqlite_url)
    try:
        (record,) = await store.list_signing_keys()
    finally:
        await store.close()

    assert record.private_key.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
