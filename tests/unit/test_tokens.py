"""Issuing and verifying access tokens: every claim rule of the contract."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from tokenward import Tokenward
from tokenward.clock import FrozenClock
from tokenward.errors import InvalidToken, TokenExpired, TokenRevoked

USER, SESSION = "user-1", "session-1"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def resign(tw: Tokenward, claims: dict[str, Any], **header: Any) -> str:
    """Sign arbitrary claims with the server's real current key."""
    key = tw.keyring.current
    headers = {"typ": "at+jwt", "kid": key.kid, **header}
    return jwt.encode(claims, key.signing_key, algorithm=key.alg, headers=headers)


def claims_of(tw: Tokenward) -> dict[str, Any]:
    token = tw.tokens.issue(USER, SESSION, "read").token
    return jwt.decode(token, options={"verify_signature": False})


async def test_issued_token_verifies_with_every_claim(
    memory_tokenward: Tokenward,
) -> None:
    issued = memory_tokenward.tokens.issue(USER, SESSION, "read write")

    claims = memory_tokenward.tokens.verify(issued.token)

    assert (claims.sub, claims.sid, claims.scope) == (USER, SESSION, "read write")
    assert claims.exp - claims.iat == memory_tokenward.settings.access_ttl
    assert claims.scopes == {"read", "write"}
    assert claims.jti == issued.jti


async def test_header_names_type_key_and_algorithm(memory_tokenward: Tokenward) -> None:
    token = memory_tokenward.tokens.issue(USER, SESSION, "").token

    header = jwt.get_unverified_header(token)

    assert header == {
        "typ": "at+jwt",
        "kid": memory_tokenward.keyring.current.kid,
        "alg": "ES256",
    }


async def test_every_token_gets_a_unique_jti(memory_tokenward: Tokenward) -> None:
    jtis = {memory_tokenward.tokens.issue(USER, SESSION, "").jti for _ in range(50)}

    assert len(jtis) == 50


async def test_token_never_outlives_its_session(
    memory_tokenward: Tokenward, clock: FrozenClock
) -> None:
    session_end = clock.now() + timedelta(seconds=120)

    issued = memory_tokenward.tokens.issue(USER, SESSION, "", not_after=session_end)

    assert issued.expires_in == 120


async def test_expired_past_leeway_is_refused(
    memory_tokenward: Tokenward, clock: FrozenClock
) -> None:
    token = memory_tokenward.tokens.issue(USER, SESSION, "").token
    ttl, leeway = memory_tokenward.settings.access_ttl, memory_tokenward.settings.leeway

    clock.advance(ttl + leeway - 1)
    memory_tokenward.tokens.verify(token)
    clock.advance(2)

    with pytest.raises(TokenExpired):
        memory_tokenward.tokens.verify(token)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"iat": "future"}, "future"),
        ({"nbf": "future"}, "not valid yet"),
        ({"exp": "too long"}, "lifetime"),
        ({"iss": "https://evil.example.com"}, "issued by someone else"),
        ({"aud": "someone-else"}, "audience"),
        ({"aud": ["someone-else", "another"]}, "audience"),
        ({"sub": 42}, "'sub'"),
        ({"sid": None}, "'sid'"),
        ({"jti": ""}, "'jti'"),
        ({"exp": 1.5}, "'exp'"),
        ({"iat": True}, "'iat'"),
        ({"scope": ["read"]}, "'scope'"),
    ],
)
async def test_each_bad_claim_is_refused(
    memory_tokenward: Tokenward, change: dict[str, Any], message: str
) -> None:
    claims = claims_of(memory_tokenward)
    now = claims["iat"]
    for name, value in change.items():
        if value == "future":
            claims[name] = now + 3600
        elif value == "too long":
            claims[name] = now + memory_tokenward.settings.access_ttl + 60
        elif value is None:
            del claims[name]
        else:
            claims[name] = value

    with pytest.raises(InvalidToken, match=message):
        memory_tokenward.tokens.verify(resign(memory_tokenward, claims))


async def test_audience_list_holding_ours_is_accepted(
    memory_tokenward: Tokenward,
) -> None:
    claims = claims_of(memory_tokenward)
    claims["aud"] = ["other", memory_tokenward.settings.audience]

    verified = memory_tokenward.tokens.verify(resign(memory_tokenward, claims))

    assert verified.sub == USER


@pytest.mark.parametrize("header", ["jwk", "jku", "x5u", "x5c", "crit"])
async def test_keys_or_extensions_carried_by_the_token_are_refused(
    memory_tokenward: Tokenward, header: str
) -> None:
    value: Any = ["exp"] if header == "crit" else "https://evil.example.com/key"
    token = resign(memory_tokenward, claims_of(memory_tokenward), **{header: value})

    with pytest.raises(InvalidToken, match=header):
        memory_tokenward.tokens.verify(token)


async def test_wrong_typ_is_refused(memory_tokenward: Tokenward) -> None:
    token = resign(memory_tokenward, claims_of(memory_tokenward), typ="JWT")

    with pytest.raises(InvalidToken, match="not an access token"):
        memory_tokenward.tokens.verify(token)


async def test_hmac_signed_with_the_public_key_is_refused(
    memory_tokenward: Tokenward,
) -> None:
    """The classic algorithm confusion: HS256 keyed with the published public key."""
    key = memory_tokenward.keyring.current
    public_pem = key.verifying_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = b64(json.dumps({"alg": "HS256", "typ": "at+jwt", "kid": key.kid}).encode())
    payload = b64(json.dumps(claims_of(memory_tokenward)).encode())
    algorithm = jwt.get_algorithm_by_name("HS256")
    signature = algorithm.sign(f"{header}.{payload}".encode(), public_pem)
    token = f"{header}.{payload}.{b64(signature)}"

    with pytest.raises(InvalidToken, match="known key"):
        memory_tokenward.tokens.verify(token)


async def test_repeated_member_names_are_refused(memory_tokenward: Tokenward) -> None:
    """A payload naming `sub` twice could mean different users to different parsers."""
    key = memory_tokenward.keyring.current
    claims = claims_of(memory_tokenward)
    body = json.dumps(claims)[:-1] + ', "sub": "admin"}'
    header = b64(json.dumps({"alg": key.alg, "typ": "at+jwt", "kid": key.kid}).encode())
    payload = b64(body.encode())
    signature = key.algorithm.sign(f"{header}.{payload}".encode(), key.signing_key)

    with pytest.raises(InvalidToken, match="malformed"):
        memory_tokenward.tokens.verify(f"{header}.{payload}.{b64(signature)}")


async def test_flipped_signature_is_refused(memory_tokenward: Tokenward) -> None:
    token = memory_tokenward.tokens.issue(USER, SESSION, "").token
    head, payload, signature = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=="))
    raw[5] ^= 1

    with pytest.raises(InvalidToken, match="signature"):
        memory_tokenward.tokens.verify(f"{head}.{payload}.{b64(bytes(raw))}")


async def test_revoked_session_kills_its_access_token(
    memory_tokenward: Tokenward,
) -> None:
    token = memory_tokenward.tokens.issue(USER, SESSION, "").token

    await memory_tokenward.sessions.revoke(SESSION, "logout")

    with pytest.raises(TokenRevoked):
        memory_tokenward.tokens.verify(token)


async def test_hs256_issues_and_verifies(clock: FrozenClock) -> None:
    from tests.conftest import make_settings
    from tokenward.store.memory import MemoryStore

    settings = make_settings(signing_alg="HS256", secret_key="k" * 40)
    async with Tokenward(settings, store=MemoryStore(), clock=clock).running() as tw:
        token = tw.tokens.issue(USER, SESSION, "").token

        assert jwt.get_unverified_header(token)["alg"] == "HS256"
        assert tw.tokens.verify(token).sub == USER
        assert tw.keyring.jwks() == {"keys": []}
