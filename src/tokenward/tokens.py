"""Issue and verify access tokens.

The rules of what a valid token is live in `jws` (parsing, header, signature) and
`claims` (the claims set), which the resource servers' `Verifier` shares; this module
adds what only the issuing server knows: its key ring and its revocation view.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jwt

from tokenward.claims import AccessClaims, ClaimRules
from tokenward.clock import Clock
from tokenward.errors import InvalidToken
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
]


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    expires_in: int
    jti: str


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

    def issue(
        self, user_id: str, session_id: str, scope: str, not_after: datetime | None = None
    ) -> IssuedToken:
        """Sign an access token; it never outlives `not_after` (the session's end)."""
        now = int(self.clock.now().timestamp())
        exp = now + self.access_ttl
        if not_after is not None:
            exp = max(now + 1, min(exp, int(not_after.timestamp())))
        key = self.keyring.current
        jti = str(uuid.uuid4())
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": user_id,
            "exp": exp,
            "iat": now,
            "jti": jti,
            "sid": session_id,
            "scope": scope,
        }
        headers = {"typ": ACCESS_TOKEN_TYPE, "kid": key.kid}
        token = jwt.encode(claims, key.signing_key, algorithm=key.alg, headers=headers)
        return IssuedToken(token=token, expires_in=exp - now, jti=jti)

    def verify(self, token: str) -> AccessClaims:
        """Return the claims of a valid, unrevoked access token; raise otherwise."""
        jws = parse_compact(token)
        key = self._key_for(jws.header)
        verify_signature(jws, key.alg, key.verifying_key)

        now = self.clock.now().timestamp()
        claims = self.rules.validate(jws.claims(), now)
        self.revocations.check(claims.sid, claims.sub, claims.iat)
        return claims

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
