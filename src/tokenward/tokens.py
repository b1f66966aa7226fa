"""Issue and verify access tokens. Every rule about what a valid token is lives here.

Parsing is done here, strictly and once, instead of through `jwt.decode`: the contract
asks for checks PyJWT does not make (repeated member names, `typ`, lifetime, keys
carried by the token), and the signature is still checked by PyJWT's algorithms.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jwt

from tokenward.clock import Clock
from tokenward.errors import InvalidToken, TokenExpired
from tokenward.keys import KeyRing, SigningKey
from tokenward.revocation import RevocationView

ACCESS_TOKEN_TYPE = "at+jwt"
ACCEPTED_TYPES = frozenset({"at+jwt", "application/at+jwt"})
MAX_TOKEN_LENGTH = 4096
_B64URL = re.compile(r"[A-Za-z0-9_-]+")
_FORBIDDEN_HEADERS = ("jwk", "jku", "x5u", "x5c", "crit", "b64", "zip", "enc")
_REQUIRED_STRINGS = ("iss", "sub", "jti", "sid")
_MAX_NUMERIC_DATE = 2**41  # year 71700; larger values are nonsense, not far futures


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """The verified claims of an access token."""

    sub: str
    sid: str
    jti: str
    scope: str
    iat: int
    exp: int
    iss: str
    aud: str | list[str]

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset(self.scope.split())


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
    ) -> None:
        self.keyring = keyring
        self.revocations = revocations
        self.clock = clock
        self.issuer = issuer
        self.audience = audience
        self.access_ttl = access_ttl
        self.leeway = leeway

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
        header_b64, payload_b64, signature_b64 = _split(token)
        header = _decode_json(header_b64)
        key = self._key_for(header)

        signing_input = f"{header_b64}.{payload_b64}".encode()
        signature = _b64decode(signature_b64)
        if not key.algorithm.verify(signing_input, key.verifying_key, signature):
            raise InvalidToken("The token signature is invalid.")

        claims = self._validate_claims(_decode_json(payload_b64))
        self.revocations.check(claims.sid, claims.sub, claims.iat)
        return claims

    def _key_for(self, header: dict[str, Any]) -> SigningKey:
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.lower() not in ACCEPTED_TYPES:
            raise InvalidToken("The token is not an access token.")
        for name in _FORBIDDEN_HEADERS:
            if name in header:
                raise InvalidToken(f"The token header member '{name}' is not accepted.")
        kid, alg = header.get("kid"), header.get("alg")
        if not isinstance(kid, str) or not isinstance(alg, str):
            raise InvalidToken("The token header lacks 'kid' or 'alg'.")
        key = self.keyring.get(kid)
        # The key decides the algorithm; the header only has to agree with it.
        if key is None or alg != key.alg:
            raise InvalidToken("The token was not signed by a known key.")
        return key

    def _validate_claims(self, claims: dict[str, Any]) -> AccessClaims:
        for name in _REQUIRED_STRINGS:
            value = claims.get(name)
            if not _is_text(value) or not value:
                raise InvalidToken(f"The token claim '{name}' is missing or malformed.")
        if claims["iss"] != self.issuer:
            raise InvalidToken("The token was issued by someone else.")
        _validate_audience(claims.get("aud"), self.audience)
        scope = claims.get("scope", "")
        if not _is_text(scope):
            raise InvalidToken("The token claim 'scope' is malformed.")

        iat, exp = _numeric_date(claims, "iat"), _numeric_date(claims, "exp")
        now = self.clock.now().timestamp()
        if exp <= now - self.leeway:
            raise TokenExpired()
        if iat > now + self.leeway:
            raise InvalidToken("The token was issued in the future.")
        if "nbf" in claims and _numeric_date(claims, "nbf") > now + self.leeway:
            raise InvalidToken("The token is not valid yet.")
        if not 0 < exp - iat <= self.access_ttl:
            raise InvalidToken("The token lifetime is longer than this server allows.")

        return AccessClaims(
            sub=claims["sub"],
            sid=claims["sid"],
            jti=claims["jti"],
            scope=scope,
            iat=iat,
            exp=exp,
            iss=claims["iss"],
            aud=claims["aud"],
        )


def _split(token: str) -> tuple[str, str, str]:
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidToken("The token is malformed.")
    parts = token.split(".")
    if len(parts) != 3 or not all(_B64URL.fullmatch(part) for part in parts):
        raise InvalidToken("The token is not a compact JWS.")
    return parts[0], parts[1], parts[2]


def _b64decode(part: str) -> bytes:
    """Decode base64url, refusing every non-canonical spelling of the same bytes."""
    try:
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidToken("The token is malformed.") from exc
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != part:
        raise InvalidToken("The token is not canonically encoded.")
    return raw


def _decode_json(part: str) -> dict[str, Any]:
    try:
        value = json.loads(
            _b64decode(part),
            object_pairs_hook=_unique_members,
            parse_constant=_reject_constant,
        )
    except (ValueError, RecursionError, UnicodeDecodeError) as exc:
        raise InvalidToken("The token is malformed.") from exc
    if not isinstance(value, dict):
        raise InvalidToken("The token is malformed.")
    return value


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("a member name is repeated")
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _numeric_date(claims: dict[str, Any], name: str) -> int:
    value = claims.get(name)
    # bool is an int in Python; floats are never issued here, so they are refused.
    if type(value) is not int or not 0 <= value < _MAX_NUMERIC_DATE:
        raise InvalidToken(f"The token claim '{name}' is missing or malformed.")
    return value


def _validate_audience(aud: Any, expected: str) -> None:
    if isinstance(aud, str) and aud == expected:
        return
    if isinstance(aud, list) and all(_is_text(a) for a in aud) and expected in aud:
        return
    raise InvalidToken("The token is meant for another audience.")


def _is_text(value: Any) -> bool:
    """A string without NUL that is valid Unicode: JSON's `\\ud800` escapes decode
    to lone surrogates, which no response or database could encode."""
    if not isinstance(value, str) or "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
