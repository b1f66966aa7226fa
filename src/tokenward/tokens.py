"""Issue and verify access tokens.

The rules of what a valid token is live in `jws` (parsing, header, signature) and
`claims` (the claims set), which the resource servers' `Verifier` shares; this module
adds what only the issuing server knows: its key ring and its revocation view.
"""

from __future__ import annotations

import contextlib
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jwt

from tokenward.claims import AccessClaims, ClaimRules
from tokenward.clock import Clock
from tokenward.errors import InvalidToken, TokenExpired
from tokenward.jws import (
    ACCEPTED_TYPES,
    ACCESS_TOKEN_TYPE,
    MAX_TOKEN_LENGTH,
    check_access_header,
    parse_compact,
    verify_signature,
)
from tokenward.keys import KeyRing, SigningKey
from tokenward.revocation import RevocationView

__all__ = [
    "ACCEPTED_TYPES",
    "ACCESS_TOKEN_TYPE",
    "MAX_TOKEN_LENGTH",
    "AccessClaims",
    "IssuedToken",
    "TokenService",
    "VerifiedTokens",
]


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    expires_in: int
    jti: str


class VerifiedTokens:
    """Claims of tokens that passed every check, by exact token string, bounded.

    Only what cannot change is remembered: the signature and the claim rules that do
    not depend on the time. Expiry, the key and revocation are checked again on every
    hit, so a cached token stops working at the same moment an uncached one would.
    The least recently used entry makes room for a new one.
    """

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[AccessClaims, SigningKey]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, token: str) -> tuple[AccessClaims, SigningKey] | None:
        """The claims of a token verified before, and the key that verified it."""
        entry = self._entries.get(token)
        if entry is not None:
            # Another thread may have evicted it meanwhile; then it simply stays out.
            with contextlib.suppress(KeyError):
                self._entries.move_to_end(token)
        return entry

    def put(self, token: str, claims: AccessClaims, key: SigningKey) -> None:
        if self.max_entries <= 0:
            return
        self._entries[token] = (claims, key)
        while len(self._entries) > self.max_entries:
            with contextlib.suppress(KeyError):
                self._entries.popitem(last=False)

    def discard(self, token: str) -> None:
        self._entries.pop(token, None)

    def clear(self) -> None:
        self._entries.clear()


class TokenService:
    def __init__(
        self,
        keyring: KeyRing,
        revocations: RevocationView,
        clock: Clock,
        issuer: str,
        audience: str,
        access_ttl: int,
        leeway: int = 30,
        on_unknown_kid: Callable[[], None] | None = None,
        cache_size: int = 0,
    ) -> None:
        self.keyring = keyring
        self.revocations = revocations
        self.clock = clock
        self.issuer = issuer
        self.audience = audience
        self.access_ttl = access_ttl
        self.leeway = leeway
        self.rules = ClaimRules(issuer, audience, access_ttl, leeway)
        self._on_unknown_kid = on_unknown_kid
        self.verified = VerifiedTokens(cache_size)

    def issue(
        self, user_id: str, session_id: str, scope: str, not_after: datetime | None = None
    ) -> IssuedToken:
        """Sign an access token; it never outlives `not_after` (the session's end)."""
        now = int(self.clock.now().timestamp())
        # A user-wide revocation kills every token dated up to its second, so a token
        # made later in that same second is dated one second on, to be spared.
        iat = max(now, self.revocations.first_clear_second(user_id))
        exp = now + self.access_ttl
        if not_after is not None:
            exp = max(iat + 1, min(exp, int(not_after.timestamp())))
        key = self.keyring.current
        jti = str(uuid.uuid4())
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": user_id,
            "exp": exp,
            "iat": iat,
            "jti": jti,
            "sid": session_id,
            "scope": scope,
        }
        headers = {"typ": ACCESS_TOKEN_TYPE, "kid": key.kid}
        token = jwt.encode(claims, key.signing_key, algorithm=key.alg, headers=headers)
        return IssuedToken(token=token, expires_in=exp - now, jti=jti)

    def verify(self, token: str) -> AccessClaims:
        """Return the claims of a valid, unrevoked access token; raise otherwise."""
        cached = self.verified.get(token) if type(token) is str else None
        if cached is not None:
            claims, key = cached
            # The very key that checked the signature must still be in the ring; a
            # retired or reloaded key sends the token through every check again.
            if self.keyring.get(key.kid) is key:
                if claims.exp <= self.clock.now().timestamp() - self.leeway:
                    self.verified.discard(token)
                    raise TokenExpired()
                self.revocations.check(claims.sid, claims.sub, claims.iat)
                return claims
            self.verified.discard(token)

        claims, key = self._verify_uncached(token)
        self.revocations.check(claims.sid, claims.sub, claims.iat)
        self.verified.put(token, claims, key)
        return claims

    def _verify_uncached(self, token: str) -> tuple[AccessClaims, SigningKey]:
        """Every rule but revocation, from the raw token."""
        jws = parse_compact(token)
        key = self._key_for(jws.header)
        verify_signature(jws, key.alg, key.verifying_key)

        now = self.clock.now().timestamp()
        return self.rules.validate(jws.claims(), now), key

    def _key_for(self, header: dict[str, Any]) -> SigningKey:
        kid, alg = check_access_header(header)
        key = self.keyring.get(kid)
        if key is None and self._on_unknown_kid is not None:
            # Perhaps a key another instance just made: reload soon, in the background.
            self._on_unknown_kid()
        # The key decides the algorithm; the header only has to agree with it.
        if key is None or alg != key.alg:
            raise InvalidToken("The token was not signed by a known key.")
        return key
