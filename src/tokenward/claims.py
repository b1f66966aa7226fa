"""The claim rules of an access token, shared by the server and by resource servers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tokenward.errors import InvalidToken, TokenExpired

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
class ClaimRules:
    """What a valid claims set is, for one issuer, audience and lifetime."""

    issuer: str
    audience: str
    max_lifetime: int
    leeway: int = 30

    def validate(self, claims: dict[str, Any], now: float) -> AccessClaims:
        """Return the claims if they hold at `now` (seconds since the epoch)."""
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
        if exp <= now - self.leeway:
            raise TokenExpired()
        # One second always: a token may be dated a second on (see `TokenService.issue`).
        if iat > now + max(self.leeway, 1):
            raise InvalidToken("The token was issued in the future.")
        if "nbf" in claims and _numeric_date(claims, "nbf") > now + self.leeway:
            raise InvalidToken("The token is not valid yet.")
        if not 0 < exp - iat <= self.max_lifetime:
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
