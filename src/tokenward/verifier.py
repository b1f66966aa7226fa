"""Verify tokenward access tokens in another service, from the JWKS URL alone.

A resource server needs neither the database nor a call per request: it fetches the
public keys once, caches them, and checks each token by the same rules as the server
(`jws` and `claims`). A token naming an unknown `kid` (a rotation) triggers a refetch,
at most one per `min_refetch_interval`, so forged `kid`s cannot flood the key server.

It cannot see revocations: a revoked token passes here until it expires, at most
`max_lifetime` seconds later.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx

from tokenward.claims import AccessClaims, ClaimRules
from tokenward.clock import Clock, SystemClock
from tokenward.errors import InvalidToken, KeysUnavailable
from tokenward.jws import (
    ALGORITHMS,
    check_access_header,
    parse_compact,
    verify_signature,
)
from tokenward.keys import ASYMMETRIC_ALGS, PUBLIC_JWK_MEMBERS

logger = logging.getLogger("tokenward.verifier")

MAX_JWKS_BYTES = 64 * 1024
MAX_KEYS = 32
MIN_RSA_BITS = 2048
# What each algorithm's key must be; a key of any other shape is not used with it.
_KEY_SHAPES = {
    "EdDSA": ("OKP", "Ed25519"),
    "ES256": ("EC", "P-256"),
    "RS256": ("RSA", None),
}
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*(\d+)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class PublicKey:
    """One verification key from a JWK Set, pinned to its algorithm."""

    kid: str
    alg: str
    verifying_key: Any


class Verifier:
    """Checks access tokens against the issuer's published keys.

    Use one per process, and close it (or use `async with`) when done.
    """

    def __init__(
        self,
        issuer: str,
        audience: str,
        *,
        jwks_url: str | None = None,
        max_lifetime: int = 900,
        leeway: int = 30,
        algorithms: Iterable[str] = ASYMMETRIC_ALGS,
        cache_ttl: float = 300.0,
        min_refetch_interval: float = 1.0,
        timeout: float = 5.0,
        http: httpx.AsyncClient | None = None,
        clock: Clock | None = None,
    ) -> None:
        """`max_lifetime` should be the server's `TOKENWARD_ACCESS_TTL`."""
        self.issuer = issuer.rstrip("/")
        self.jwks_url = jwks_url or f"{self.issuer}/.well-known/jwks.json"
        self.algorithms = frozenset(algorithms)
        if not self.algorithms <= set(ASYMMETRIC_ALGS):
            raise ValueError(f"algorithms must be among {', '.join(ASYMMETRIC_ALGS)}")
        self.rules = ClaimRules(self.issuer, audience, max_lifetime, leeway)
        self.cache_ttl = cache_ttl
        self.min_refetch_interval = min_refetch_interval
        self.fetches = 0
        self._timeout = timeout
        self._http = http or httpx.AsyncClient(follow_redirects=False)
        self._owns_http = http is None
        self._clock = clock or SystemClock()
        self._keys: dict[str, PublicKey] | None = None
        self._fresh_until = float("-inf")
        self._last_attempt = float("-inf")
        self._lock = asyncio.Lock()

    async def verify(self, token: str) -> AccessClaims:
        """Return the claims of a valid access token; raise `AuthenticationError`.

        Raises `KeysUnavailable` (not a token error) when no key set could be had.
        """
        jws = parse_compact(token)
        kid, alg = check_access_header(jws.header)
        key = await self._key(kid)
        # The key decides the algorithm; the header only has to agree with it.
        if key is None or alg != key.alg:
            raise InvalidToken("The token was not signed by a known key.")
        verify_signature(jws, key.alg, key.verifying_key)
        return self.rules.validate(jws.claims(), self._now())

    async def refresh(self) -> None:
        """Fetch the key set now, whatever the cache says."""
        async with self._lock:
            await self._fetch()

    def known_kids(self) -> list[str]:
        return sorted(self._keys or ())

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Verifier:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _key(self, kid: str) -> PublicKey | None:
        if self._keys is None or self._now() >= self._fresh_until:
            await self._refetch()
        keys = self._keys or {}
        if kid not in keys:
            await self._refetch()
            keys = self._keys or {}
        return keys.get(kid)

    async def _refetch(self) -> None:
        """Fetch unless one was tried within `min_refetch_interval`; keep old keys
        when the fetch fails, and fail only when there are none at all."""
        async with self._lock:
            if self._now() - self._last_attempt < self.min_refetch_interval:
                if self._keys is None:
                    raise KeysUnavailable()
                return
            try:
                await self._fetch()
            except KeysUnavailable:
                if self._keys is None:
                    raise
                logger.warning("JWKS refetch failed; keeping the keys we have")

    async def _fetch(self) -> None:
        self._last_attempt = self._now()
        self.fetches += 1
        try:
            async with self._http.stream(
                "GET",
                self.jwks_url,
                timeout=self._timeout,
                headers={"Accept": "application/json"},
            ) as response:
                response.raise_for_status()
                body = await _read_limited(response, MAX_JWKS_BYTES)
                cache_control = response.headers.get("cache-control", "")
            document = json.loads(body)
        except (httpx.HTTPError, ValueError) as exc:
            raise KeysUnavailable() from exc

        self._keys = keys_from_jwks(document, self.algorithms)
        match = _MAX_AGE.search(cache_control)
        ttl = min(float(match.group(1)), self.cache_ttl) if match else self.cache_ttl
        self._fresh_until = self._now() + ttl

    def _now(self) -> float:
        return self._clock.now().timestamp()


async def _read_limited(response: httpx.Response, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise ValueError("the JWK Set is too large")
        chunks.append(chunk)
    return b"".join(chunks)


def keys_from_jwks(document: Any, algorithms: frozenset[str]) -> dict[str, PublicKey]:
    """The usable verification keys of a JWK Set, by `kid`.

    Keys that are not for signatures, of another algorithm, symmetric, malformed or
    sharing a `kid` are left out; private members are never read.
    """
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ValueError("not a JWK Set")
    keys: dict[str, PublicKey] = {}
    repeated: set[str] = set()
    for jwk in entries[:MAX_KEYS]:
        key = public_key_from_jwk(jwk, algorithms)
        if key is None:
            continue
        if key.kid in keys:
            repeated.add(key.kid)
        keys[key.kid] = key
    for kid in repeated:
        logger.warning("JWK Set repeats kid %s; neither key is used", kid)
        del keys[kid]
    return keys


def public_key_from_jwk(jwk: Any, algorithms: frozenset[str]) -> PublicKey | None:
    """One JWK as a verification key, or None when it must not be used here."""
    if not isinstance(jwk, dict):
        return None
    kid, kty = jwk.get("kid"), jwk.get("kty")
    if not isinstance(kid, str) or not kid or kty not in PUBLIC_JWK_MEMBERS:
        return None
    if jwk.get("use", "sig") != "sig":
        return None
    ops = jwk.get("key_ops")
    if ops is not None and (not isinstance(ops, list) or "verify" not in ops):
        return None

    alg = jwk.get("alg") or _implied_alg(jwk)
    if not isinstance(alg, str) or alg not in algorithms or _KEY_SHAPES[alg][0] != kty:
        return None
    if _KEY_SHAPES[alg][1] not in (None, jwk.get("crv")):
        return None
    public = {name: jwk.get(name) for name in PUBLIC_JWK_MEMBERS[kty]}
    try:
        verifying_key = ALGORITHMS[alg].from_jwk(public)
    except Exception:  # any malformed member: the key is unusable, the rest are not
        logger.warning("JWK %s could not be read; it is not used", kid)
        return None
    if alg == "RS256" and verifying_key.key_size < MIN_RSA_BITS:
        return None
    return PublicKey(kid, alg, verifying_key)


def _implied_alg(jwk: dict[str, Any]) -> str | None:
    for alg, (kty, crv) in _KEY_SHAPES.items():
        if jwk.get("kty") == kty and jwk.get("crv") == crv:
            return alg
    return None
