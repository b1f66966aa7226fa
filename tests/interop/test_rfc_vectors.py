"""Published JOSE test vectors through the verifier's parsing and signature layers.

The RFC examples carry neither our claims nor `typ: at+jwt`, so they go through the
layers that apply to them (compact parsing, the key pinned to its algorithm, the
signature, the JWK Set reader, the thumbprint) and are refused by the access-token
rules that do not.
"""

from __future__ import annotations

import pytest

from tokenward.errors import InvalidToken
from tokenward.jws import (
    check_access_header,
    check_no_forbidden_members,
    parse_compact,
    verify_signature,
)
from tokenward.keys import ASYMMETRIC_ALGS, thumbprint
from tokenward.verifier import keys_from_jwks, public_key_from_jwk

ALGORITHMS = frozenset(ASYMMETRIC_ALGS)
RFC7515_PAYLOAD = {"iss": "joe", "exp": 1300819380, "http://example.com/is_root": True}
RFC7515_PAYLOAD_B64 = (
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb2"
    "90Ijp0cnVlfQ"
)

# RFC 7515 appendix A.2: RSASSA-PKCS1-v1_5 with SHA-256 (public members of the key).
RFC7515_A2_JWK = {
    "kty": "RSA",
    "kid": "rfc7515-a2",
    "e": "AQAB",
    "n": (
        "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2m"
        "JPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OM"
        "g0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY"
        "4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91"
        "kzk2PAcDTW9gb54h4FRWyuXpoQ"
    ),
}
RFC7515_A2_JWS = (
    "eyJhbGciOiJSUzI1NiJ9." + RFC7515_PAYLOAD_B64 + ".cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzER"
    "at0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZ"
    "cAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZR"
    "mB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUi"
    "pUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw"
)

# RFC 7515 appendix A.3: ECDSA P-256 with SHA-256.
RFC7515_A3_JWK = {
    "kty": "EC",
    "kid": "rfc7515-a3",
    "crv": "P-256",
    "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
    "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
}
RFC7515_A3_JWS = (
    "eyJhbGciOiJFUzI1NiJ9." + RFC7515_PAYLOAD_B64 + ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4"
    "GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"
)

# RFC 8037 appendices A.2 (public key), A.3 (its thumbprint) and A.4 (a signature).
RFC8037_JWK = {
    "kty": "OKP",
    "kid": "rfc8037",
    "crv": "Ed25519",
    "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
}
RFC8037_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
RFC8037_JWS = (
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPO"
    "t7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
)

# RFC 7517 appendix A.1: a JWK Set with an encryption key and an RS256 key; RFC 7638
# section 3.1 gives the RSA key's thumbprint.
RFC7517_A1_SET = {
    "keys": [
        {
            "kty": "EC",
            "crv": "P-256",
            "x": "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
            "y": "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM",
            "use": "enc",
            "kid": "1",
        },
        {
            "kty": "RSA",
            "n": (
                "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aP"
                "FFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl9"
                "3lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdA"
                "ZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3"
                "XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
            ),
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29",
        },
    ]
}
RFC7638_THUMBPRINT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"

SIGNED_EXAMPLES = [
    pytest.param(RFC7515_A2_JWS, RFC7515_A2_JWK, "RS256", id="rfc7515-a2-rs256"),
    pytest.param(RFC7515_A3_JWS, RFC7515_A3_JWK, "ES256", id="rfc7515-a3-es256"),
    pytest.param(RFC8037_JWS, RFC8037_JWK, "EdDSA", id="rfc8037-a4-eddsa"),
]


def flip_signature(token: str) -> str:
    head, payload, signature = token.rsplit(".", 2)
    first = "B" if signature[0] != "B" else "C"
    return f"{head}.{payload}.{first}{signature[1:]}"


@pytest.mark.parametrize(("token", "jwk", "alg"), SIGNED_EXAMPLES)
def test_published_signature_verifies(token: str, jwk: dict[str, str], alg: str) -> None:
    """The RFC's signature checks out with the RFC's key, pinned to its algorithm."""
    key = public_key_from_jwk(jwk, ALGORITHMS)
    jws = parse_compact(token)

    check_no_forbidden_members(jws.header)
    assert key is not None
    assert key.alg == alg
    assert jws.header == {"alg": alg}
    verify_signature(jws, key.alg, key.verifying_key)


@pytest.mark.parametrize(("token", "jwk", "alg"), SIGNED_EXAMPLES)
def test_altered_signature_is_refused(token: str, jwk: dict[str, str], alg: str) -> None:
    """One changed signature character makes the same vector fail."""
    key = public_key_from_jwk(jwk, ALGORITHMS)
    jws = parse_compact(flip_signature(token))

    assert key is not None
    with pytest.raises(InvalidToken, match="signature"):
        verify_signature(jws, key.alg, key.verifying_key)


@pytest.mark.parametrize(
    ("token", "wrong_jwk"),
    [
        pytest.param(RFC7515_A3_JWS, RFC7515_A2_JWK, id="es256-token-rsa-key"),
        pytest.param(RFC7515_A2_JWS, RFC8037_JWK, id="rs256-token-ed25519-key"),
    ],
)
def test_a_key_never_verifies_another_algorithms_signature(
    token: str, wrong_jwk: dict[str, str]
) -> None:
    """The key's algorithm is used whatever the header says: a mismatch fails."""
    key = public_key_from_jwk(wrong_jwk, ALGORITHMS)
    jws = parse_compact(token)

    assert key is not None
    with pytest.raises(InvalidToken):
        verify_signature(jws, key.alg, key.verifying_key)


def test_rfc7515_payload_parses_as_the_published_claims() -> None:
    """The example's claims, with their CR LF whitespace, read back exactly."""
    assert parse_compact(RFC7515_A3_JWS).claims() == RFC7515_PAYLOAD


def test_rfc8037_payload_is_bytes_not_claims() -> None:
    """The Ed25519 example signs plain text: it reads as bytes, and is no claims set."""
    jws = parse_compact(RFC8037_JWS)

    assert jws.payload() == b"Example of Ed25519 signing"
    with pytest.raises(InvalidToken):
        jws.claims()


@pytest.mark.parametrize("token", [RFC7515_A2_JWS, RFC7515_A3_JWS, RFC8037_JWS])
def test_rfc_examples_are_not_access_tokens(token: str) -> None:
    """Without `typ: at+jwt` and `kid`, a valid JWS is still no access token here."""
    with pytest.raises(InvalidToken, match="not an access token"):
        check_access_header(parse_compact(token).header)


def test_thumbprints_match_rfc7638_and_rfc8037() -> None:
    """Our `kid` derivation gives the RFCs' published JWK thumbprints."""
    assert thumbprint(RFC7517_A1_SET["keys"][1]) == RFC7638_THUMBPRINT
    assert thumbprint(RFC8037_JWK) == RFC8037_THUMBPRINT


def test_rfc7517_key_set_keeps_only_the_signature_key() -> None:
    """Of the RFC 7517 example set, the `use: enc` key is left out, the RS256 one kept."""
    keys = keys_from_jwks(RFC7517_A1_SET, ALGORITHMS)

    assert list(keys) == ["2011-04-29"]
    assert keys["2011-04-29"].alg == "RS256"
