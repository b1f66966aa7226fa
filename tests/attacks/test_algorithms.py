"""Algorithm attacks: `alg: none`, HMAC keyed with public material, odd `alg` values.

The server picks the algorithm from its own key; whatever the header claims, a token
is checked with that key's algorithm or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, get_default_algorithms

from tests.attacks.conftest import Target, assert_refused
from tests.attacks.forge import DROP, compact, ecdsa_signer, hmac_signer, merged, parts

pytestmark = pytest.mark.asyncio(loop_scope="package")


async def test_forged_control_token_is_accepted(target: Target) -> None:
    """The forging helpers make tokens the server accepts, so refusals below are real."""
    token = target.forge(claims={"jti": "control"})

    response = await target.whoami(token)

    assert response.status_code == 200, response.text
    assert response.json()["sub"] == target.claims["sub"]


# alg: none, in every letter case, with and without a signature

NONE_SPELLINGS = ["none", "None", "NONE", "nOnE", "none ", " none"]


@pytest.mark.parametrize("alg", NONE_SPELLINGS)
async def test_alg_none_unsigned(target: Target, alg: str) -> None:
    """`alg: none` with an empty signature part is refused in any spelling."""
    token = target.forge(header={"alg": alg}, signer=None)

    assert_refused(await target.whoami(token))


@pytest.mark.parametrize("alg", ["none", "NONE", "nOnE"])
async def test_alg_none_keeping_the_real_signature(target: Target, alg: str) -> None:
    """`alg: none` with the signature of the genuine token still attached."""
    signature = parts(target.access_token)[2]
    forged = target.forge(header={"alg": alg}, signer=None)
    assert forged.endswith(".")

    assert_refused(await target.whoami(f"{forged}{signature}"))


async def test_alg_none_signed_by_the_server_key(target: Target) -> None:
    """Even the server's own signature does not make `alg: none` acceptable."""
    assert_refused(await target.whoami(target.forge(header={"alg": "none"})))


async def test_alg_none_without_a_signature_part(target: Target) -> None:
    """The two-part form `header.payload` of an unsecured JWS."""
    token = target.forge(header={"alg": "none"}, signer=None)

    assert_refused(await target.whoami(token.rsplit(".", 1)[0]))


# HMAC signed with the server's public key, in every encoding


def _public_key(target: Target) -> Any:
    """The server's public key; an HS256 server publishes none, so the attacker
    tries a key of another ES256 service he knows."""
    if target.alg == "ES256":
        return target.key.verifying_key
    return ec.generate_private_key(ec.SECP256R1()).public_key()


def _pem(target: Target) -> bytes:
    return _public_key(target).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


PUBLIC_ENCODINGS: dict[str, Callable[[Target], bytes]] = {
    "pem": _pem,
    "pem_without_final_newline": lambda t: _pem(t).rstrip(b"\n"),
    "pem_with_crlf": lambda t: _pem(t).replace(b"\n", b"\r\n"),
    "der": lambda t: _public_key(t).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ),
    "openssh": lambda t: _public_key(t).public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ),
    "uncompressed_point": lambda t: _public_key(t).public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    ),
    "jwk_text": lambda t: ECAlgorithm.to_jwk(_public_key(t)).encode(),
    "jwk_text_as_published": lambda t: json.dumps(
        t.tokenward.keyring.jwks()["keys"][0] if t.alg == "ES256" else {}
    ).encode(),
    "jwks_document": lambda t: json.dumps(t.tokenward.keyring.jwks()).encode(),
    "kid": lambda t: t.key.kid.encode(),
    "empty_key": lambda t: b"",
}


@pytest.mark.parametrize("encoding", PUBLIC_ENCODINGS)
async def test_hmac_keyed_with_public_material(target: Target, encoding: str) -> None:
    """HS256 keyed with the published key (PEM, DER, JWK text and more) is refused."""
    material = PUBLIC_ENCODINGS[encoding](target)
    token = target.forge(header={"alg": "HS256"}, signer=hmac_signer(material))

    assert_refused(await target.whoami(token))


# Unknown or odd alg values

ODD_ALGS: dict[str, Any] = {
    "missing": DROP,
    "null": None,
    "number": 256,
    "list": ["ES256", "HS256"],
    "object": {"name": "ES256"},
    "empty": "",
    "lower_case_of_ours": "lower",
    "trailing_space": "space",
    "unknown_name": "XS256",
    "ps256": "PS256",
    "es384": "ES384",
    "eddsa": "EdDSA",
}


@pytest.mark.parametrize("name", ODD_ALGS)
async def test_odd_alg_value_signed_by_the_server(target: Target, name: str) -> None:
    """A correct signature does not save a token whose `alg` is not the key's."""
    alg = ODD_ALGS[name]
    if alg == "lower":
        alg = target.alg.lower()
    elif alg == "space":
        alg = target.alg + " "

    assert_refused(await target.whoami(target.forge(header={"alg": alg})))


@pytest.mark.parametrize("alg", ["HS384", "HS512"])
async def test_stronger_hmac_with_the_right_secret(target: Target, alg: str) -> None:
    """HS384/HS512 keyed with what the attacker holds: the secret itself on HS256
    (a leaked secret is not the case here, the server's own is used to prove that
    the algorithm alone is refused), the public key on ES256."""
    key = target.key.signing_key if target.alg == "HS256" else _pem(target)
    token = target.forge(header={"alg": alg}, signer=hmac_signer(key, alg))

    assert_refused(await target.whoami(token))


@cache
def _other_keys() -> dict[str, tuple[str, Any]]:
    return {
        "es256_attacker": ("ES256", ec.generate_private_key(ec.SECP256R1())),
        "rs256_attacker": ("RS256", rsa.generate_private_key(65537, 2048)),
        "eddsa_attacker": ("EdDSA", ed25519.Ed25519PrivateKey.generate()),
    }


@pytest.mark.parametrize("name", ["es256_attacker", "rs256_attacker", "eddsa_attacker"])
async def test_signed_with_an_attacker_key(target: Target, name: str) -> None:
    """A well-formed token under the server's `kid`, signed by someone else's key."""
    alg, key = _other_keys()[name]
    header = merged(target.header, {"alg": alg})
    algorithm = get_default_algorithms()[alg]
    token = compact(header, target.claims, lambda data: algorithm.sign(data, key))

    assert_refused(await target.whoami(token))


async def test_es256_signature_in_der_form(target: Target) -> None:
    """JWS wants raw r||s; a DER-encoded ECDSA signature is refused."""
    if target.alg == "HS256":
        signer = ecdsa_signer(ec.generate_private_key(ec.SECP256R1()), der=True)
    else:
        signer = ecdsa_signer(target.key.signing_key, der=True)

    assert_refused(await target.whoami(target.forge(signer=signer)))
