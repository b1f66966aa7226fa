"""The key ring: create, load, rotate and retire signing keys, and publish them as JWKS.

Private keys live in the database so that every instance signs with the same key; they
are encrypted at rest when `TOKENWARD_KEY_ENCRYPTION_SECRET` is set. With HS256 the
secret comes from the settings instead and nothing is published.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import Algorithm, get_default_algorithms

from tokenward.store.base import KeyConflict, Store
from tokenward.store.records import SigningKeyRecord

ASYMMETRIC_ALGS = ("EdDSA", "ES256", "RS256")
_ALGORITHMS = get_default_algorithms()
_JWK_REQUIRED = {
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
    "RSA": ("e", "kty", "n"),
}


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    alg: str
    generation: int
    signing_key: Any
    verifying_key: Any
    created_at: datetime
    retire_after: datetime | None
    public_jwk: dict[str, Any] | None

    @property
    def algorithm(self) -> Algorithm:
        return _ALGORITHMS[self.alg]


def generate_private_key(alg: str) -> Any:
    if alg == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if alg == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    raise ValueError(f"not an asymmetric algorithm: {alg}")


def thumbprint(jwk: dict[str, Any]) -> str:
    """The RFC 7638 JWK thumbprint, used as the `kid`."""
    members = {name: jwk[name] for name in _JWK_REQUIRED[jwk["kty"]]}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def new_key_record(
    alg: str, generation: int, now: datetime, encryption_secret: bytes | None = None
) -> SigningKeyRecord:
    private_key = generate_private_key(alg)
    jwk = json.loads(_ALGORITHMS[alg].to_jwk(private_key.public_key()))
    kid = thumbprint(jwk)
    jwk.update(kid=kid, alg=alg, use="sig")
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(encryption_secret)
        if encryption_secret
        else serialization.NoEncryption()
    )
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    return SigningKeyRecord(
        kid=kid,
        alg=alg,
        generation=generation,
        private_key=pem,
        public_jwk=json.dumps(jwk, sort_keys=True),
        created_at=now,
    )


def load_key(record: SigningKeyRecord, encryption_secret: bytes | None) -> SigningKey:
    private_key = serialization.load_pem_private_key(
        record.private_key, encryption_secret
    )
    return SigningKey(
        kid=record.kid,
        alg=record.alg,
        generation=record.generation,
        signing_key=private_key,
        verifying_key=private_key.public_key(),
        created_at=record.created_at,
        retire_after=record.retire_after,
        public_jwk=json.loads(record.public_jwk),
    )


def hmac_key(secret: bytes, now: datetime) -> SigningKey:
    """The one HS256 key; its `kid` is derived from the secret without revealing it."""
    kid = "hs-" + hmac.new(secret, b"tokenward kid", hashlib.sha256).hexdigest()[:16]
    return SigningKey(kid, "HS256", 0, secret, secret, now, None, None)


class KeyRing:
    """The keys this instance signs and verifies with, reloaded from the store."""

    def __init__(
        self,
        alg: str,
        secret: bytes | None = None,
        encryption_secret: bytes | None = None,
    ) -> None:
        self.alg = alg
        self._secret = secret
        self._encryption_secret = encryption_secret
        self._keys: dict[str, SigningKey] = {}
        self._current: SigningKey | None = None

    @property
    def current(self) -> SigningKey:
        if self._current is None:
            raise RuntimeError("the key ring has not been loaded")
        return self._current

    def get(self, kid: str) -> SigningKey | None:
        return self._keys.get(kid)

    def keys(self) -> list[SigningKey]:
        return sorted(self._keys.values(), key=lambda k: k.generation)

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        """The public keys that may still verify live tokens; never secret material."""
        return {"keys": [k.public_jwk for k in self.keys() if k.public_jwk is not None]}

    async def load(self, store: Store, now: datetime) -> None:
        records = await store.list_signing_keys()
        self._install(records, now)

    def _install(self, records: Iterable[SigningKeyRecord], now: datetime) -> None:
        keys: dict[str, SigningKey] = {}
        known = self._keys
        for record in records:
            if record.retire_after is not None and record.retire_after <= now:
                continue
            cached = known.get(record.kid)
            if cached is not None and cached.retire_after == record.retire_after:
                keys[record.kid] = cached
            else:
                keys[record.kid] = load_key(record, self._encryption_secret)

        if self.alg == "HS256":
            if self._secret is None:
                raise RuntimeError("HS256 needs a secret key")
            # The secret is fixed for the ring's life, so its key object stays the same.
            current = self._current or hmac_key(self._secret, now)
            keys = {current.kid: current}
        else:
            candidates = [k for k in keys.values() if k.alg == self.alg]
            current = max(candidates, key=lambda k: k.generation, default=None)
        self._keys = keys
        self._current = current

    async def ensure_current(self, store: Store, now: datetime) -> SigningKey:
        """Load the keys, creating the first one if there is none for our algorithm.

        Several instances starting together on an empty database race to insert
        generation 1; the unique generation lets exactly one win, the rest reload.
        """
        await self.load(store, now)
        if self._current is not None:
            return self._current
        await self._add_next(store, now)
        return self.current

    async def rotate(
        self, store: Store, now: datetime, retire_delay: timedelta
    ) -> SigningKey:
        """Add a new current key; the old ones retire once their tokens have expired."""
        await self.load(store, now)
        previous = [k for k in self.keys() if k.alg != "HS256" and k.retire_after is None]
        await self._add_next(store, now)
        for key in previous:
            await store.set_key_retirement(key.kid, now + retire_delay)
        await self.load(store, now)
        return self.current

    async def _add_next(self, store: Store, now: datetime) -> None:
        """Insert the next generation; losing a race to another writer is fine."""
        if self.alg == "HS256":
            raise ValueError(
                "HS256 keys come from TOKENWARD_SECRET_KEY; change it to rotate"
            )
        records = await store.list_signing_keys()
        generation = max((r.generation for r in records), default=0) + 1
        record = new_key_record(self.alg, generation, now, self._encryption_secret)
        with contextlib.suppress(KeyConflict):
            await store.add_signing_key(record)
        await self.load(store, now)
