"""Header attacks: `kid` injection, keys carried by the token, and `crit`.

The key is looked up by `kid` in the key ring, an in-memory map: no path, query or
fetch ever sees the value. Keys or key URLs inside the token are never used.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from jwt.algorithms import ECAlgorithm

from tests.attacks.conftest import Target, assert_refused
from tests.attacks.forge import DROP, ecdsa_signer, hmac_signer

pytestmark = pytest.mark.asyncio(loop_scope="package")

# kid injection

KIDS: dict[str, Any] = {
    "path_traversal_to_dev_null": "../../../../../../dev/null",
    "path_traversal_to_passwd": "../../../../etc/passwd",
    "absolute_path": "/proc/self/environ",
    "url": "http://127.0.0.1:9/key.pem",
    "sql_tautology": "' OR '1'='1",
    "sql_union": "x' UNION SELECT 'secret' --",
    "sql_stacked": "x'; DROP TABLE signing_keys; --",
    "shell_substitution": "$(id)",
    "nul_byte": "kid\u0000",
    "huge": "k" * 2000,
    "unknown": "no-such-key",
    "empty": "",
    "number": 1,
    "null": None,
    "list": ["kid"],
    "missing": DROP,
}


@pytest.mark.parametrize("name", KIDS)
async def test_kid_injection_with_an_empty_hmac_key(target: Target, name: str) -> None:
    """Odd `kid` values with HS256 keyed by nothing (what /dev/null would give)."""
    token = target.forge(
        header={"alg": "HS256", "kid": KIDS[name]}, signer=hmac_signer(b"")
    )

    assert_refused(await target.whoami(token))


@pytest.mark.parametrize("name", ["sql_tautology", "path_traversal_to_dev_null", "huge"])
async def test_kid_injection_signed_by_the_server(target: Target, name: str) -> None:
    """Even with the real signature, a `kid` that names no key is refused."""
    assert_refused(await target.whoami(target.forge(header={"kid": KIDS[name]})))


async def test_kid_injection_leaves_the_keys_intact(target: Target) -> None:
    """After the SQL fragments, the stored keys and the genuine token are unchanged."""
    store = target.tokenward.store
    before = await store.list_signing_keys()

    for name in ("sql_union", "sql_stacked"):
        token = target.forge(header={"kid": KIDS[name]}, signer=hmac_signer(b""))
        assert_refused(await target.whoami(token))

    assert await store.list_signing_keys() == before
    assert (await target.whoami(target.access_token)).status_code == 200


# Keys carried by the token


@cache
def _attacker() -> tuple[ec.EllipticCurvePrivateKey, dict[str, Any], str]:
    """The attacker's own key pair, its JWK, and a self-signed certificate for it."""
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(ECAlgorithm.to_jwk(key.public_key()))
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tokenward")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    der = cert.public_bytes(serialization.Encoding.DER)
    return key, jwk, base64.b64encode(der).decode()


def _embedded(name: str) -> dict[str, Any]:
    _, jwk, cert = _attacker()
    return {
        "jwk": {"jwk": jwk},
        "jwk_with_kid_of_its_own": {"jwk": {**jwk, "kid": "attacker"}, "kid": "attacker"},
        "jku": {"jku": "http://127.0.0.1:9/jwks.json"},
        "jku_on_the_issuer": {"jku": "http://localhost:8000/.well-known/jwks.json"},
        "x5u": {"x5u": "http://127.0.0.1:9/cert.pem"},
        "x5c": {"x5c": [cert]},
        "x5c_and_x5t": {"x5c": [cert], "x5t": "AAAA"},
    }[name]


EMBEDDED = [
    "jwk",
    "jwk_with_kid_of_its_own",
    "jku",
    "jku_on_the_issuer",
    "x5u",
    "x5c",
    "x5c_and_x5t",
]


@pytest.mark.parametrize("name", EMBEDDED)
async def test_key_carried_by_the_token_signed_by_the_attacker(
    target: Target, name: str
) -> None:
    """A token that brings the key to check it with, signed by that key."""
    key, _, _ = _attacker()
    token = target.forge(
        header={"alg": "ES256", **_embedded(name)}, signer=ecdsa_signer(key)
    )

    assert_refused(await target.whoami(token))


@pytest.mark.parametrize("name", ["jwk", "jku", "x5u", "x5c"])
async def test_key_members_refused_even_with_the_server_signature(
    target: Target, name: str
) -> None:
    """The member alone is refused: the token is otherwise genuine."""
    token = target.forge(header=_embedded(name))

    assert_refused(await target.whoami(token))


# crit

CRITS: dict[str, dict[str, Any]] = {
    "unknown_extension": {"crit": ["urn:example:unknown"], "urn:example:unknown": 1},
    "unencoded_payload": {"crit": ["b64"], "b64": False},
    "registered_name": {"crit": ["exp"]},
    "empty_list": {"crit": []},
    "not_a_list": {"crit": "urn:example:unknown"},
    "listed_but_absent": {"crit": ["urn:example:absent"]},
}


@pytest.mark.parametrize("name", CRITS)
async def test_crit_header_is_refused(target: Target, name: str) -> None:
    """No extension is understood here, so any `crit` is refused (RFC 7515 §4.1.11)."""
    assert_refused(await target.whoami(target.forge(header=CRITS[name])))


@pytest.mark.parametrize("member", ["zip", "enc", "b64"])
async def test_processing_members_are_refused(target: Target, member: str) -> None:
    """Compression, encryption and unencoded-payload members change how a token is
    read; none is accepted."""
    value = {"zip": "DEF", "enc": "A256GCM", "b64": False}[member]

    assert_refused(await target.whoami(target.forge(header={member: value})))
