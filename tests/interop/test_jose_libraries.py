"""Tokens of a live server verify through its JWKS in JOSE libraries other than PyJWT."""

from __future__ import annotations

import json
import warnings

import pytest
from joserfc import jwt as joserfc_jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet
from jwcrypto import jwk as jwcrypto_jwk
from jwcrypto import jwt as jwcrypto_jwt
from jwcrypto.jws import InvalidJWSSignature

from tests.e2e.conftest import Server
from tests.interop.conftest import header_of, jwks, login

pytestmark = pytest.mark.e2e


def tampered(token: str) -> str:
    """The same token with one claim changed and the signature kept."""
    header, payload, signature = token.split(".")
    changed = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    return f"{header}.{changed}.{signature}"


def joserfc_decode(token: str, key_set: KeySet, alg: str) -> joserfc_jwt.Token:
    with warnings.catch_warnings():
        # joserfc flags "EdDSA" as superseded by "Ed25519" (RFC 9864); still valid.
        warnings.simplefilter("ignore")
        return joserfc_jwt.decode(token, key_set, algorithms=[alg])


def test_joserfc_verifies_tokens_through_the_jwks(server: Server) -> None:
    """joserfc checks the signature and our claims with the published key set."""
    alg = server.env["TOKENWARD_SIGNING_ALG"]
    pair = login(server)
    key_set = KeySet.import_key_set(jwks(server))

    token = joserfc_decode(pair["access_token"], key_set, alg)
    registry = joserfc_jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": server.base_url},
        aud={"essential": True, "value": "tokenward"},
        exp={"essential": True},
        sub={"essential": True},
        jti={"essential": True},
    )
    registry.validate(token.claims)

    assert token.header["alg"] == alg
    assert token.header["typ"] == "at+jwt"
    assert token.header["kid"] in {key["kid"] for key in jwks(server)["keys"]}
    assert set(token.claims) >= {"iss", "aud", "sub", "exp", "iat", "jti", "sid", "scope"}


def test_joserfc_rejects_a_tampered_token(server: Server) -> None:
    """The same library refuses our token once a payload byte changed."""
    pair = login(server)
    key_set = KeySet.import_key_set(jwks(server))

    with pytest.raises(BadSignatureError):
        joserfc_decode(
            tampered(pair["access_token"]), key_set, server.env["TOKENWARD_SIGNING_ALG"]
        )


def test_jwcrypto_verifies_tokens_through_the_jwks(server: Server) -> None:
    """jwcrypto checks the signature, issuer, audience and expiry with the key set."""
    alg = server.env["TOKENWARD_SIGNING_ALG"]
    pair = login(server)
    key_set = jwcrypto_jwk.JWKSet.from_json(json.dumps(jwks(server)))

    token = jwcrypto_jwt.JWT(
        jwt=pair["access_token"],
        key=key_set,
        algs=[alg],
        check_claims={"iss": server.base_url, "aud": "tokenward", "exp": None},
    )

    claims = json.loads(token.claims)
    assert json.loads(token.header)["alg"] == alg
    assert claims["scope"] == ""
    assert claims["sid"]


def test_jwcrypto_rejects_a_tampered_token(server: Server) -> None:
    """jwcrypto refuses our token once a payload byte changed."""
    pair = login(server)
    key_set = jwcrypto_jwk.JWKSet.from_json(json.dumps(jwks(server)))
    kid = header_of(pair["access_token"])["kid"]

    with pytest.raises(InvalidJWSSignature):
        jwcrypto_jwt.JWT(
            jwt=tampered(pair["access_token"]),
            key=key_set.get_key(kid),
            algs=[server.env["TOKENWARD_SIGNING_ALG"]],
        )


def test_jwks_of_a_live_server_holds_public_members_only(server: Server) -> None:
    """No private or symmetric member (`d`, `p`, `q`, `k`, ...) is ever published."""
    keys = jwks(server)["keys"]

    assert keys
    private = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}
    for key in keys:
        assert not private & set(key)
        assert key["use"] == "sig"
        assert key["alg"] == server.env["TOKENWARD_SIGNING_ALG"]
