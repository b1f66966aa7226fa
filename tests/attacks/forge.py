"""Building blocks for forged tokens: base64url, JSON, and signatures made by hand.

Libraries refuse to make most of these tokens (PyJWT will not sign `alg: none` with
a signature, nor HMAC with a PEM key), so the corpus assembles them itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils

Signer = Callable[[bytes], bytes]
DROP = object()  # a claim or header member given this value is left out


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def to_json(value: Any) -> bytes:
    """Compact JSON bytes; raw bytes pass through, for hand-written documents."""
    if isinstance(value, bytes):
        return value
    return json.dumps(value, separators=(",", ":")).encode()


def merged(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    result = {**base, **changes}
    return {name: value for name, value in result.items() if value is not DROP}


def compact(header: Any, payload: Any, signer: Signer | None) -> str:
    """`header.payload.signature`; no signer gives an empty signature part."""
    signing_input = f"{b64url(to_json(header))}.{b64url(to_json(payload))}"
    signature = signer(signing_input.encode()) if signer else b""
    return f"{signing_input}.{b64url(signature)}"


def hmac_signer(key: bytes, alg: str = "HS256") -> Signer:
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}
    return lambda data: hmac.new(key, data, digest[alg]).digest()


def ecdsa_signer(private_key: ec.EllipticCurvePrivateKey, *, der: bool = False) -> Signer:
    """ES256 as JWS wants it (raw r || s), or as DER, which JWS forbids."""

    def sign(data: bytes) -> bytes:
        signature = private_key.sign(data, ec.ECDSA(hashes.SHA256()))
        if der:
            return signature
        r, s = utils.decode_dss_signature(signature)
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    return sign


def parts(token: str) -> tuple[str, str, str]:
    header, payload, signature = token.split(".")
    return header, payload, signature


def decoded(part: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(unb64url(part))
    return value


def flip_bit(data: bytes, index: int) -> bytes:
    changed = bytearray(data)
    changed[index] ^= 0x01
    return bytes(changed)


def nested(depth: int, opener: str = "[", closer: str = "]") -> bytes:
    return (opener * depth + closer * depth).encode()


def nested_objects(depth: int) -> bytes:
    return ('{"":' * depth + "1" + "}" * depth).encode()


P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def malleate_es256(signature: bytes) -> bytes:
    """The other valid ECDSA signature of the same message: (r, n - s)."""
    r, s = signature[:32], int.from_bytes(signature[32:], "big")
    return r + (P256_ORDER - s).to_bytes(32, "big")
