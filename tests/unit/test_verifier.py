"""The resource servers' Verifier against a JWK Set served by a mock transport."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tokenward.clock import FrozenClock
from tokenward.errors import InvalidToken, KeysUnavailable, TokenExpired
from tokenward.keys import KeyRing
from tokenward.revocation import RevocationView
from tokenward.store.memory import MemoryStore
from tokenward.tokens import TokenService
from tokenward.verifier import Verifier, keys_from_jwks

ISSUER = "https://auth.example.com"
ALGS = frozenset({"EdDSA", "ES256", "RS256"})


class KeyServer:
    """A tokenward-like issuer: a key ring, a token service and its JWKS endpoint."""

    def __init__(self, clock: FrozenClock, alg: str = "ES256") -> None:
        self.clock = clock
        self.store = MemoryStore()
        self.keyring = KeyRing(alg)
        self.tokens = TokenService(
            self.keyring, RevocationView(), clock, ISSUER, "tokenward", 900, 30
        )
        self.requests = 0
        self.failing = False
        self.cache_control = "public, max-age=300"
        self.document: Callable[[], Any] = self.keyring.jwks

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        if self.failing:
            return httpx.Response(503)
        body = json.dumps(self.document()).encode()
        return httpx.Response(
            200, content=body, headers={"cache-control": self.cache_control}
        )

    def verifier(self, **options: Any) -> Verifier:
        transport = httpx.MockTransport(self.handle)
        return Verifier(
            ISSUER,
            "tokenward",
            http=httpx.AsyncClient(transport=transport),
            clock=self.clock,
            **options,
        )

    def token(self, scope: str = "") -> str:
        return self.tokens.issue("user-1", "session-1", scope).token


@pytest.fixture
async def issuer(clock: FrozenClock) -> KeyServer:
    server = KeyServer(clock)
    await server.keyring.ensure_current(server.store, clock.now())
    return server


@pytest.mark.parametrize("alg", ["EdDSA", "ES256", "RS256"])
async def test_verifies_each_algorithm(alg: str, clock: FrozenClock) -> None:
    """A token of the issuer verifies from the JWKS alone, whatever the algorithm."""
    server = KeyServer(clock, alg)
    await server.keyring.ensure_current(server.store, clock.now())

    claims = await server.verifier().verify(server.token("read write"))

    assert claims.sub == "user-1"
    assert claims.scopes == {"read", "write"}


async def test_keys_are_fetched_once_and_cached(issuer: KeyServer) -> None:
    """Many verifications within the cache lifetime fetch the key set once."""
    verifier = issuer.verifier()

    for _ in range(5):
        await verifier.verify(issuer.token())

    assert issuer.requests == 1


async def test_unknown_kid_refetches_once_then_waits(
    issuer: KeyServer, clock: FrozenClock
) -> None:
    """A rotation is found by refetching; forged kids within the interval are not."""
    verifier = issuer.verifier(min_refetch_interval=10)
    await verifier.verify(issuer.token())
    clock.advance(60)
    await issuer.keyring.rotate(issuer.store, clock.now(), timedelta(hours=1))
    rotated = issuer.token()  # this ring has no activation delay: the new key signs

    claims = await verifier.verify(rotated)
    forged = rotated.replace(rotated.split(".")[0], _header(kid="forged"))
    with pytest.raises(InvalidToken, match="known key"):
        await verifier.verify(forged)

    assert claims.sub == "user-1"
    assert issuer.requests == 2


async def test_stale_keys_are_refetched_and_kept_when_that_fails(
    issuer: KeyServer, clock: FrozenClock
) -> None:
    """Past `max-age` the set is refetched; if the issuer is down, old keys serve."""
    verifier = issuer.verifier()
    await verifier.verify(issuer.token())

    clock.advance(301)
    issuer.failing = True
    claims = await verifier.verify(issuer.token())

    assert claims.sub == "user-1"
    assert issuer.requests == 2


async def test_max_age_shorter_than_the_cache_is_obeyed(
    issuer: KeyServer, clock: FrozenClock
) -> None:
    """The issuer's `Cache-Control: max-age` bounds how long keys are trusted unseen."""
    issuer.cache_control = "max-age=10"
    verifier = issuer.verifier()
    await verifier.verify(issuer.token())

    clock.advance(11)
    await verifier.verify(issuer.token())

    assert issuer.requests == 2


async def test_no_key_set_at_all_is_unavailable_not_invalid(issuer: KeyServer) -> None:
    """When the first fetch fails the answer is `KeysUnavailable`, not a token error."""
    issuer.failing = True

    with pytest.raises(KeysUnavailable):
        await issuer.verifier().verify(issuer.token())


async def test_an_oversized_key_set_is_refused(issuer: KeyServer) -> None:
    """A JWKS larger than the limit is not read."""
    issuer.document = lambda: {"keys": [], "padding": "x" * 100_000}

    with pytest.raises(KeysUnavailable):
        await issuer.verifier().verify(issuer.token())


async def test_claim_rules_are_the_servers(issuer: KeyServer, clock: FrozenClock) -> None:
    """Audience, expiry and lifetime are checked as the server checks them."""
    token = issuer.token()

    with pytest.raises(InvalidToken, match="audience"):
        await Verifier(
            ISSUER, "another-api", http=issuer.verifier()._http, clock=clock
        ).verify(token)
    with pytest.raises(InvalidToken, match="lifetime"):
        await issuer.verifier(max_lifetime=300).verify(token)
    clock.advance(900 + 31)
    with pytest.raises(TokenExpired):
        await issuer.verifier().verify(token)


async def test_header_alg_must_match_the_key(issuer: KeyServer) -> None:
    """A header claiming another algorithm than the key's is refused before any check."""
    token = issuer.token()
    kid = issuer.keyring.current.kid
    relabelled = token.replace(token.split(".")[0], _header(kid=kid, alg="RS256"))

    with pytest.raises(InvalidToken, match="known key"):
        await issuer.verifier().verify(relabelled)


def test_key_set_reader_leaves_out_unusable_keys(issuer: KeyServer) -> None:
    """Symmetric, encryption, mislabelled, weak and duplicated keys are not used."""
    good = issuer.keyring.jwks()["keys"][0]
    weak = json.loads(
        # A deliberately weak key, to show it is refused.
        RSAAlgorithm.to_jwk(rsa.generate_private_key(65537, 1024).public_key())  # noqa: S505
    )
    document = {
        "keys": [
            good,
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0", "alg": "HS256"},
            {**good, "kid": "for-encryption", "use": "enc"},
            {**good, "kid": "mislabelled", "alg": "RS256"},
            {**good, "kid": "no-verify", "key_ops": ["sign"]},
            {**weak, "kid": "weak-rsa", "alg": "RS256"},
            {**good, "kid": "twice"},
            {**good, "kid": "twice"},
            "not a key",
        ]
    }

    assert list(keys_from_jwks(document, ALGS)) == [good["kid"]]


def test_private_members_in_a_key_set_are_ignored(issuer: KeyServer) -> None:
    """A JWK that wrongly carries `d` is read as its public half only."""
    good = issuer.keyring.jwks()["keys"][0]

    key = keys_from_jwks({"keys": [{**good, "d": "AAAA"}]}, ALGS)[good["kid"]]

    assert not hasattr(key.verifying_key, "private_numbers")


def _header(**members: str) -> str:
    header = {"alg": "ES256", "typ": "at+jwt", **members}
    raw = json.dumps(header).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
