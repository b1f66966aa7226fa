"""Compact JWS read strictly: the parsing, header and signature rules shared by every
verifier here (the server's `TokenService` and the resource servers' `Verifier`).

Parsing is done here instead of through `jwt.decode`, because the contract asks for
checks PyJWT does not make: repeated member names, canonical base64url, `typ`, and
no key carried by the token. The signature itself is checked by PyJWT's algorithm
objects, with the algorithm the key was stored with, never the one the header names.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

from jwt.algorithms import get_default_algorithms

from tokenward.errors import InvalidToken

ACCESS_TOKEN_TYPE = "at+jwt"
ACCEPTED_TYPES = frozenset({"at+jwt", "application/at+jwt"})
MAX_TOKEN_LENGTH = 4096
# `crit` is refused whole: this verifier understands no extension, so any is unknown.
FORBIDDEN_HEADERS = ("jwk", "jku", "x5u", "x5c", "crit", "b64", "zip", "enc")
ALGORITHMS = get_default_algorithms()
_B64URL = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True, slots=True)
class CompactJWS:
    """A compact JWS split and its header parsed; nothing is trusted yet."""

    header: dict[str, Any]
    header_b64: str
    payload_b64: str
    signature_b64: str

    @property
    def signing_input(self) -> bytes:
        return f"{self.header_b64}.{self.payload_b64}".encode()

    def payload(self) -> bytes:
        return b64decode(self.payload_b64)

    def claims(self) -> dict[str, Any]:
        """The payload as a JSON object; call it only after the signature checked out."""
        return decode_json(self.payload_b64)


def parse_compact(token: str) -> CompactJWS:
    """Split a compact JWS and parse its header, refusing anything malformed."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidToken("The token is malformed.")
    parts = token.split(".")
    if len(parts) != 3 or not all(_B64URL.fullmatch(part) for part in parts):
        raise InvalidToken("The token is not a compact JWS.")
    header_b64, payload_b64, signature_b64 = parts
    return CompactJWS(decode_json(header_b64), header_b64, payload_b64, signature_b64)


def check_access_header(header: dict[str, Any]) -> tuple[str, str]:
    """Apply the header rules of an access token; return its `kid` and `alg`."""
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.lower() not in ACCEPTED_TYPES:
        raise InvalidToken("The token is not an access token.")
    check_no_forbidden_members(header)
    kid, alg = header.get("kid"), header.get("alg")
    if not isinstance(kid, str) or not isinstance(alg, str):
        raise InvalidToken("The token header lacks 'kid' or 'alg'.")
    return kid, alg


def check_no_forbidden_members(header: dict[str, Any]) -> None:
    """Refuse keys carried by the token, `crit` extensions and JWE-only members."""
    for name in FORBIDDEN_HEADERS:
        if name in header:
            raise InvalidToken(f"The token header member '{name}' is not accepted.")


def verify_signature(jws: CompactJWS, alg: str, verifying_key: Any) -> None:
    """Check the signature with `alg`: the key's algorithm, never the header's."""
    signature = b64decode(jws.signature_b64)
    if not ALGORITHMS[alg].verify(jws.signing_input, verifying_key, signature):
        raise InvalidToken("The token signature is invalid.")


def b64decode(part: str) -> bytes:
    """Decode base64url, refusing every non-canonical spelling of the same bytes."""
    try:
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidToken("The token is malformed.") from exc
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != part:
        raise InvalidToken("The token is not canonically encoded.")
    return raw


def decode_json(part: str) -> dict[str, Any]:
    """A base64url JSON object; repeated member names, NaN and Infinity are refused."""
    try:
        value = json.loads(
            b64decode(part),
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
