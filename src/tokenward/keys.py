"""The key ring: create, load, rotate and retire signing keys, and publish them as JWKS.

Private keys live in the database so that every instance signs with the same key; they
are encrypted at rest when `TOKENWARD_KEY_ENCRYPTION_SECRET` is set. With HS256 the
secret comes from the settings instead and nothing is published.

A new key is published at once but signs only after `activation_delay`, by which time
every instance has loaded it, so no verifier meets a token of a key it has never seen.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import Algorithm, get_default_algorithms

from tokenward.errors import SigningKeyUnreadable
from tokenward.store.base import KeyConflict, Store
from tokenward.store.records import SigningKeyRecord

logger = logging.getLogger("tokenward.keys")
ENCRYPTED_PEM = b"-----BEGIN ENCRYPTED PRIVATE KEY-----"
ASYMMETRIC_ALGS = ("EdDSA", "ES256", "RS256")
_ALGORITHMS = get_default_algorithms()
PUBLIC_JWK_MEMBERS = {
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
    members = {name: jwk[name] for name in PUBLIC_JWK_MEMBERS[jwk["kty"]]}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def public_jwk(alg: str, public_key: Any) -> dict[str, Any]:
    """The public JWK of a key, with its thumbprint as `kid`; never private members."""
    jwk = json.loads(_ALGORITHMS[alg].to_jwk(public_key))
    jwk = {name: jwk[name] for name in PUBLIC_JWK_MEMBERS[jwk["kty"]]}
    jwk.update(kid=thumbprint(jwk), alg=alg, use="sig")
    return jwk


def new_key_record(
    alg: str, generation: int, now: datetime, encryption_secret: bytes | None = None
) -> SigningKeyRecord:
    private_key = generate_private_key(alg)
    jwk = public_jwk(alg, private_key.public_key())
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(encryption_secret)
        if encryption_secret
        else serialization.NoEncryption()
    )
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    return SigningKeyRecord(
        kid=jwk["kid"],
        alg=alg,
        generation=generation,
        private_key=pem,
        public_jwk=json.dumps(jwk, sort_keys=True),
        created_at=now,
    )


def load_key(record: SigningKeyRecord, encryption_secret: bytes | None) -> SigningKey:
    """Decrypt a stored key; the published JWK is derived from it, not read back."""
    private_key = _load_private_key(record, encryption_secret)
    jwk = public_jwk(record.alg, private_key.public_key())
    if jwk["kid"] != record.kid:
        raise SigningKeyUnreadable(f"The stored signing key {record.kid} is damaged.")
    return SigningKey(
        kid=record.kid,
        alg=record.alg,
        generation=record.generation,
        signing_key=private_key,
        verifying_key=private_key.public_key(),
        created_at=record.created_at,
        retire_after=record.retire_after,
        public_jwk=jwk,
    )


def _load_private_key(record: SigningKeyRecord, secret: bytes | None) -> Any:
    encrypted = record.private_key.lstrip().startswith(ENCRYPTED_PEM)
    if encrypted and secret is None:
        raise SigningKeyUnreadable(
            f"The signing key {record.kid} is encrypted and "
            "TOKENWARD_KEY_ENCRYPTION_SECRET is not set."
        )
    if not encrypted and secret is not None:
        # Keys made before the secret was set; a rotation replaces them.
        logger.warning(
            "signing key %s is stored unencrypted; run `tokenward keys rotate`",
            record.kid,
        )
    try:
        return serialization.load_pem_private_key(
            record.private_key, secret if encrypted else None
        )
    except ValueError as exc:
        raise SigningKeyUnreadable(
            f"The signing key {record.kid} cannot be decrypted: "
            "TOKENWARD_KEY_ENCRYPTION_SECRET is wrong."
        ) from exc


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
        activation_delay: timedelta = timedelta(0),
    ) -> None:
        self.alg = alg
        self.activation_delay = activation_delay
        self._secret = secret
        self._encryption_secret = encryption_secret
        self._keys: dict[str, SigningKey] = {}
        self._current: SigningKey | None = None
        self._newest_generation = 0

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
        newest = 0
        for record in records:
            newest = max(newest, record.generation)
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
            current = self._choose_current(keys.values(), now)
        self._keys = keys
        self._current = current
        self._newest_generation = newest

    def _choose_current(
        self, keys: Iterable[SigningKey], now: datetime
    ) -> SigningKey | None:
        """The newest key of our algorithm that has been published long enough.

        While none has (the very first key, a change of algorithm, a rotation soon
        after the first start), the oldest signs: the one every instance chooses.
        """
        candidates = [k for k in keys if k.alg == self.alg]
        ready = [k for k in candidates if k.created_at + self.activation_delay <= now]
        if ready:
            return max(ready, key=lambda k: k.generation)
        return min(candidates, key=lambda k: k.generation, default=None)

    async def ensure_current(
        self, store: Store, now: datetime, retire_delay: timedelta | None = None
    ) -> SigningKey:
        """Load the keys, creating the first one if there is none for our algorithm.

        Several instances starting together on an empty database race to insert
        generation 1; the unique generation lets exactly one win, the rest reload.
        When the algorithm changed, the other keys retire after `retire_delay`.
        """
        await self.load(store, now)
        if self._current is not None:
            return self._current
        return await self._replace_current(store, now, retire_delay)

    async def rotate(
        self, store: Store, now: datetime, retire_delay: timedelta
    ) -> SigningKey:
        """Add a new key; the old ones retire once every token they signed has expired.

        Returns the new key, which signs once `activation_delay` has passed.
        """
        await self.load(store, now)
        return await self._replace_current(store, now, retire_delay)

    async def _replace_current(
        self, store: Store, now: datetime, retire_delay: timedelta | None
    ) -> SigningKey:
        if self.alg == "HS256":
            raise ValueError(
                "HS256 keys come from TOKENWARD_SECRET_KEY; change it to rotate"
            )
        previous = [k for k in self.keys() if k.retire_after is None]
        newest = await self._add_next(store, now)
        if retire_delay is not None:
            for key in previous:
                if key.kid != newest.kid:
                    await store.set_key_retirement(key.kid, now + retire_delay)
        await self.load(store, now)
        return newest

    async def _add_next(self, store: Store, now: datetime) -> SigningKey:
        """Insert the generation after the newest we loaded; losing a race is fine.

        The generation comes from the state that showed a key was needed, not from a
        fresh read: whoever stored it first answered that need, for everyone.
        """
        generation = self._newest_generation + 1
        record = new_key_record(self.alg, generation, now, self._encryption_secret)
        with contextlib.suppress(KeyConflict):
            await store.add_signing_key(record)
        await self.load(store, now)
        # Whoever won the race stored this generation; that key is the new one.
        winner = next((k for k in self.keys() if k.generation == generation), None)
        if winner is None:
            raise RuntimeError("the new signing key vanished; was it purged?")
        return winner
